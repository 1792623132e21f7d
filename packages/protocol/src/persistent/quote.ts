import { bytesToHex, type Hex } from "../bytes/hex.js";
import { signDigest, type PrivateKey } from "../crypto/secp256k1.js";
import { recoverTypedSigner, type CompactSignature } from "./compactSignature.js";
import { domainSeparatorOf } from "./domain.js";
import { defineEip712Struct, eip712Digest, eip712StructHash, type Eip712Domain } from "./eip712.js";

/**
 * A payee-signed offer for one request: at `priceNum/priceDen` wei per `unit`, about `estUnits` and at
 * most `maxUnits`, so at most `maxCharge = ceil(maxUnits × price)` wei, valid until `expiry` (unix
 * seconds). `requestHash` binds it to the client's request (see `requestHash`), `ticketId` to the
 * ticket the payer will sign for, `quoteId` makes retries idempotent.
 */
export interface Quote {
  payee: Hex;
  payer: Hex;
  /** uint256. */
  ticketId: bigint;
  /** bytes32, chosen by the payee (random). */
  quoteId: Hex;
  /** bytes32, keccak256 of the canonical request content. */
  requestHash: Hex;
  /** Pipeline name, e.g. "llm", "text-to-image" (see UNIT_TABLE). */
  capability: string;
  /** Model id, e.g. "meta-llama/Meta-Llama-3.1-8B-Instruct". */
  model: string;
  /** Billing unit, from UNIT_TABLE for the capability ("token", "pixel", "ms", "char"). */
  unit: string;
  /** uint128: price numerator, wei per unit. */
  priceNum: bigint;
  /** uint128: price denominator (> 0). */
  priceDen: bigint;
  /** uint64: the payee's estimate. */
  estUnits: bigint;
  /** uint64: the most units this request may be charged for. */
  maxUnits: bigint;
  /** uint128 wei: ceil(maxUnits × priceNum / priceDen). */
  maxCharge: bigint;
  /** uint64 unix seconds after which the payee will not accept a voucher for this quote. */
  expiry: bigint;
}

/** A quote with the payee's (signing key's) 65-byte signature. */
export interface SignedQuote {
  quote: Quote;
  signature: Hex;
}

/**
 * The Quote struct type. `string` members are hashed as EIP-712 requires (keccak256 of the UTF-8), so a
 * wallet shows them in clear while the encoding stays fixed-width.
 */
export const QUOTE_STRUCT = defineEip712Struct("Quote", [
  { name: "payee", type: "address" },
  { name: "payer", type: "address" },
  { name: "ticketId", type: "uint256" },
  { name: "quoteId", type: "bytes32" },
  { name: "requestHash", type: "bytes32" },
  { name: "capability", type: "string" },
  { name: "model", type: "string" },
  { name: "unit", type: "string" },
  { name: "priceNum", type: "uint128" },
  { name: "priceDen", type: "uint128" },
  { name: "estUnits", type: "uint64" },
  { name: "maxUnits", type: "uint64" },
  { name: "maxCharge", type: "uint128" },
  { name: "expiry", type: "uint64" },
]);

/** keccak256 of QUOTE_STRUCT.typeString. */
export const QUOTE_TYPEHASH: Hex = bytesToHex(QUOTE_STRUCT.typeHash);

function digest(domain: Eip712Domain, quote: Quote): Uint8Array {
  return eip712Digest(domainSeparatorOf(domain), eip712StructHash(QUOTE_STRUCT, quote as never));
}

/**
 * The quote's EIP-712 digest: what the payee signs, what receipts and voucher contexts refer to.
 * @example quoteHash(domain, quote) // "0x…"
 */
export function quoteHash(domain: Eip712Domain, quote: Quote): Hex {
  return bytesToHex(digest(domain, quote));
}

/**
 * Signs a quote with the payee's registered signing key (65 bytes, v = 27/28).
 * @example const signed = { quote, signature: signQuote(domain, quote, signingKey) };
 */
export function signQuote(domain: Eip712Domain, quote: Quote, privateKey: PrivateKey): Hex {
  return bytesToHex(signDigest(digest(domain, quote), privateKey));
}

/**
 * Hashes and signs a quote in one pass: the payee needs both (the hash keys its books).
 * @example const { hash, signature } = hashAndSignQuote(domain, quote, signingKey);
 */
export function hashAndSignQuote(
  domain: Eip712Domain,
  quote: Quote,
  privateKey: PrivateKey,
): { hash: Hex; signature: Hex } {
  const d = digest(domain, quote);
  return { hash: bytesToHex(d), signature: bytesToHex(signDigest(d, privateKey)) };
}

/**
 * The address that signed a quote, lowercase.
 * @example recoverQuoteSigner(domain, quote, signature) === signingKeyOf(payee)
 */
export function recoverQuoteSigner(
  domain: Eip712Domain,
  quote: Quote,
  signature: Hex | Uint8Array | CompactSignature,
): Hex {
  return recoverTypedSigner(digest(domain, quote), signature);
}
