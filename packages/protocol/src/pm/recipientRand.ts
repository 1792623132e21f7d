import { addressToBytes } from "../bytes/address.js";
import { bytesToHex, concatBytes, type Hex } from "../bytes/hex.js";
import { bytesToBigInt, minBytes, u256 } from "../bytes/integers.js";
import { hmacSha256 } from "../crypto/hmacSha256.js";
import { keccak256 } from "../crypto/keccak256.js";
import type { Rational } from "../money/rational.js";
import { auxData } from "./ticketHash.js";

/** Every value the recipient binds into recipientRand; a gateway must echo each unchanged. */
export interface RecipientRandInput {
  seed: bigint;
  sender: Hex;
  faceValue: bigint;
  winProb: bigint;
  expirationBlock: bigint;
  /** Normalized price per pixel/unit (wei). */
  price: Rational;
  creationRound: bigint;
  creationRoundBlockHash: Hex;
}

/**
 * The HMAC message of go-livepeer's recipient: minimal big-endian integers, no separators:
 * seed ‖ sender ‖ faceValue ‖ winProb ‖ expirationBlock ‖ price.num ‖ price.den ‖ auxData.
 * @example recipientRandMessage(input).length
 */
export function recipientRandMessage(i: RecipientRandInput): Uint8Array {
  return concatBytes(
    minBytes(i.seed),
    addressToBytes(i.sender),
    minBytes(i.faceValue),
    minBytes(i.winProb),
    minBytes(i.expirationBlock),
    minBytes(i.price.num),
    minBytes(i.price.den),
    auxData(i.creationRound, i.creationRoundBlockHash),
  );
}

/**
 * recipientRand = HMAC-SHA256(secret, message) as a big-endian integer. The secret never leaves
 * the orchestrator; changing any bound value changes recipientRand.
 * @example recipientRand(secret, input) // 0xe2e3a4...n
 */
export function recipientRand(secret: Uint8Array, input: RecipientRandInput): bigint {
  return bytesToBigInt(hmacSha256(secret, recipientRandMessage(input)));
}

/**
 * keccak256(u256(recipientRand)): the public commitment carried in ticket params.
 * @example recipientRandHash(10n) // "0xc65a7bb8..."
 */
export function recipientRandHash(rand: bigint): Hex {
  return bytesToHex(keccak256(u256(rand)));
}
