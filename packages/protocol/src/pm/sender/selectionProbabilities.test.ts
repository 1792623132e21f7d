import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Rational } from "../../money/rational.js";
import {
  DEFAULT_SELECTION_WEIGHTS,
  calculateProbabilities,
  pickByProbability,
  type SelectionCandidate,
  type SelectionWeights,
} from "./selectionProbabilities.js";

const w = (weights: Partial<SelectionWeights>): SelectionWeights => ({
  stakeWeight: 0,
  priceWeight: 0,
  randWeight: 0,
  priceExpFactor: 100,
  ...weights,
});
const cands = (stakes: number[], prices: (bigint | Rational)[]): SelectionCandidate[] =>
  stakes.map((stake, i) => ({ stake, price: Rational.from(prices[i]!) }));
const round6 = (xs: number[]) => xs.map((x) => Number(x.toFixed(6)));

describe("calculateProbabilities (spec §6.3, §8.1 TestCalculateProbabilities)", () => {
  it("stake 0.3 / price 0.7", () => {
    const p = calculateProbabilities(
      cands([100, 100000, 300], [400n, 700n, 1000n]),
      w({ stakeWeight: 0.3, priceWeight: 0.7 }),
    );
    expect(round6(p)).toEqual([0.66553, 0.331925, 0.002545]);
  });

  it("random weight 1: uniform", () => {
    const p = calculateProbabilities(cands([100, 100000, 300], [400n, 700n, 1000n]), w({ randWeight: 1 }));
    expect(round6(p)).toEqual([0.333333, 0.333333, 0.333333]);
  });

  it("price weight 1 with one very expensive orchestrator", () => {
    const p = calculateProbabilities(
      cands([100, 100000, 300], [1n, 1n, 100_000_000n]),
      w({ priceWeight: 1 }),
    );
    expect(round6(p)).toEqual([0.5, 0.5, 0]);
  });

  it("stake weight 1", () => {
    const p = calculateProbabilities(cands([100, 100, 800], [400n, 700n, 1000n]), w({ stakeWeight: 1 }));
    expect(round6(p)).toEqual([0.1, 0.1, 0.8]);
  });

  it("zero sums give each share 1; bigint stakes; fractional prices", () => {
    expect(calculateProbabilities(cands([0, 0], [0n, 0n]), w({ stakeWeight: 1 }))).toEqual([1, 1]);
    const p = calculateProbabilities(
      [
        { stake: 1n, price: Rational.of(1n, 3n) },
        { stake: 3n, price: Rational.of(10n ** 40n, 3n) },
      ],
      w({ stakeWeight: 0.5, priceWeight: 0.5 }),
    );
    expect(round6(p)).toEqual([0.625, 0.375]);
    expect(DEFAULT_SELECTION_WEIGHTS).toEqual({
      stakeWeight: 0.7,
      priceWeight: 0,
      randWeight: 0.3,
      priceExpFactor: 100,
    });
  });

  it("property: with weights summing to 1, probabilities sum to 1", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 1e9 }), fc.bigInt(0n, 10_000n)), {
          minLength: 1,
          maxLength: 10,
        }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (cs, a, b) => {
          const [lo, hi] = a < b ? [a, b] : [b, a];
          const probs = calculateProbabilities(
            cs.map(([stake, price]) => ({ stake, price: Rational.from(price) })),
            w({ stakeWeight: lo, priceWeight: hi - lo, randWeight: 1 - hi }),
          );
          expect(probs.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 9);
        },
      ),
    );
  });
});

describe("pickByProbability", () => {
  it("returns the first index whose cumulative probability reaches r", () => {
    expect(pickByProbability([0.2, 0.3, 0.5], 0)).toBe(0);
    expect(pickByProbability([0.2, 0.3, 0.5], 0.2)).toBe(0);
    expect(pickByProbability([0.2, 0.3, 0.5], 0.21)).toBe(1);
    expect(pickByProbability([0.2, 0.3, 0.5], 0.99)).toBe(2);
    expect(pickByProbability([0.2, 0.3], 0.99)).toBe(0);
    expect(pickByProbability([], 0.5)).toBe(-1);
  });
});
