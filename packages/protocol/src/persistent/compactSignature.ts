import { bytesToHex, hexToBytes, type Hex } from "../bytes/hex.js";
import { SECP256K1_N, SignatureError, recoverDigestSigner } from "../crypto/secp256k1.js";

/** An EIP-2098 compact signature, the form PersistentTicketBroker's `claim` takes: `vs = yParity << 255 | s`. */
export interface CompactSignature {
  r: Hex;
  vs: Hex;
}

/** A signature in both forms: 65-byte `r ‖ s ‖ v` (v = 27/28) and compact `(r, vs)`. */
export interface TypedSignature extends CompactSignature {
  signature: Hex;
}

const HALF_N = SECP256K1_N / 2n;

function sigBytes(signature: Hex | Uint8Array): Uint8Array {
  const b = typeof signature === "string" ? hexToBytes(signature) : signature;
  if (b.length !== 65) throw new SignatureError("INVALID_SIGNATURE_LENGTH", "invalid signature length");
  return b;
}

/**
 * Converts a 65-byte `r ‖ s ‖ v` signature to EIP-2098 `(r, vs)`; rejects high s and v ∉ {27, 28},
 * which the contract would reject too.
 * @example toCompactSignature(sig) // { r: "0x…", vs: "0x…" }
 */
export function toCompactSignature(signature: Hex | Uint8Array): CompactSignature {
  const b = sigBytes(signature);
  const v = b[64]!;
  if (v !== 27 && v !== 28)
    throw new SignatureError("SIGNATURE_INVALID_V", "signature v value must be 27 or 28");
  const s = BigInt(bytesToHex(b.subarray(32, 64)));
  if (s > HALF_N) throw new SignatureError("SIGNATURE_S_TOO_HIGH", "signature s value too high");
  const vs = new Uint8Array(b.subarray(32, 64));
  if (v === 28) vs[0]! |= 0x80;
  return { r: bytesToHex(b.subarray(0, 32)), vs: bytesToHex(vs) };
}

/**
 * Converts EIP-2098 `(r, vs)` back to 65 bytes `r ‖ s ‖ v` with v = 27 + yParity.
 * @example fromCompactSignature({ r, vs }) // Uint8Array(65)
 */
export function fromCompactSignature(compact: CompactSignature): Uint8Array {
  const r = hexToBytes(compact.r);
  const vs = hexToBytes(compact.vs);
  if (r.length !== 32 || vs.length !== 32) {
    throw new SignatureError("INVALID_SIGNATURE_LENGTH", "compact signature parts must be 32 bytes");
  }
  const out = new Uint8Array(65);
  out.set(r, 0);
  out.set(vs, 32);
  out[32]! &= 0x7f;
  out[64] = 27 + (vs[0]! >> 7);
  return out;
}

/**
 * Both forms of a freshly made 65-byte signature.
 * @example typedSignature(signDigest(digest, key)).vs
 */
export function typedSignature(signature: Uint8Array): TypedSignature {
  return { signature: bytesToHex(sigBytes(signature)), ...toCompactSignature(signature) };
}

/**
 * Recovers the signer of a digest from a 65-byte or compact signature (low s and v checked).
 * @example recoverTypedSigner(digest, { r, vs }) // "0xf39f…"
 */
export function recoverTypedSigner(digest: Uint8Array, signature: Hex | Uint8Array | CompactSignature): Hex {
  if (typeof signature === "object" && !(signature instanceof Uint8Array)) {
    // s is the low 255 bits of vs; recoverDigestSigner then rejects s > n/2 as the contract does.
    return recoverDigestSigner(digest, fromCompactSignature(signature));
  }
  return recoverDigestSigner(digest, sigBytes(signature));
}
