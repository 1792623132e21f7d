import { normalizeAddress } from "../bytes/address.js";
import type { Hex } from "../bytes/hex.js";
import { InvalidInputError } from "../errors.js";
import type { Rational } from "../money/rational.js";
import { maxChargeFor } from "./charge.js";
import type { Quote } from "./quote.js";
import { UNIT_TABLE, type Pipeline } from "./units.js";

/** What a payee decides for a quote; `makeQuote` derives the unit and the maximum charge. */
export interface QuoteOffer {
  payee: Hex;
  payer: Hex;
  ticketId: bigint;
  quoteId: Hex;
  requestHash: Hex;
  capability: Pipeline;
  model: string;
  /** Wei per unit, exact (e.g. from the price sheet). */
  price: Rational;
  estUnits: bigint;
  maxUnits: bigint;
  /** Unix seconds. */
  expiry: bigint;
}

const U64 = 1n << 64n;

/**
 * Builds a quote with the unit of the capability's pipeline and `maxCharge = ceil(maxUnits × price)`,
 * the only maximum a payer accepts. Throws `InvalidInputError` for a negative price, `estUnits >
 * maxUnits` or values that do not fit their uint widths.
 * @example signQuote(domain, makeQuote({ ...offer, capability: "llm", maxUnits: 256n }), signingKey)
 */
export function makeQuote(offer: QuoteOffer): Quote {
  const { price, estUnits, maxUnits, expiry } = offer;
  if (price.sign() < 0) throw new InvalidInputError("INVALID_PRICE", "price must be >= 0");
  if (price.num >> 128n !== 0n || price.den >> 128n !== 0n) {
    throw new InvalidInputError("INVALID_PRICE", "price numerator and denominator must fit in uint128");
  }
  for (const [field, v] of [
    ["estUnits", estUnits],
    ["maxUnits", maxUnits],
    ["expiry", expiry],
  ] as const) {
    if (v < 0n || v >= U64)
      throw new InvalidInputError("INVALID_QUOTE", `${field} must fit in uint64`, { field });
  }
  if (estUnits > maxUnits) throw new InvalidInputError("INVALID_QUOTE", "estUnits exceeds maxUnits");
  const unit = UNIT_TABLE[offer.capability]?.unit;
  if (!unit) throw new InvalidInputError("UNKNOWN_PIPELINE", "capability is not in the unit table");
  return {
    payee: normalizeAddress(offer.payee),
    payer: normalizeAddress(offer.payer),
    ticketId: offer.ticketId,
    quoteId: offer.quoteId.toLowerCase() as Hex,
    requestHash: offer.requestHash.toLowerCase() as Hex,
    capability: offer.capability,
    model: offer.model,
    unit,
    priceNum: price.num,
    priceDen: price.den,
    estUnits,
    maxUnits,
    maxCharge: maxChargeFor(maxUnits, price),
    expiry,
  };
}
