import { bytesToHex, type Hex } from "../bytes/hex.js";
import { signDigest, type PrivateKey } from "../crypto/secp256k1.js";
import { recoverTypedSigner, type CompactSignature } from "./compactSignature.js";
import { domainSeparatorOf } from "./domain.js";
import { defineEip712Struct, eip712Digest, eip712StructHash, type Eip712Domain } from "./eip712.js";

/**
 * A payee's attestation of one served request, chained per ticket: `seq` counts from 1,
 * `prevReceiptHash` is the previous receipt's hash (zero for the first), `charge` is the wei this
 * request added, `cumulativeCharged = ceil(exact total of units × price over the ticket)`.
 * `inputHash` / `outputHash` are salted content hashes (see `saltedHash`).
 */
export interface Receipt {
  payee: Hex;
  payer: Hex;
  /** uint256. */
  ticketId: bigint;
  /** uint64. */
  epoch: bigint;
  /** uint64, 1 for the first receipt of the ticket. */
  seq: bigint;
  /** bytes32: `quoteHash` of the quote the request was served under. */
  quoteHash: Hex;
  /** uint64: units charged (see UNIT_TABLE). */
  units: bigint;
  /** uint128 wei: cumulativeCharged − previous cumulativeCharged. */
  charge: bigint;
  /** uint128 wei. */
  cumulativeCharged: bigint;
  /** bytes32: keccak256(salt ‖ request content). */
  inputHash: Hex;
  /** bytes32: keccak256(salt ‖ output content). */
  outputHash: Hex;
  /** bytes32: receiptHash of the previous receipt on this ticket, zero for seq 1. */
  prevReceiptHash: Hex;
}

/** A receipt with the payee's (signing key's) 65-byte signature and the content-hash salt. */
export interface SignedReceipt {
  receipt: Receipt;
  signature: Hex;
  /** 32 random bytes; not signed, it only opens the salted content hashes. */
  salt: Hex;
}

/** The Receipt struct type. */
export const RECEIPT_STRUCT = defineEip712Struct("Receipt", [
  { name: "payee", type: "address" },
  { name: "payer", type: "address" },
  { name: "ticketId", type: "uint256" },
  { name: "epoch", type: "uint64" },
  { name: "seq", type: "uint64" },
  { name: "quoteHash", type: "bytes32" },
  { name: "units", type: "uint64" },
  { name: "charge", type: "uint128" },
  { name: "cumulativeCharged", type: "uint128" },
  { name: "inputHash", type: "bytes32" },
  { name: "outputHash", type: "bytes32" },
  { name: "prevReceiptHash", type: "bytes32" },
]);

/** keccak256 of RECEIPT_STRUCT.typeString. */
export const RECEIPT_TYPEHASH: Hex = bytesToHex(RECEIPT_STRUCT.typeHash);

function digest(domain: Eip712Domain, receipt: Receipt): Uint8Array {
  return eip712Digest(domainSeparatorOf(domain), eip712StructHash(RECEIPT_STRUCT, receipt as never));
}

/**
 * The receipt's EIP-712 digest: what the payee signs and what the next receipt's `prevReceiptHash`,
 * the next voucher's context and the receipts sum tree refer to.
 * @example receiptHash(domain, receipt) // "0x…"
 */
export function receiptHash(domain: Eip712Domain, receipt: Receipt): Hex {
  return bytesToHex(digest(domain, receipt));
}

/**
 * Signs a receipt with the payee's registered signing key (65 bytes, v = 27/28).
 * @example const signature = signReceipt(domain, receipt, signingKey);
 */
export function signReceipt(domain: Eip712Domain, receipt: Receipt, privateKey: PrivateKey): Hex {
  return bytesToHex(signDigest(digest(domain, receipt), privateKey));
}

/**
 * Hashes and signs a receipt in one pass: the payee needs the hash for its chain and sum tree.
 * @example const { hash, signature } = hashAndSignReceipt(domain, receipt, signingKey);
 */
export function hashAndSignReceipt(
  domain: Eip712Domain,
  receipt: Receipt,
  privateKey: PrivateKey,
): { hash: Hex; signature: Hex } {
  const d = digest(domain, receipt);
  return { hash: bytesToHex(d), signature: bytesToHex(signDigest(d, privateKey)) };
}

/**
 * The address that signed a receipt, lowercase.
 * @example recoverReceiptSigner(domain, receipt, signature) === signingKeyOf(payee)
 */
export function recoverReceiptSigner(
  domain: Eip712Domain,
  receipt: Receipt,
  signature: Hex | Uint8Array | CompactSignature,
): Hex {
  return recoverTypedSigner(digest(domain, receipt), signature);
}
