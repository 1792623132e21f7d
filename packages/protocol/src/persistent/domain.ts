import { normalizeAddress } from "../bytes/address.js";
import { InvalidInputError } from "../errors.js";
import { eip712DomainSeparator, type Eip712Domain } from "./eip712.js";

/** EIP-712 domain name of PersistentTicketBroker. */
export const PERSISTENT_DOMAIN_NAME = "livepay PersistentTicketBroker";
/** EIP-712 domain version of PersistentTicketBroker. */
export const PERSISTENT_DOMAIN_VERSION = "1";

/**
 * The EIP-712 domain of one PersistentTicketBroker deployment: vouchers, delegations, quotes and
 * receipts are all signed under it, so none of them replays across chains or brokers.
 * @example persistentDomain(42161n, "0xBroker…") // { name: "livepay PersistentTicketBroker", version: "1", chainId: 42161n, verifyingContract }
 */
export function persistentDomain(chainId: bigint | number, verifyingContract: string): Eip712Domain {
  const id = typeof chainId === "number" && Number.isSafeInteger(chainId) ? BigInt(chainId) : chainId;
  if (typeof id !== "bigint" || id <= 0n || id >> 256n !== 0n) {
    throw new InvalidInputError("INVALID_CHAIN_ID", "chainId must be a positive integer", {
      chainId: String(chainId),
    });
  }
  return {
    name: PERSISTENT_DOMAIN_NAME,
    version: PERSISTENT_DOMAIN_VERSION,
    chainId: id,
    verifyingContract: normalizeAddress(verifyingContract),
  };
}

// Separators are recomputed only per distinct domain: a node talks to one broker, so this holds one entry.
const cache = new Map<string, Uint8Array>();

/**
 * The domain separator, cached per (name, version, chainId, contract). Equals the contract's `domainSeparator()`.
 * @example bytesToHex(domainSeparatorOf(persistentDomain(31337, broker)))
 */
export function domainSeparatorOf(domain: Eip712Domain): Uint8Array {
  const key = `${domain.name}\u0000${domain.version}\u0000${domain.chainId}\u0000${String(domain.verifyingContract).toLowerCase()}`;
  let ds = cache.get(key);
  if (!ds) {
    ds = eip712DomainSeparator(domain);
    if (cache.size > 64) cache.clear();
    cache.set(key, ds);
  }
  return ds;
}
