import { InvalidInputError } from "../errors.js";

/** A `0x`-prefixed hex string. livepay emits lowercase; it accepts either case. */
export type Hex = `0x${string}`;

const HEX_RE = /^(0x)?([0-9a-fA-F]{2})*$/;
const BYTE_HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/**
 * Decodes hex (with or without `0x`, even length) to bytes.
 * @example hexToBytes("0x0102") // Uint8Array [1, 2]
 */
export function hexToBytes(hex: string): Uint8Array {
  if (typeof hex !== "string" || !HEX_RE.test(hex)) {
    throw new InvalidInputError("INVALID_HEX", "invalid hex string", { value: String(hex).slice(0, 80) });
  }
  const body = hex.startsWith("0x") ? hex.slice(2) : hex;
  const out = new Uint8Array(body.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(body.slice(i * 2, i * 2 + 2), 16);
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
