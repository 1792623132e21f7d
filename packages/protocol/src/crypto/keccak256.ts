import { keccak_256 } from "@noble/hashes/sha3.js";

/**
 * Original Keccak-256 (Ethereum's), not NIST SHA3-256.
 * @example bytesToHex(keccak256(utf8("foo"))) // "0x41b1a064..."
 */
export function keccak256(data: Uint8Array): Uint8Array {
  return keccak_256(data);
}
