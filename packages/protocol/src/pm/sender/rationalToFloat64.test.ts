import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Rational } from "../../money/rational.js";
import { rationalToFloat64 } from "./rationalToFloat64.js";

/** Exact value of a finite double. */
function exact(x: number): Rational {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(x));
  const bits = view.getBigUint64(0);
  const biased = Number(bits >> 52n);
  const frac = bits & ((1n << 52n) - 1n);
  const mantissa = biased === 0 ? frac : frac | (1n << 52n);
  const e = (biased === 0 ? 1 : biased) - 1075;
  const v = e >= 0 ? Rational.of(mantissa << BigInt(e)) : Rational.of(mantissa, 1n << BigInt(-e));
  return x < 0 ? v.neg() : v;
}

function neighbour(x: number, up: boolean): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  view.setBigUint64(0, up ? bits + 1n : bits - 1n);
  return view.getFloat64(0);
}

const abs = (r: Rational) => (r.sign() < 0 ? r.neg() : r);

describe("rationalToFloat64", () => {
  it("small cases", () => {
    expect(rationalToFloat64(Rational.ZERO)).toBe(0);
    expect(rationalToFloat64(Rational.of(1n, 3n))).toBe(1 / 3);
    expect(rationalToFloat64(Rational.of(-7n, 2n))).toBe(-3.5);
    expect(rationalToFloat64(Rational.of(10n ** 400n))).toBe(Infinity);
    expect(rationalToFloat64(Rational.of(1n, 10n ** 400n))).toBe(0);
    // 2^53 + 1 is a tie between 2^53 and 2^53 + 2: ties go to even.
    expect(rationalToFloat64(Rational.of(2n ** 53n + 1n))).toBe(2 ** 53);
    expect(rationalToFloat64(Rational.of(2n ** 53n + 3n))).toBe(2 ** 53 + 4);
  });

  it("property: the result is the nearest double (ties to even)", () => {
    fc.assert(
      fc.property(fc.bigInt(1n, 1n << 200n), fc.bigInt(1n, 1n << 200n), fc.boolean(), (n, d, neg) => {
        const v = Rational.of(neg ? -n : n, d);
        const x = rationalToFloat64(v);
        const err = abs(exact(x).sub(v));
        for (const y of [neighbour(x, true), neighbour(x, false)]) {
          const other = abs(exact(y).sub(v));
          expect(err.lte(other)).toBe(true);
        }
      }),
    );
  });
});
