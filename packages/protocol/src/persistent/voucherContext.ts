import { bytesToHex, tryHexToBytes, type Hex } from "../bytes/hex.js";
import { keccak256 } from "../crypto/keccak256.js";
import { InvalidInputError } from "../errors.js";

/**
 * A voucher's `context = keccak256(quoteHash ‖ ackReceiptHash)`: binds the approval to one quote (hence
 * one request) and acknowledges the last receipt the payer verified (zero hash before the first one).
 * A payee accepts a voucher only with the context of the quote it is serving and of its own last
 * receipt, so ticket credit is never spent without a fresh payer signature.
 * @example voucherContext(quoteHash(domain, quote), ZERO_HASH)
 */
export function voucherContext(quoteHash: Hex, ackReceiptHash: Hex): Hex {
  const q = tryHexToBytes(quoteHash, true);
  const a = tryHexToBytes(ackReceiptHash, true);
  if (!q || q.length !== 32 || !a || a.length !== 32) {
    throw new InvalidInputError("INVALID_HASH", "quoteHash and ackReceiptHash must be 32 bytes of 0x hex");
  }
  const buf = new Uint8Array(64);
  buf.set(q, 0);
  buf.set(a, 32);
  return bytesToHex(keccak256(buf));
}
