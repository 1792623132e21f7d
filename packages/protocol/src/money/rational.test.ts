import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../errors.js";
import { Rational, maxRational, minRational } from "./rational.js";

const big = fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n });
const nonZero = big.filter((x) => x !== 0n);
const rat = fc.tuple(big, nonZero).map(([n, d]) => Rational.of(n, d));

function gcd(a: bigint, b: bigint): bigint {
  a = a < 0n ? -a : a;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

describe("Rational", () => {
  it("normalizes like big.Rat: reduced, positive denominator, zero is 0/1", () => {
    expect(Rational.of(2n, 4n).toString()).toBe("1/2");
    expect(Rational.of(6n, -4n).toString()).toBe("-3/2");
    expect(Rational.of(0n, -7n).toString()).toBe("0/1");
    expect(() => Rational.of(1n, 0n)).toThrow(InvalidInputError);
    fc.assert(
      fc.property(rat, (r) => {
        expect(r.den > 0n).toBe(true);
        expect(gcd(r.num, r.den)).toBe(r.num === 0n ? r.den : 1n);
      }),
    );
  });

  it("field laws hold exactly", () => {
    fc.assert(
      fc.property(rat, rat, rat, (a, b, c) => {
        expect(a.add(b).eq(b.add(a))).toBe(true);
        expect(a.mul(b.add(c)).eq(a.mul(b).add(a.mul(c)))).toBe(true);
        expect(a.add(b).sub(b).eq(a)).toBe(true);
        if (b.sign() !== 0) expect(a.mul(b).div(b).eq(a)).toBe(true);
        expect(a.neg().add(a).eq(0n)).toBe(true);
      }),
    );
  });

  it("floor <= x <= ceil, and they differ by 1 exactly when x is not an integer", () => {
    fc.assert(
      fc.property(rat, (x) => {
        const f = x.floor();
        const c = x.ceil();
        expect(Rational.of(f).lte(x)).toBe(true);
        expect(Rational.of(c).gte(x)).toBe(true);
        expect(c - f).toBe(x.isInteger() ? 0n : 1n);
        expect(x.sub(f).lt(1n)).toBe(true);
      }),
    );
  });

  it("compares consistently with subtraction", () => {
    fc.assert(
      fc.property(rat, rat, (a, b) => {
        expect(a.cmp(b)).toBe(a.sub(b).sign());
        expect(maxRational(a, b).gte(minRational(a, b))).toBe(true);
      }),
    );
  });

  it("parses decimals, fractions and exponents exactly", () => {
    expect(Rational.parse("0.25").toString()).toBe("1/4");
    expect(Rational.parse("1200").toString()).toBe("1200/1");
    expect(Rational.parse("-1.5e3").toString()).toBe("-1500/1");
    expect(Rational.parse("3/6").toString()).toBe("1/2");
    expect(Rational.parse("1e-18").toString()).toBe("1/1000000000000000000");
    for (const bad of ["", "abc", "1/0", "1.2.3", "0x10", "1e99999"]) {
      expect(() => Rational.parse(bad)).toThrow(InvalidInputError);
    }
    fc.assert(
      fc.property(rat, (r) => {
        expect(Rational.parse(r.toString()).eq(r)).toBe(true);
      }),
    );
  });

  it("formats like big.Rat.FloatString (half away from zero)", () => {
    expect(Rational.of(1n, 2n).toFixed(0)).toBe("1");
    expect(Rational.of(-1n, 2n).toFixed(0)).toBe("-1");
    expect(Rational.of(1n, 3n).toFixed(5)).toBe("0.33333");
    expect(Rational.of(2n, 3n).toFixed(5)).toBe("0.66667");
    expect(Rational.of(-1n, 1000000n).toFixed(5)).toBe("0.00000");
    expect(Rational.of(8_000_000_000n).toFixed(5)).toBe("8000000000.00000");
  });
});
