import { InvalidInputError } from "../errors.js";
import { Rational } from "../money/rational.js";

const MAX_UINT128 = (1n << 128n) - 1n;

/**
 * A quote's price in wei per unit as an exact rational; throws `INVALID_PRICE` for a zero denominator.
 * @example quotePrice({ priceNum: 3n, priceDen: 2n }).toString() // "3/2"
 */
export function quotePrice(quote: { priceNum: bigint; priceDen: bigint }): Rational {
  if (quote.priceDen <= 0n || quote.priceNum < 0n) {
    throw new InvalidInputError("INVALID_PRICE", "price must be >= 0 with a positive denominator", {
      priceNum: String(quote.priceNum),
      priceDen: String(quote.priceDen),
    });
  }
  return Rational.of(quote.priceNum, quote.priceDen);
}

/**
 * The exact cost of `units` at `price` (wei, rational): what a request adds to the ticket's exact total.
 * @example chargeFor(3n, Rational.of(1n, 2n)).toString() // "3/2"
 */
export function chargeFor(units: bigint, price: Rational): Rational {
  return price.mul(units);
}

/**
 * A quote's maximum charge, `ceil(maxUnits × price)`. Whatever the ticket's exact total before it,
 * a request of at most `maxUnits` raises `ceil(total)` by at most this, because
 * `ceil(a + b) ≤ ceil(a) + ceil(b)`; so approving `cumulativeCharged + maxCharge` always covers it.
 * @example maxChargeFor(256n, Rational.of(1000n, 3n)) // 85334n
 */
export function maxChargeFor(maxUnits: bigint, price: Rational): bigint {
  const m = price.mul(maxUnits).ceil();
  if (m < 0n || m > MAX_UINT128) {
    throw new InvalidInputError("INVALID_PRICE", "maximum charge does not fit in uint128", {
      maxCharge: String(m),
    });
  }
  return m;
}
