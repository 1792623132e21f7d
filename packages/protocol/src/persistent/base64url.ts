import { decodeBase64Std, encodeBase64Std } from "../wire/base64.js";
import { PersistentWireError } from "./errors.js";

/**
 * base64url without padding (RFC 4648 §5), the form of livepay's JSON headers.
 * @example encodeBase64Url(new Uint8Array([251, 255])) // "-_8"
 */
export function encodeBase64Url(bytes: Uint8Array): string {
  return encodeBase64Std(bytes).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}

/**
 * Decodes unpadded base64url strictly (alphabet `A-Z a-z 0-9 - _`, canonical trailing bits); throws
 * `PersistentWireError` `INVALID_BASE64URL`.
 * @example decodeBase64Url("-_8") // Uint8Array [251, 255]
 */
export function decodeBase64Url(s: string): Uint8Array {
  if (typeof s !== "string" || !/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) {
    throw new PersistentWireError("INVALID_BASE64URL", "invalid base64url");
  }
  const std = s.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (s.length % 4)) % 4);
  try {
    return decodeBase64Std(std);
  } catch {
    throw new PersistentWireError("INVALID_BASE64URL", "invalid base64url");
  }
}
