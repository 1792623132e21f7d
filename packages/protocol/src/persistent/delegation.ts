import { bytesToHex, type Hex } from "../bytes/hex.js";
import { signDigest, type PrivateKey } from "../crypto/secp256k1.js";
import {
  recoverTypedSigner,
  typedSignature,
  type CompactSignature,
  type TypedSignature,
} from "./compactSignature.js";
import { domainSeparatorOf } from "./domain.js";
import { defineEip712Struct, eip712Digest, eip712StructHash, type Eip712Domain } from "./eip712.js";

/**
 * A payer's authorization for a session `key` to sign vouchers: for `payee` (or any payee when it is
 * the zero address), up to `cap` wei claimed in total, until round `validUntilRound`, in `epoch`.
 * Registered on-chain (`registerDelegation` or `registerDelegationWithSig`); the contract enforces the cap.
 */
export interface Delegation {
  payer: Hex;
  key: Hex;
  /** The only payee the key may pay, or the zero address for any. */
  payee: Hex;
  /** uint128 wei. */
  cap: bigint;
  /** uint64 Livepeer round. */
  validUntilRound: bigint;
  /** uint64 payer epoch. */
  epoch: bigint;
}

/** The Delegation struct type, byte for byte the contract's `DELEGATION_TYPEHASH` preimage. */
export const DELEGATION_STRUCT = defineEip712Struct("Delegation", [
  { name: "payer", type: "address" },
  { name: "key", type: "address" },
  { name: "payee", type: "address" },
  { name: "cap", type: "uint128" },
  { name: "validUntilRound", type: "uint64" },
  { name: "epoch", type: "uint64" },
]);

/** `keccak256("Delegation(address payer,address key,address payee,uint128 cap,uint64 validUntilRound,uint64 epoch)")`. */
export const DELEGATION_TYPEHASH: Hex = bytesToHex(DELEGATION_STRUCT.typeHash);

function digest(domain: Eip712Domain, delegation: Delegation): Uint8Array {
  return eip712Digest(domainSeparatorOf(domain), eip712StructHash(DELEGATION_STRUCT, delegation as never));
}

/**
 * The EIP-712 digest of a delegation; equals the contract's `hashDelegation(...)` view.
 * @example delegationHash(domain, delegation) // "0x…"
 */
export function delegationHash(domain: Eip712Domain, delegation: Delegation): Hex {
  return bytesToHex(digest(domain, delegation));
}

/**
 * Signs a delegation as the payer. `registerDelegationWithSig` takes the 65-byte `signature`.
 * @example const { signature } = signDelegation(domain, delegation, payerKey);
 */
export function signDelegation(
  domain: Eip712Domain,
  delegation: Delegation,
  privateKey: PrivateKey,
): TypedSignature {
  return typedSignature(signDigest(digest(domain, delegation), privateKey));
}

/**
 * The address that signed a delegation (should be `delegation.payer`).
 * @example recoverDelegationSigner(domain, delegation, signature) === delegation.payer
 */
export function recoverDelegationSigner(
  domain: Eip712Domain,
  delegation: Delegation,
  signature: Hex | Uint8Array | CompactSignature,
): Hex {
  return recoverTypedSigner(digest(domain, delegation), signature);
}
