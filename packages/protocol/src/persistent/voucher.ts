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
 * A payer-signed approval: the payer owes `payee` up to `cumulativeAmount` wei in total on ticket
 * `(payer, payee, epoch, ticketId)`. Amounts only grow, so there are no nonces and an old voucher is
 * harmless. `context = voucherContext(quoteHash, ackReceiptHash)` binds it to one request.
 */
export interface Voucher {
  payer: Hex;
  payee: Hex;
  /** uint256. */
  ticketId: bigint;
  /** uint64: the payer's epoch on the broker (`withdraw` increments it). */
  epoch: bigint;
  /** uint128 wei. */
  cumulativeAmount: bigint;
  /** bytes32. */
  context: Hex;
}

/** The Voucher struct type, byte for byte the contract's `VOUCHER_TYPEHASH` preimage. */
export const VOUCHER_STRUCT = defineEip712Struct("Voucher", [
  { name: "payer", type: "address" },
  { name: "payee", type: "address" },
  { name: "ticketId", type: "uint256" },
  { name: "epoch", type: "uint64" },
  { name: "cumulativeAmount", type: "uint128" },
  { name: "context", type: "bytes32" },
]);

/** `keccak256("Voucher(address payer,address payee,uint256 ticketId,uint64 epoch,uint128 cumulativeAmount,bytes32 context)")`. */
export const VOUCHER_TYPEHASH: Hex = bytesToHex(VOUCHER_STRUCT.typeHash);

function digest(domain: Eip712Domain, voucher: Voucher): Uint8Array {
  return eip712Digest(domainSeparatorOf(domain), eip712StructHash(VOUCHER_STRUCT, voucher as never));
}

/**
 * The EIP-712 digest a voucher signature signs; equals the contract's `hashVoucher(...)` view.
 * @example voucherHash(persistentDomain(31337, broker), voucher) // "0x…"
 */
export function voucherHash(domain: Eip712Domain, voucher: Voucher): Hex {
  return bytesToHex(digest(domain, voucher));
}

/**
 * Signs a voucher; returns the 65-byte signature and the compact `(r, vs)` that `claim` takes.
 * @example const { signature, r, vs } = signVoucher(domain, voucher, payerKey);
 */
export function signVoucher(domain: Eip712Domain, voucher: Voucher, privateKey: PrivateKey): TypedSignature {
  return typedSignature(signDigest(digest(domain, voucher), privateKey));
}

/**
 * The address that signed a voucher (65-byte or compact signature), lowercase.
 * @example recoverVoucherSigner(domain, voucher, { r, vs }) === payer
 */
export function recoverVoucherSigner(
  domain: Eip712Domain,
  voucher: Voucher,
  signature: Hex | Uint8Array | CompactSignature,
): Hex {
  return recoverTypedSigner(digest(domain, voucher), signature);
}
