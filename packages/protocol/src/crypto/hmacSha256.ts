import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";

interface NodeCrypto {
  createHmac(alg: string, key: Uint8Array): { update(d: Uint8Array): { digest(): Uint8Array } };
}

// Node's OpenSSL HMAC is several times faster than pure JS and recipientRand is computed for every
// ticket received; browsers get @noble/hashes. Loaded without a static node: import (browser-safe).
const nodeCrypto = (() => {
  try {
    const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    return proc?.getBuiltinModule?.("node:crypto") as NodeCrypto | undefined;
  } catch {
    return undefined;
  }
})();

/**
 * HMAC-SHA256 (32 bytes).
 * @example hmacSha256(secret, message)
 */
export function hmacSha256(key: Uint8Array, message: Uint8Array): Uint8Array {
  if (nodeCrypto) {
    const d = nodeCrypto.createHmac("sha256", key).update(message).digest();
    return new Uint8Array(d.buffer, d.byteOffset, d.length);
  }
  return hmac(sha256, key, message);
}

/** The pure-JS HMAC-SHA256, for tests that compare both paths. */
export function hmacSha256Js(key: Uint8Array, message: Uint8Array): Uint8Array {
  return hmac(sha256, key, message);
}
