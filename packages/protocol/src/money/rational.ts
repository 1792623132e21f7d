import { InvalidInputError } from "../errors.js";

function gcd(a: bigint, b: bigint): bigint {
  a = a < 0n ? -a : a;
  b = b < 0n ? -b : b;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/**
 * An exact rational on bigint, always normalized like Go's `big.Rat`: reduced, denominator > 0,
 * zero is 0/1. Immutable. Amounts of money are `bigint` wei or `Rational` wei, never floats.
 *
 * @example Rational.of(2n, 4n).toString() // "1/2"
 */
export class Rational {
  readonly num: bigint;
  readonly den: bigint;

  private constructor(num: bigint, den: bigint) {
    this.num = num;
    this.den = den;
  }

  static readonly ZERO = new Rational(0n, 1n);
  static readonly ONE = new Rational(1n, 1n);

  /**
   * `num/den`, normalized. Throws on a zero denominator.
   * @example Rational.of(6n, -4n) // -3/2
   */
  static of(num: bigint, den: bigint = 1n): Rational {
    if (den === 0n) throw new InvalidInputError("ZERO_DENOMINATOR", "rational with zero denominator");
    if (num === 0n) return Rational.ZERO;
    if (den < 0n) {
      num = -num;
      den = -den;
    }
    const g = gcd(num, den);
    return g === 1n ? new Rational(num, den) : new Rational(num / g, den / g);
  }

  /**
   * Parses `"a/b"`, `"a"`, or a decimal like `"0.001"` / `"-1.5e3"` exactly (as `big.Rat.SetString`).
   * @example Rational.parse("0.25") // 1/4
   */
  static parse(s: string): Rational {
    const t = s.trim();
    const frac = /^([+-]?\d+)\/(\d+)$/.exec(t);
    if (frac) return Rational.of(BigInt(frac[1]!), BigInt(frac[2]!));
    const dec = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(t);
    if (!dec || (dec[2] === "" && (dec[3] ?? "") === "")) {
      throw new InvalidInputError("INVALID_RATIONAL", "invalid rational number", { value: s.slice(0, 80) });
    }
    const digits = (dec[2] ?? "") + (dec[3] ?? "");
    const exp = -(dec[3] ?? "").length + Number(dec[4] ?? "0");
    if (!Number.isSafeInteger(exp) || Math.abs(exp) > 10_000) {
      throw new InvalidInputError("INVALID_RATIONAL", "rational exponent out of range", {
        value: s.slice(0, 80),
      });
    }
    let num = BigInt(digits === "" ? "0" : digits);
    if (dec[1] === "-") num = -num;
    let den = 1n;
    if (exp >= 0) num *= 10n ** BigInt(exp);
    else den = 10n ** BigInt(-exp);
    return Rational.of(num, den);
  }

  /** @example Rational.from(5n) */
  static from(x: bigint | Rational): Rational {
    return typeof x === "bigint" ? Rational.of(x, 1n) : x;
  }

  add(o: bigint | Rational): Rational {
    const b = Rational.from(o);
    return Rational.of(this.num * b.den + b.num * this.den, this.den * b.den);
  }

  sub(o: bigint | Rational): Rational {
    const b = Rational.from(o);
    return Rational.of(this.num * b.den - b.num * this.den, this.den * b.den);
  }

  mul(o: bigint | Rational): Rational {
    const b = Rational.from(o);
    return Rational.of(this.num * b.num, this.den * b.den);
  }

  div(o: bigint | Rational): Rational {
    const b = Rational.from(o);
    if (b.num === 0n) throw new InvalidInputError("DIVISION_BY_ZERO", "rational division by zero");
    return Rational.of(this.num * b.den, this.den * b.num);
  }

  neg(): Rational {
    return Rational.of(-this.num, this.den);
  }

  /** -1, 0 or 1, like `big.Rat.Cmp`. */
  cmp(o: bigint | Rational): -1 | 0 | 1 {
    const b = Rational.from(o);
    const l = this.num * b.den;
    const r = b.num * this.den;
    return l < r ? -1 : l > r ? 1 : 0;
  }

  eq(o: bigint | Rational): boolean {
    return this.cmp(o) === 0;
  }
  lt(o: bigint | Rational): boolean {
    return this.cmp(o) < 0;
  }
  lte(o: bigint | Rational): boolean {
    return this.cmp(o) <= 0;
  }
  gt(o: bigint | Rational): boolean {
    return this.cmp(o) > 0;
  }
  gte(o: bigint | Rational): boolean {
    return this.cmp(o) >= 0;
  }

  sign(): -1 | 0 | 1 {
    return this.num < 0n ? -1 : this.num > 0n ? 1 : 0;
  }

  isInteger(): boolean {
    return this.den === 1n;
  }

  /** Largest integer <= this. @example Rational.of(-3n, 2n).floor() // -2n */
  floor(): bigint {
    const q = this.num / this.den;
    return this.num < 0n && q * this.den !== this.num ? q - 1n : q;
  }

  /** Smallest integer >= this. @example Rational.of(3n, 2n).ceil() // 2n */
  ceil(): bigint {
    const q = this.num / this.den;
    return this.num > 0n && q * this.den !== this.num ? q + 1n : q;
  }

  /** `"num/den"`, like `big.Rat.RatString`... but always with the denominator, like `big.Rat.String`. */
  toString(): string {
    return `${this.num}/${this.den}`;
  }

  /** Decimal string rounded half away from zero to `digits` places, like `big.Rat.FloatString`. */
  toFixed(digits: number): string {
    const scale = 10n ** BigInt(digits);
    const n = this.num < 0n ? -this.num : this.num;
    let q = (n * scale) / this.den;
    const r = (n * scale) % this.den;
    if (r * 2n >= this.den) q += 1n;
    let s = q.toString();
    if (digits > 0) {
      s = s.padStart(digits + 1, "0");
      s = s.slice(0, -digits) + "." + s.slice(-digits);
    }
    return (this.num < 0n && q !== 0n ? "-" : "") + s;
  }

  toJSON(): string {
    return this.toString();
  }
}

/** The larger of two rationals. @example maxRational(a, b) */
export function maxRational(a: Rational, b: Rational): Rational {
  return a.gte(b) ? a : b;
}

/** The smaller of two rationals. @example minRational(a, b) */
export function minRational(a: Rational, b: Rational): Rational {
  return a.lte(b) ? a : b;
}
