import { InvalidInputError } from "../../errors.js";
import type { Rational } from "../../money/rational.js";
import { rationalToFloat64 } from "./rationalToFloat64.js";

/** Weights of go-livepeer's `ProbabilitySelectionAlgorithm`; the three weights sum to 1. */
export interface SelectionWeights {
  stakeWeight: number;
  priceWeight: number;
  randWeight: number;
  /** Price normalization: `exp(-price / priceExpFactor)`. */
  priceExpFactor: number;
}

/** go-livepeer's shipped defaults: stake 0.7, random 0.3, price 0.0 (not "70 % price", see spec §9). */
export const DEFAULT_SELECTION_WEIGHTS: Readonly<SelectionWeights> = Object.freeze({
  stakeWeight: 0.7,
  priceWeight: 0,
  randWeight: 0.3,
  priceExpFactor: 100,
});

/** One orchestrator as selection sees it. */
export interface SelectionCandidate {
  /** Stake as go-livepeer reads it (LPT * 1e5, an int64). */
  stake: bigint | number;
  /** Price per unit in wei (`pricePerUnit / pixelsPerUnit`). */
  price: Rational;
}

function stakeOf(s: bigint | number): number {
  if (typeof s === "bigint") return Number(s);
  if (typeof s !== "number" || !Number.isSafeInteger(s)) {
    throw new InvalidInputError("INVALID_STAKE", "stake must be an integer");
  }
  return s;
}

/**
 * Selection probability of each candidate (go-livepeer `calculateProbabilities`, spec §6.3), in float64
 * as Go does (floats are fine here: this is not money):
 * `priceWeight * pn/Σpn + stakeWeight * stake/Σstake + randWeight / n`, with `pn = exp(-price/priceExpFactor)`
 * and each share 1 when its sum is 0. Results follow the candidates' order. `Math.exp` may differ from
 * Go's `math.Exp` in the last bit.
 * @example calculateProbabilities([{ stake: 100n, price: Rational.of(1n) }, { stake: 300n, price: Rational.of(1n) }], { ...DEFAULT_SELECTION_WEIGHTS, stakeWeight: 1, randWeight: 0 }) // [0.25, 0.75]
 */
export function calculateProbabilities(
  candidates: readonly SelectionCandidate[],
  weights: SelectionWeights = DEFAULT_SELECTION_WEIGHTS,
): number[] {
  const priceNorm = candidates.map((c) =>
    Math.exp((-1 * rationalToFloat64(c.price)) / weights.priceExpFactor),
  );
  const stakes = candidates.map((c) => stakeOf(c.stake));
  let priceSum = 0;
  let stakeSum = 0;
  for (let i = 0; i < candidates.length; i++) {
    priceSum += priceNorm[i]!;
    stakeSum += stakes[i]!;
  }
  const randProb = 1 / candidates.length;
  return candidates.map((_, i) => {
    const priceProb = priceSum !== 0 ? priceNorm[i]! / priceSum : 1;
    const stakeProb = stakeSum !== 0 ? stakes[i]! / stakeSum : 1;
    return weights.priceWeight * priceProb + weights.stakeWeight * stakeProb + weights.randWeight * randProb;
  });
}

/**
 * Index of the first candidate whose cumulative probability reaches `r` (go-livepeer `selectBy`, which
 * walks a Go map in random order; here the order is the array's), 0 if float error leaves none;
 * -1 when there are no candidates.
 * @example pickByProbability([0.2, 0.8], Math.random())
 */
export function pickByProbability(probabilities: readonly number[], r: number): number {
  if (probabilities.length === 0) return -1;
  let cum = 0;
  for (let i = 0; i < probabilities.length; i++) {
    cum += probabilities[i]!;
    if (r <= cum) return i;
  }
  return 0;
}
