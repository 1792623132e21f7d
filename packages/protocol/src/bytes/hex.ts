import { InvalidInputError } from "../errors.js";

/** A `0x`-prefixed hex string. livepay emits lowercase; it accepts either case. */
export type Hex = `0x${string}`;

const BYTE_HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
const NIBBLE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  NIBBLE["0123456789abcdef".charCodeAt(i)] = i;
  NIBBLE["0123456789ABCDEF".charCodeAt(i)] = i;
}

/**
 * Decodes even-length hex (either case) in one pass, or returns undefined if it is not hex. Hex
 * decoding is the hot path of payment encoding (signatures), hence no regex and no parseInt.
 * @example tryHexToBytes("0x0102", true) // Uint8Array [1, 2]
 */
export function tryHexToBytes(value: unknown, requirePrefix = false): Uint8Array | undefined {
  if (typeof value !== "string" || value.length % 2 !== 0) return undefined;
  const prefixed = value.charCodeAt(0) === 48 /* 0 */ && value.charCodeAt(1) === 120; /* x */
  if (requirePrefix && !prefixed) return undefined;
  const start = prefixed ? 2 : 0;
  const out = new Uint8Array((value.length - start) / 2);
  for (let i = 0, j = start; i < out.length; i++, j += 2) {
    const a = value.charCodeAt(j);
    const b = value.charCodeAt(j + 1);
    const hi = a < 128 ? NIBBLE[a]! : -1;
    const lo = b < 128 ? NIBBLE[b]! : -1;
    if ((hi | lo) < 0) return undefined;
    out[i] = (hi << 4) | lo;
  }
  return out;
}

/**
 * Decodes hex (with or without `0x`, even length) to bytes.
 * @example hexToBytes("0x0102") // Uint8Array [1, 2]
 */
export function hexToBytes(hex: string): Uint8Array {
  const out = tryHexToBytes(hex);
  if (!out)
    throw new InvalidInputError("INVALID_HEX", "invalid hex string", { value: String(hex).slice(0, 80) });
  return out;
}

/**
 * Encodes bytes as lowercase `0x` hex.
 * @example bytesToHex(new Uint8Array([1, 2])) // "0x0102"
 */
export function bytesToHex(bytes: Uint8Array): Hex {
  let s = "0x";
  for (let i = 0; i < bytes.length; i++) s += BYTE_HEX[bytes[i]!];
  return s as Hex;
}

/**
 * Concatenates byte arrays.
 * @example concatBytes(a, b)
 */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/**
 * Constant-shape byte comparison (equal length and content).
 * @example equalBytes(a, b)
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** UTF-8 bytes of a string. @example utf8("abc") */
export function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}
