import type { Hex } from "../bytes/hex.js";
import { keccak256 } from "./keccak256.js";
import { personalHash } from "./personalHash.js";
import { recoverDigestSigner, signDigest, type PrivateKey } from "./secp256k1.js";

/**
 * Livepeer's `Broadcaster.Sign`: personal-sign over `keccak256(message)` (the info sig and segment
 * credentials; tickets instead sign their 32-byte hash directly, see `signTicket`).
 * @example signHashedMessage(utf8(checksumAddress(addr)), key)
 */
export function signHashedMessage(message: Uint8Array, privateKey: PrivateKey): Uint8Array {
  return signDigest(personalHash(keccak256(message)), privateKey);
}

/**
 * The signer of `signHashedMessage(message, key)`.
 * @example recoverHashedMessageSigner(msg, sig) === address
 */
export function recoverHashedMessageSigner(message: Uint8Array, signature: Uint8Array): Hex {
  return recoverDigestSigner(personalHash(keccak256(message)), signature);
}
