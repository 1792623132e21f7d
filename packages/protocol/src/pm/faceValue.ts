import { MAX_UINT256 } from "../bytes/integers.js";
import type { Rational } from "../money/rational.js";
import { InsufficientReserveError } from "./errors.js";

/** go-livepeer's hard-coded "average" gas price used as a floor for face values: 3 gwei. */
export const AVG_GAS_PRICE = 3_000_000_000n;
/** Redemption gas go-livepeer assumes on Arbitrum One and elsewhere. */
export const REDEEM_GAS_L2 = 1_200_000n;
export const REDEEM_GAS_L1 = 350_000n;
/** Face value covers this many times the redemption cost. */
export const TX_COST_MULTIPLIER = 100n;
/** Default orchestrator ticket EV in wei (`-ticketEV`). */
export const DEFAULT_TICKET_EV = 8_000_000_000n;

export interface FaceValueInput {
  /** Price the orchestrator is about to advertise (wei per unit). */
  price: Rational;
  /** Current gas price (wei), clamped by the caller as it sees fit; 0 if unknown. */
  gasPrice: bigint;
  redeemGas: bigint;
  /** Target EV per ticket (wei). */
  ev: bigint;
  /** Max float the sender's reserve allows this recipient (spec §2.5). */
  maxFloat: bigint;
  /** Operator cap on face value; 0 disables it. */
  maxFaceValue?: bigint;
  txCostMultiplier?: bigint;
}

/**
 * Face value for a sender (spec §2.1 step 2): 100× the redemption cost (at least 100× EV), capped by
 * the sender's max float and the operator's cap; 0 for free work. Throws `InsufficientReserveError`
 * when the cap leaves less than one EV or cannot cover redemption.
 * @example faceValue({ price, gasPrice: 100n, redeemGas: 10_000n, ev: 5n, maxFloat: 10n ** 10n }) // 100000000n
 */
export function faceValue(i: FaceValueInput): bigint {
  if (i.price.num <= 0n) return 0n;
  const multiplier = i.txCostMultiplier ?? TX_COST_MULTIPLIER;
  const txCost = i.redeemGas * i.gasPrice;
  let fv = txCost * multiplier;
  if (fv < i.ev) fv = i.ev * multiplier;
  if (fv > i.maxFloat) fv = i.maxFloat;
  if (i.maxFaceValue !== undefined && i.maxFaceValue > 0n && fv > i.maxFaceValue) fv = i.maxFaceValue;
  if (fv < i.ev) throw new InsufficientReserveError({ faceValue: fv.toString(), ev: i.ev.toString() });
  if (fv < txCost && fv < i.redeemGas * AVG_GAS_PRICE) {
    throw new InsufficientReserveError({ faceValue: fv.toString(), txCost: txCost.toString() });
  }
  return fv;
}

const LOW_64 = (1n << 64n) - 1n;

/**
 * Win probability giving each ticket an EV of at least `ev` (spec §1.7): 0 for a zero face value,
 * 2^256-1 when faceValue == ev, else `ev * ceil(MAX / faceValue)`. Like Go, only the low 64 bits of
 * the remainder decide the rounding (identical for face values below 2^63 wei).
 * @example winProbForFaceValue(100_000_000n, 5n)
 */
export function winProbForFaceValue(faceValue: bigint, ev: bigint): bigint {
  if (faceValue === 0n) return 0n;
  if (faceValue === ev) return MAX_UINT256;
  let x = MAX_UINT256 / faceValue;
  const r = MAX_UINT256 % faceValue;
  // Go tests r.Int64() != 0: the low 64 bits as a signed integer, which is zero iff they are zero.
  if ((r & LOW_64) !== 0n) x += 1n;
  return ev * x;
}
