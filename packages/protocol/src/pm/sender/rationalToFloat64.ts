import type { Rational } from "../../money/rational.js";

const TWO_POW_1000 = 2 ** 1000;

/**
 * The float64 nearest to a rational, like Go's `big.Rat.Float64` (exact to the last bit for normal
 * results): a 55+ bit quotient with a sticky bit is rounded once by `Number()`, then scaled by a power
 * of two. Plain `Number(num) / Number(den)` rounds three times and can be off by an ulp. Subnormal
 * results may be off by one ulp (double rounding); prices never get there.
 * @example rationalToFloat64(Rational.of(1n, 3n)) // 0.3333333333333333
 */
export function rationalToFloat64(r: Rational): number {
  if (r.num === 0n) return 0;
  const neg = r.num < 0n;
  const n = neg ? -r.num : r.num;
  const d = r.den;
  // Choose k so that floor(n * 2^k / d) has at least 55 significant bits.
  const k = 55 - (n.toString(2).length - d.toString(2).length);
  const scaledN = k >= 0 ? n << BigInt(k) : n;
  const scaledD = k >= 0 ? d : d << BigInt(-k);
  const q = scaledN / scaledD;
  const sticky = scaledN % scaledD === 0n ? 0n : 1n;
  let x = Number((q << 1n) | sticky);
  let e = -(k + 1);
  while (e > 1000) {
    x *= TWO_POW_1000;
    e -= 1000;
  }
  while (e < -1000) {
    x /= TWO_POW_1000;
    e += 1000;
  }
  x *= 2 ** e;
  return neg ? -x : x;
}
