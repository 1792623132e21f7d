import { secp256k1 as nobleSecp256k1 } from "@noble/curves/secp256k1.js";
import { bytesToHex, hexToBytes, type Hex } from "../bytes/hex.js";
import { LivepayError } from "../errors.js";
import { keccak256 } from "./keccak256.js";

/** secp256k1 group order N. */
export const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const HALF_N = SECP256K1_N / 2n;

/** A signature that fails the off-chain checks of go-livepeer's `VerifySig` (spec §1.5). */
export class SignatureError extends LivepayError {}

/** A private key as 32 bytes or 0x hex. */
export type PrivateKey = Hex | Uint8Array;

interface NativeSecp256k1 {
  ecdsaSign(msg32: Uint8Array, seckey: Uint8Array): { signature: Uint8Array; recid: number };
  ecdsaRecover(sig: Uint8Array, recid: number, msg32: Uint8Array, compressed: boolean): Uint8Array;
  publicKeyCreate(seckey: Uint8Array, compressed: boolean): Uint8Array;
}

export type Secp256k1Backend = "native" | "js";

// The native libsecp256k1 addon is ~10x faster than pure JS. It is loaded through
// process.getBuiltinModule so that this module stays importable in browsers (no static node: import).
function loadNative(): NativeSecp256k1 | undefined {
  try {
    const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    const mod = proc?.getBuiltinModule?.("node:module") as
      { createRequire(url: string): (id: string) => unknown } | undefined;
    if (!mod) return undefined;
    const native = mod.createRequire(import.meta.url)("secp256k1/bindings") as NativeSecp256k1;
    // node-gyp-build falls back to nothing when no binary matches: prove it works once.
    native.publicKeyCreate(new Uint8Array(32).fill(1), false);
    return native;
  } catch {
    return undefined;
  }
}

const native = loadNative();
let backend: Secp256k1Backend = native ? "native" : "js";

/**
 * Whether the native libsecp256k1 addon loaded in this process.
 * @example if (!nativeSecp256k1Available()) console.warn("pure-JS secp256k1: ~10x slower")
 */
export function nativeSecp256k1Available(): boolean {
  return native !== undefined;
}

/**
 * The implementation in use: "native" when the addon loaded, else "js". Both give identical bytes.
 * @example secp256k1Backend() // "native"
 */
export function secp256k1Backend(): Secp256k1Backend {
  return backend;
}

/**
 * Selects the implementation (tests and benchmarks compare both). Throws if "native" is not available.
 * @example useSecp256k1Backend("js")
 */
export function useSecp256k1Backend(which: Secp256k1Backend): void {
  if (which === "native" && !native) {
    throw new LivepayError("NATIVE_SECP256K1_UNAVAILABLE", "native secp256k1 addon is not available");
  }
  backend = which;
}

function keyBytes(privateKey: PrivateKey): Uint8Array {
  const k = typeof privateKey === "string" ? hexToBytes(privateKey) : privateKey;
  if (k.length !== 32) throw new LivepayError("INVALID_PRIVATE_KEY", "private key must be 32 bytes");
  return k;
}

function assertDigest(digest: Uint8Array): void {
  if (digest.length !== 32) throw new LivepayError("INVALID_DIGEST", "digest must be 32 bytes");
}

/**
 * Signs a 32-byte digest: RFC 6979 nonce, low s, 65 bytes `r || s || v` with `v` = 27 or 28
 * (what go-ethereum's keystore produces after Livepeer adds 27).
 * @example signDigest(personalHash(ticketHash), key)
 */
export function signDigest(digest: Uint8Array, privateKey: PrivateKey): Uint8Array {
  assertDigest(digest);
  const key = keyBytes(privateKey);
  const out = new Uint8Array(65);
  if (backend === "native") {
    const { signature, recid } = native!.ecdsaSign(digest, key);
    out.set(signature, 0);
    out[64] = 27 + recid;
  } else {
    const rec = nobleSecp256k1.sign(digest, key, { prehash: false, format: "recovered", lowS: true });
    out.set(rec.subarray(1, 65), 0);
    out[64] = 27 + rec[0]!;
  }
  return out;
}

function publicKeyToAddress(uncompressed: Uint8Array): Hex {
  return bytesToHex(keccak256(uncompressed.subarray(1)).subarray(12));
}

/**
 * Recovers the signer's address from a digest and a 65-byte `r || s || v` signature, with
 * go-livepeer's checks in its order: length, high s, v in {27, 28}.
 * @example recoverDigestSigner(personalHash(msg), sig) // "0xf39f..."
 */
export function recoverDigestSigner(digest: Uint8Array, signature: Uint8Array): Hex {
  assertDigest(digest);
  if (signature.length !== 65) {
    throw new SignatureError("INVALID_SIGNATURE_LENGTH", "invalid signature length");
  }
  let s = 0n;
  for (let i = 32; i < 64; i++) s = (s << 8n) | BigInt(signature[i]!);
  if (s > HALF_N) throw new SignatureError("SIGNATURE_S_TOO_HIGH", "signature s value too high");
  const v = signature[64]!;
  if (v !== 27 && v !== 28) {
    throw new SignatureError("SIGNATURE_INVALID_V", "signature v value must be 27 or 28");
  }
  const recid = v - 27;
  try {
    if (backend === "native") {
      return publicKeyToAddress(native!.ecdsaRecover(signature.subarray(0, 64), recid, digest, false));
    }
    const rec = new Uint8Array(65);
    rec[0] = recid;
    rec.set(signature.subarray(0, 64), 1);
    const pub = nobleSecp256k1.recoverPublicKey(rec, digest, { prehash: false });
    return publicKeyToAddress(nobleSecp256k1.Point.fromBytes(pub).toBytes(false));
  } catch {
    throw new SignatureError("INVALID_SIGNATURE", "invalid signature: public key recovery failed");
  }
}

/**
 * The lowercase address of a private key.
 * @example privateKeyToAddress("0xac09...ff80") // "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
 */
export function privateKeyToAddress(privateKey: PrivateKey): Hex {
  const key = keyBytes(privateKey);
  const pub = native ? native.publicKeyCreate(key, false) : nobleSecp256k1.getPublicKey(key, false);
  return publicKeyToAddress(pub);
}
