import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bytesToHex, hexToBytes, type Hex } from "../bytes/hex.js";
import { Rational } from "../money/rational.js";
import { checkReceipt, unitsWithinTolerance, type ReceiptCheckContext } from "./checkReceipt.js";
import { ReceiptCheckError } from "./errors.js";
import { receiptHash, signReceipt, type Receipt, type SignedReceipt } from "./receipt.js";
import { ADDR, KEYS, SALT, TEST_DOMAIN, payeeServes, payerApproves, testQuote } from "./testFixtures.js";
import { applyReceipt, chargeTicket, openTicket, type TicketState } from "./ticketState.js";

type Field = keyof Receipt;
const FIELDS: Field[] = [
  "payee",
  "payer",
  "ticketId",
  "epoch",
  "seq",
  "quoteHash",
  "units",
  "charge",
  "cumulativeCharged",
  "inputHash",
  "outputHash",
  "prevReceiptHash",
];

/** A different, well-formed value for a field. */
function tamper(r: Receipt, field: Field, delta: bigint, bit: number): Receipt {
  const v = r[field];
  if (typeof v === "bigint") {
    const bits =
      field === "ticketId" ? 256n : field === "charge" || field === "cumulativeCharged" ? 128n : 64n;
    const up = v + delta;
    return { ...r, [field]: up >> bits === 0n ? up : v - delta >= 0n ? v - delta : v ^ 1n };
  }
  const b = hexToBytes(v);
  b[bit % b.length]! ^= 1 << (bit % 8);
  return { ...r, [field]: bytesToHex(b) };
}

/** A ticket with `history` honest requests behind it, then one more served: the receipt under test. */
function scenario(history: number, units: bigint) {
  let payer: TicketState = openTicket({ payer: ADDR.payer, payee: ADDR.payee, ticketId: 3n, epoch: 2n });
  let payee = payer;
  const price = Rational.of(7n, 3n);
  for (let i = 0; i < history; i++) {
    const q = testQuote(3n, price, 100n);
    const a = payerApproves(payer, q);
    const s = payeeServes(payee, q, a.voucher, a.sig.signature, 40n);
    payee = s.state;
    payer = checkReceipt(a.state, s.signed, {
      domain: TEST_DOMAIN,
      payeeSigningKey: ADDR.signing,
      quote: q.quote,
    }).state;
  }
  const q = testQuote(3n, price, 100n);
  const a = payerApproves(payer, q);
  const served = payeeServes(payee, q, a.voucher, a.sig.signature, units);
  const ctx: ReceiptCheckContext = {
    domain: TEST_DOMAIN,
    payeeSigningKey: ADDR.signing,
    quote: q.quote,
    observedUnits: units,
    inputContent: new Uint8Array([1]),
    outputContent: new Uint8Array([2]),
  };
  return { state: a.state, signed: served.signed, ctx };
}

const resign = (r: Receipt, key: Hex = KEYS.signing): SignedReceipt => ({
  receipt: r,
  signature: signReceipt(TEST_DOMAIN, r, key),
  salt: SALT,
});

const code = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof ReceiptCheckError) return e.code;
    throw e;
  }
  return "ACCEPTED";
};

const arbCase = fc.record({
  history: fc.integer({ min: 0, max: 3 }),
  units: fc.bigInt({ min: 0n, max: 100n }),
  field: fc.constantFrom(...FIELDS),
  delta: fc.bigInt({ min: 1n, max: 1n << 70n }),
  bit: fc.integer({ min: 0, max: 255 }),
});

describe("the payer's receipt check", () => {
  it("accepts the honest receipt", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 }), fc.bigInt({ min: 0n, max: 100n }), (h, u) => {
        const { state, signed, ctx } = scenario(h, u);
        const next = checkReceipt(state, signed, ctx);
        expect(next.state.seq).toBe(BigInt(h + 1));
        expect(next.receiptHash).toBe(receiptHash(TEST_DOMAIN, signed.receipt));
      }),
      { numRuns: 20 },
    );
  });

  it("rejects any single-field tampering of a receipt (signature then no longer matches)", () => {
    fc.assert(
      fc.property(arbCase, ({ history, units, field, delta, bit }) => {
        const { state, signed, ctx } = scenario(history, units);
        const forged = { ...signed, receipt: tamper(signed.receipt, field, delta, bit) };
        expect(code(() => checkReceipt(state, forged, ctx))).toBe("RECEIPT_SIGNER_MISMATCH");
      }),
      { numRuns: 150 },
    );
  });

  it("rejects single-field tampering even when the payee re-signs it (a dishonest payee)", () => {
    fc.assert(
      fc.property(arbCase, ({ history, units, field, delta, bit }) => {
        const { state, signed, ctx } = scenario(history, units);
        const r = signed.receipt;
        // Fewer units than measured only favours the payer and can be invisible under the ceil rule:
        // the check is an upper bound, so tamper units upward.
        const forged =
          field === "units" ? { ...r, units: r.units + (delta % 1000n) + 1n } : tamper(r, field, delta, bit);
        expect(code(() => checkReceipt(state, resign(forged), ctx))).not.toBe("ACCEPTED");
      }),
      { numRuns: 200 },
    );
  });

  it("rejects a receipt signed by any key but the payee's registered signing key, and a tampered salt", () => {
    const { state, signed, ctx } = scenario(1, 10n);
    expect(code(() => checkReceipt(state, resign(signed.receipt, KEYS.payee), ctx))).toBe(
      "RECEIPT_SIGNER_MISMATCH",
    );
    expect(code(() => checkReceipt(state, { ...signed, signature: `0x${"00".repeat(65)}` }, ctx))).toBe(
      "RECEIPT_SIGNATURE_INVALID",
    );
    expect(code(() => checkReceipt(state, { ...signed, salt: `0x${"5b".repeat(32)}` }, ctx))).toBe(
      "RECEIPT_INPUT_MISMATCH",
    );
  });

  it("names each violation of a dishonest payee", () => {
    const { state, signed, ctx } = scenario(2, 50n);
    const r = signed.receipt;
    const q = ctx.quote;
    const check = (x: Receipt, c: ReceiptCheckContext = ctx) => code(() => checkReceipt(state, resign(x), c));
    // Charge above the quote, with a consistent cumulative: what the payee would need to take more.
    expect(
      check({
        ...r,
        charge: q.maxCharge + 1n,
        cumulativeCharged: state.cumulativeCharged + q.maxCharge + 1n,
      }),
    ).toBe("RECEIPT_CHARGE_ABOVE_QUOTE");
    expect(check({ ...r, units: q.maxUnits + 1n })).toBe("RECEIPT_UNITS_ABOVE_MAX");
    expect(check({ ...r, prevReceiptHash: `0x${"00".repeat(32)}` })).toBe("RECEIPT_CHAIN_BROKEN");
    expect(check({ ...r, seq: r.seq + 1n })).toBe("RECEIPT_SEQ_NOT_NEXT");
    expect(check({ ...r, quoteHash: `0x${"99".repeat(32)}` })).toBe("RECEIPT_QUOTE_MISMATCH");
    expect(check({ ...r, ticketId: 4n })).toBe("RECEIPT_TICKET_MISMATCH");
    expect(check({ ...r, cumulativeCharged: r.cumulativeCharged + 1n })).toBe("RECEIPT_CUMULATIVE_MISMATCH");
    expect(check({ ...r, charge: r.charge + 1n, cumulativeCharged: r.cumulativeCharged + 1n })).toBe(
      "RECEIPT_ROUNDING_MISMATCH",
    );
    // Claiming 60 units, consistently charged by the ceil rule, when 50 arrived.
    const c60 = chargeTicket(state, 60n, Rational.of(7n, 3n));
    const inflated = { ...r, units: 60n, charge: c60.charge, cumulativeCharged: c60.cumulativeCharged };
    expect(check(inflated)).toBe("RECEIPT_UNITS_IMPLAUSIBLE");
    expect(check(inflated, { ...ctx, tolerance: { ratio: Rational.parse("0.2"), slack: 0n } })).toBe(
      "ACCEPTED",
    );
    expect(check({ ...r, outputHash: `0x${"12".repeat(32)}` })).toBe("RECEIPT_OUTPUT_MISMATCH");
    expect(check({ ...r, inputHash: `0x${"12".repeat(32)}` })).toBe("RECEIPT_INPUT_MISMATCH");
  });

  it("applyReceipt refuses a receipt the voucher does not cover", () => {
    const { state, signed, ctx } = scenario(0, 50n);
    const low = { ...state, signedCumulative: signed.receipt.cumulativeCharged - 1n };
    expect(
      code(() => applyReceipt(low, ctx.quote, signed.receipt, receiptHash(TEST_DOMAIN, signed.receipt))),
    ).toBe("RECEIPT_ABOVE_APPROVAL");
  });

  it("unitsWithinTolerance: observed × (1 + ratio) + slack, rounded up", () => {
    expect(unitsWithinTolerance(110n, 100n, { ratio: Rational.parse("0.1"), slack: 0n })).toBe(true);
    expect(unitsWithinTolerance(111n, 100n, { ratio: Rational.parse("0.1"), slack: 0n })).toBe(false);
    expect(unitsWithinTolerance(3n, 1n, { ratio: Rational.parse("0.5"), slack: 1n })).toBe(true);
    expect(unitsWithinTolerance(4n, 1n, { ratio: Rational.parse("0.5"), slack: 1n })).toBe(false);
  });
});
