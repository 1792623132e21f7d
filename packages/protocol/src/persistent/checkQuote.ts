import { normalizeAddress } from "../bytes/address.js";
import { hexToBytes, type Hex } from "../bytes/hex.js";
import { LivepayError } from "../errors.js";
import { maxChargeFor, quotePrice } from "./charge.js";
import type { Eip712Domain } from "./eip712.js";
import { QuoteCheckError } from "./errors.js";
import { recoverTypedSigner } from "./compactSignature.js";
import { quoteHash, type SignedQuote } from "./quote.js";
import { isPipeline, requestUnitBound, UNIT_TABLE } from "./units.js";

/** What the payer knows when a quote arrives. */
export interface QuoteCheckContext {
  domain: Eip712Domain;
  /** The payer's address (the account whose deposit pays). */
  payer: Hex;
  /** The payee's registered quote/receipt signing key (`signingKeyOf(payee)`, or the payee itself). */
  payeeSigningKey: Hex;
  /** requestHash recomputed from the request the client sent. */
  requestHash: Hex;
  /** Current time, unix seconds. */
  nowSeconds: bigint;
  /** The ticket the payer asked for, when it asked for one. */
  ticketId?: bigint;
  /** The capability implied by the endpoint called (e.g. "llm" for /v1/chat/completions), if known. */
  capability?: string;
  /** The parsed JSON request body: its `model` and unit limits must match the quote. */
  request?: unknown;
}

function fail(code: string, message: string, details: Record<string, unknown> = {}): QuoteCheckError {
  return new QuoteCheckError(code, message, details);
}

/**
 * The checks a payer runs on a quote before signing for it, in this order: payee signature
 * (`QUOTE_SIGNER_MISMATCH`), payer (`QUOTE_PAYER_MISMATCH`), ticket (`QUOTE_TICKET_MISMATCH`),
 * request binding (`QUOTE_REQUEST_MISMATCH`), expiry (`QUOTE_EXPIRED`), capability and unit
 * (`QUOTE_UNKNOWN_CAPABILITY`, `QUOTE_CAPABILITY_MISMATCH`, `QUOTE_UNIT_MISMATCH`), model
 * (`QUOTE_MODEL_MISMATCH`), price (`QUOTE_INVALID_PRICE`), units (`QUOTE_UNITS_INCONSISTENT`,
 * `QUOTE_MAX_UNITS_ABOVE_REQUEST`), and `maxCharge = ceil(maxUnits × price)` (`QUOTE_MAX_CHARGE_MISMATCH`).
 * Returns the quote hash. Spending policy (limits, allowed payees/models) is the client's, on top.
 * @example const qh = checkQuote(signed, { domain, payer, payeeSigningKey, requestHash, nowSeconds });
 */
export function checkQuote(signed: SignedQuote, ctx: QuoteCheckContext): Hex {
  const q = signed.quote;
  const hash = quoteHash(ctx.domain, q);
  let signer: Hex;
  try {
    signer = recoverTypedSigner(hexToBytes(hash), signed.signature);
  } catch (e) {
    throw fail("QUOTE_SIGNATURE_INVALID", "quote signature is invalid", {
      reason: e instanceof LivepayError ? e.code : String(e),
    });
  }
  const key = normalizeAddress(ctx.payeeSigningKey);
  if (signer !== key) {
    throw fail("QUOTE_SIGNER_MISMATCH", "quote is not signed by the payee's signing key", {
      signer,
      expected: key,
    });
  }
  if (normalizeAddress(q.payer) !== normalizeAddress(ctx.payer)) {
    throw fail("QUOTE_PAYER_MISMATCH", "quote is for another payer", { payer: q.payer, expected: ctx.payer });
  }
  if (ctx.ticketId !== undefined && q.ticketId !== ctx.ticketId) {
    throw fail("QUOTE_TICKET_MISMATCH", "quote is for another ticket", {
      ticketId: String(q.ticketId),
      expected: String(ctx.ticketId),
    });
  }
  if (q.requestHash.toLowerCase() !== ctx.requestHash.toLowerCase()) {
    throw fail("QUOTE_REQUEST_MISMATCH", "quote is not for the request that was sent", {
      requestHash: q.requestHash,
      expected: ctx.requestHash,
    });
  }
  if (q.expiry <= ctx.nowSeconds) {
    throw fail("QUOTE_EXPIRED", "quote has expired", {
      expiry: String(q.expiry),
      now: String(ctx.nowSeconds),
    });
  }
  if (!isPipeline(q.capability)) {
    throw fail("QUOTE_UNKNOWN_CAPABILITY", "quote capability is not in the unit table", {
      capability: q.capability,
    });
  }
  if (ctx.capability !== undefined && ctx.capability !== q.capability) {
    throw fail("QUOTE_CAPABILITY_MISMATCH", "quote capability does not match the endpoint called", {
      capability: q.capability,
      expected: ctx.capability,
    });
  }
  if (q.unit !== UNIT_TABLE[q.capability].unit) {
    throw fail("QUOTE_UNIT_MISMATCH", "quote unit is not the unit of its capability", {
      unit: q.unit,
      expected: UNIT_TABLE[q.capability].unit,
    });
  }
  const req = ctx.request as Record<string, unknown> | undefined;
  if (req && typeof req === "object" && typeof req.model === "string" && req.model !== q.model) {
    throw fail("QUOTE_MODEL_MISMATCH", "quote model is not the model requested", {
      model: q.model,
      expected: req.model,
    });
  }
  if (q.priceDen === 0n) throw fail("QUOTE_INVALID_PRICE", "quote price has a zero denominator");
  const price = quotePrice(q);
  if (q.estUnits > q.maxUnits) {
    throw fail("QUOTE_UNITS_INCONSISTENT", "quote estUnits exceeds maxUnits", {
      estUnits: String(q.estUnits),
      maxUnits: String(q.maxUnits),
    });
  }
  if (ctx.request !== undefined) {
    let bound: bigint | undefined;
    try {
      bound = requestUnitBound(q.capability, ctx.request);
    } catch {
      bound = undefined; // a request the payee accepted but we cannot bound: maxUnits is then the payee's cap
    }
    if (bound !== undefined && q.maxUnits > bound) {
      throw fail("QUOTE_MAX_UNITS_ABOVE_REQUEST", "quote maxUnits exceeds what the request allows", {
        maxUnits: String(q.maxUnits),
        bound: String(bound),
      });
    }
  }
  const expected = maxChargeFor(q.maxUnits, price);
  if (q.maxCharge !== expected) {
    throw fail("QUOTE_MAX_CHARGE_MISMATCH", "quote maxCharge is not ceil(maxUnits × price)", {
      maxCharge: String(q.maxCharge),
      expected: String(expected),
    });
  }
  return hash;
}
