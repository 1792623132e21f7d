import { WireError } from "./errors.js";

// A small codec instead of Buffer/atob: it must run in browsers and be strict, which atob is not
// (atob accepts whitespace and missing padding).
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

/**
 * Standard base64 (RFC 4648 §4, `+/`) with `=` padding, as Go's `base64.StdEncoding`.
 * @example encodeBase64Std(new Uint8Array([1, 2])) // "AQI="
 */
export function encodeBase64Std(bytes: Uint8Array): string {
  const parts: string[] = [];
  let chunk = "";
  const n = bytes.length;
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    chunk += ALPHABET[v >>> 18]! + ALPHABET[(v >>> 12) & 63]! + ALPHABET[(v >>> 6) & 63]! + ALPHABET[v & 63]!;
    if (chunk.length >= 8192) {
      parts.push(chunk);
      chunk = "";
    }
  }
  if (n - i === 1) {
    const v = bytes[i]! << 16;
    chunk += ALPHABET[v >>> 18]! + ALPHABET[(v >>> 12) & 63]! + "==";
  } else if (n - i === 2) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    chunk += ALPHABET[v >>> 18]! + ALPHABET[(v >>> 12) & 63]! + ALPHABET[(v >>> 6) & 63]! + "=";
  }
  parts.push(chunk);
  return parts.join("");
}

function invalid(reason: string, position?: number): WireError {
  return new WireError(
    "INVALID_BASE64",
    `invalid base64: ${reason}`,
    position === undefined ? {} : { position },
  );
}

/**
 * Decodes strict standard base64: alphabet `A-Z a-z 0-9 + /`, length a multiple of 4, `=` padding
 * required (as Go's `StdEncoding`, which go-livepeer uses on both sides), no whitespace or line
 * breaks, and unused trailing bits zero. Every accepted string is therefore the canonical encoding of
 * its bytes. Throws `WireError` `INVALID_BASE64` otherwise.
 * @example decodeBase64Std("AQI=") // Uint8Array [1, 2]
 */
export function decodeBase64Std(s: string): Uint8Array {
  if (typeof s !== "string") throw invalid("not a string");
  const len = s.length;
  if (len % 4 !== 0) throw invalid("length is not a multiple of 4 (padding is required)");
  let pad = 0;
  if (len > 0 && s.charCodeAt(len - 1) === 61) pad = s.charCodeAt(len - 2) === 61 ? 2 : 1;
  const out = new Uint8Array((len / 4) * 3 - pad);
  let o = 0;
  const body = len - pad;
  for (let i = 0; i < len; i += 4) {
    let v = 0;
    for (let j = 0; j < 4; j++) {
      const p = i + j;
      let d = 0;
      if (p < body) {
        const c = s.charCodeAt(p);
        d = c < 128 ? DECODE[c]! : -1;
        if (d < 0) throw invalid(c === 61 ? "misplaced padding" : "invalid character", p);
      }
      v = (v << 6) | d;
    }
    if (o < out.length) out[o++] = v >>> 16;
    if (o < out.length) out[o++] = (v >>> 8) & 255;
    if (o < out.length) out[o++] = v & 255;
    if (i + 4 === len && pad > 0) {
      // Canonical form only: the bits that padding discards must be zero.
      const unused = pad === 2 ? v & 0xffff : v & 0xff;
      if (unused !== 0) throw invalid("non-zero trailing bits", len - pad - 1);
    }
  }
  return out;
}
