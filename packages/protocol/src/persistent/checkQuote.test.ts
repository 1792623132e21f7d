import { describe, expect, it } from "vitest";
import { Rational } from "../money/rational.js";
import { checkQuote, type QuoteCheckContext } from "./checkQuote.js";
import { QuoteCheckError } from "./errors.js";
import { makeQuote } from "./makeQuote.js";
import { quoteHash, signQuote, type Quote } from "./quote.js";
import { jsonRequestHash } from "./requestHash.js";
import { ADDR, KEYS, TEST_DOMAIN } from "./testFixtures.js";

const request = { model: "llama", messages: [{ role: "user", content: "hi" }], max_tokens: 100 };
const quote = makeQuote({
  payee: ADDR.payee,
  payer: ADDR.payer,
  ticketId: 4n,
  quoteId: `0x${"01".repeat(32)}`,
  requestHash: jsonRequestHash(request),
  capability: "llm",
  model: "llama",
  price: Rational.of(10n, 3n),
  estUnits: 50n,
  maxUnits: 100n,
  expiry: 2000n,
});
const ctx: QuoteCheckContext = {
  domain: TEST_DOMAIN,
  payer: ADDR.payer,
  payeeSigningKey: ADDR.signing,
  requestHash: jsonRequestHash(request),
  nowSeconds: 1000n,
  ticketId: 4n,
  capability: "llm",
  request,
};

const code = (q: Quote, c: QuoteCheckContext = ctx, key: `0x${string}` = KEYS.signing): string => {
  try {
    checkQuote({ quote: q, signature: signQuote(TEST_DOMAIN, q, key) }, c);
    return "ACCEPTED";
  } catch (e) {
    if (e instanceof QuoteCheckError) return e.code;
    throw e;
  }
};

describe("the payer's quote check", () => {
  it("accepts a consistent quote and returns its hash; maxCharge is ceil(maxUnits × price)", () => {
    expect(quote.maxCharge).toBe(334n);
    expect(quote.unit).toBe("token");
    expect(checkQuote({ quote, signature: signQuote(TEST_DOMAIN, quote, KEYS.signing) }, ctx)).toBe(
      quoteHash(TEST_DOMAIN, quote),
    );
  });

  it("names each inconsistency", () => {
    expect(code(quote, ctx, KEYS.payee)).toBe("QUOTE_SIGNER_MISMATCH");
    expect(code({ ...quote, payer: ADDR.other })).toBe("QUOTE_PAYER_MISMATCH");
    expect(code({ ...quote, ticketId: 5n })).toBe("QUOTE_TICKET_MISMATCH");
    expect(code({ ...quote, requestHash: jsonRequestHash({ ...request, max_tokens: 101 }) })).toBe(
      "QUOTE_REQUEST_MISMATCH",
    );
    expect(code(quote, { ...ctx, nowSeconds: 2000n })).toBe("QUOTE_EXPIRED");
    expect(code({ ...quote, capability: "mining" })).toBe("QUOTE_UNKNOWN_CAPABILITY");
    expect(code({ ...quote, capability: "text-to-image", unit: "pixel" })).toBe("QUOTE_CAPABILITY_MISMATCH");
    expect(code({ ...quote, unit: "char" })).toBe("QUOTE_UNIT_MISMATCH");
    expect(code({ ...quote, model: "gpt-5" })).toBe("QUOTE_MODEL_MISMATCH");
    expect(code({ ...quote, priceDen: 0n })).toBe("QUOTE_INVALID_PRICE");
    expect(code({ ...quote, estUnits: 101n })).toBe("QUOTE_UNITS_INCONSISTENT");
    expect(code({ ...quote, maxUnits: 101n, maxCharge: 337n })).toBe("QUOTE_MAX_UNITS_ABOVE_REQUEST");
    expect(code({ ...quote, maxCharge: 335n })).toBe("QUOTE_MAX_CHARGE_MISMATCH");
    expect(code({ ...quote, maxCharge: 333n })).toBe("QUOTE_MAX_CHARGE_MISMATCH");
    expect(() => checkQuote({ quote, signature: `0x${"00".repeat(65)}` }, ctx)).toThrow(
      expect.objectContaining({ code: "QUOTE_SIGNATURE_INVALID" }),
    );
  });

  it("without a request limit, the payee's maxUnits stands", () => {
    const { max_tokens: _drop, ...open } = request;
    const q = {
      ...quote,
      requestHash: jsonRequestHash(open),
      maxUnits: 4096n,
      maxCharge: Rational.of(10n, 3n).mul(4096n).ceil(),
    };
    expect(code(q, { ...ctx, request: open, requestHash: jsonRequestHash(open) })).toBe("ACCEPTED");
  });
});
