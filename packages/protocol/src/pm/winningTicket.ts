import { concatBytes, hexToBytes, type Hex } from "../bytes/hex.js";
import { MAX_UINT256, bytesToBigInt, u256 } from "../bytes/integers.js";
import { keccak256 } from "../crypto/keccak256.js";
import { Rational } from "../money/rational.js";

/**
 * The win test of go-livepeer and the TicketBroker: `uint256(keccak256(sig ‖ u256(recipientRand))) < winProb`,
 * over the exact signature bytes received.
 * @example isWinningTicket(sig, recipientRand, ticket.winProb)
 */
export function isWinningTicket(
  signature: Hex | Uint8Array,
  recipientRand: bigint,
  winProb: bigint,
): boolean {
  const sig = typeof signature === "string" ? hexToBytes(signature) : signature;
  return bytesToBigInt(keccak256(concatBytes(sig, u256(recipientRand)))) < winProb;
}

/**
 * Expected value of a ticket in wei, exact: `faceValue * winProb / (2^256 - 1)`.
 * @example ticketEV(1000n, MAX_UINT256).toString() // "1000/1"
 */
export function ticketEV(faceValue: bigint, winProb: bigint): Rational {
  return Rational.of(faceValue * winProb, MAX_UINT256);
}

/**
 * The win probability as a fraction of 1.
 * @example winProbRat(MAX_UINT256 / 2n).toFixed(2) // "0.50"
 */
export function winProbRat(winProb: bigint): Rational {
  return Rational.of(winProb, MAX_UINT256);
}
