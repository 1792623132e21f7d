import { concatBytes, utf8 } from "../bytes/hex.js";
import { keccak256 } from "./keccak256.js";

/**
 * EIP-191 version 0x45 digest (go-ethereum `accounts.TextHash`):
 * `keccak256("\x19Ethereum Signed Message:\n" + len(message) + message)`, length in decimal bytes.
 * @example personalHash(ticketHashBytes) // what a ticket signature signs
 */
export function personalHash(message: Uint8Array): Uint8Array {
  // 32-byte messages (ticket hashes, keccak digests) are the hot path: reuse their prefix.
  const prefix = message.length === 32 ? PREFIX_32 : utf8(`\x19Ethereum Signed Message:\n${message.length}`);
  return keccak256(concatBytes(prefix, message));
}

const PREFIX_32 = utf8("\x19Ethereum Signed Message:\n32");
