import { InvalidInputError } from "../../errors.js";
import type { SenderReserve } from "./senderInfo.js";

/**
 * go-livepeer's `minDepositPendingRatio` (a float64 there): when `deposit / pending >= 3`, pending
 * redemptions are ignored in the max float.
 */
export const MIN_DEPOSIT_PENDING_RATIO = 3n;

/** What an orchestrator knows of one sender's funds (spec §2.5; a `SenderInfo` spreads into it). */
export interface SenderFundsInput {
  reserve: SenderReserve;
  /** Size of the active transcoder pool this round. */
  poolSize: bigint;
  /** Reserve this orchestrator has already claimed from the sender this round. */
  claimedReserve: bigint;
}

export interface MaxFloatInput extends SenderFundsInput {
  deposit: bigint;
  /** Sum of face values of this sender's redemptions in flight. */
  pending: bigint;
}

function nonNegative(value: bigint, field: string): void {
  if (typeof value !== "bigint" || value < 0n) {
    throw new InvalidInputError("INVALID_AMOUNT", `${field} must be a non-negative bigint`, { field });
  }
}

/**
 * This orchestrator's share of the sender's reserve (go-livepeer `reserveAlloc`, the contract's
 * `claimableReserve`): `floor((fundsRemaining + claimedInCurrentRound) / poolSize) - claimedReserve`,
 * 0 when the pool is empty. Integer division happens before the subtraction, as on-chain.
 * @example reserveAlloc({ reserve: { fundsRemaining: 10n, claimedInCurrentRound: 0n }, poolSize: 3n, claimedReserve: 1n }) // 2n
 */
export function reserveAlloc(i: SenderFundsInput): bigint {
  nonNegative(i.reserve.fundsRemaining, "reserve.fundsRemaining");
  nonNegative(i.reserve.claimedInCurrentRound, "reserve.claimedInCurrentRound");
  nonNegative(i.poolSize, "poolSize");
  nonNegative(i.claimedReserve, "claimedReserve");
  if (i.poolSize === 0n) return 0n;
  return (i.reserve.fundsRemaining + i.reserve.claimedInCurrentRound) / i.poolSize - i.claimedReserve;
}

/**
 * Whether go-livepeer ignores pending redemptions: `pending > 0 && float(deposit)/float(pending) >= 3.0`,
 * computed exactly as `deposit >= 3 * pending`. The two agree for all non-negative integers: Go's
 * `big.Float` quotient carries at least `max(64, bitlen(deposit), bitlen(pending))` bits; when the exact
 * quotient is in [2, 3), `deposit >= 2 * pending` gives at least `bitlen(pending) + 1` bits, so half an
 * ulp near 3 is at most `2^-bitlen(pending) < 1/pending <= 3 - deposit/pending`, and rounding to
 * nearest cannot reach 3.0; below 2 it cannot either, and 3.0 itself is exact.
 * @example depositCoversPending(30n, 10n) // true
 */
export function depositCoversPending(deposit: bigint, pending: bigint): boolean {
  return pending > 0n && deposit >= MIN_DEPOSIT_PENDING_RATIO * pending;
}

/**
 * The most a recipient lets a sender owe it in unredeemed tickets (go-livepeer `maxFloat`, spec §2.5):
 * `reserveAlloc` when the deposit covers pending redemptions 3 times over, else `reserveAlloc - pending`
 * (which may be negative). Face values are capped by it.
 * @example maxFloat({ ...senderInfo, poolSize: 10n, claimedReserve: 0n, pending: 0n })
 */
export function maxFloat(i: MaxFloatInput): bigint {
  nonNegative(i.deposit, "deposit");
  nonNegative(i.pending, "pending");
  const alloc = reserveAlloc(i);
  return depositCoversPending(i.deposit, i.pending) ? alloc : alloc - i.pending;
}

/**
 * Funds that could still cover a redemption (go-livepeer `availableFunds`): `reserveAlloc + deposit - pending`.
 * @example availableFunds({ ...senderInfo, poolSize: 10n, claimedReserve: 0n, pending: faceValue })
 */
export function availableFunds(i: MaxFloatInput): bigint {
  nonNegative(i.deposit, "deposit");
  nonNegative(i.pending, "pending");
  return reserveAlloc(i) + i.deposit - i.pending;
}
