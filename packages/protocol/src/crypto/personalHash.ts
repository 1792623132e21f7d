import { concatBytes, utf8 } from "../bytes/hex.js";
import { keccak256 } from "./keccak256.js";

/**
 * EIP-191 version 0x45 digest (go-ethereum `accounts.TextHash`):
 * `keccak256("\x19Ethereum Signed Message:\n" + len(message) + message)`, length in decimal bytes.
 * @example personalHash(ticketHashBytes) // what a ticket signature signs
 */
export function personalHash(message: Uint8Array): Uint8Array {
  return keccak256(concatBytes(utf8(`\x19Ethereum Signed Message:\n${message.length}`), message));
}
