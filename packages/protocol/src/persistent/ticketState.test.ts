import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Rational } from "../money/rational.js";
import { approvalFor } from "./approval.js";
import { chargeFor, maxChargeFor } from "./charge.js";
import { checkReceipt } from "./checkReceipt.js";
import { VoucherRejectedError } from "./errors.js";
import { ADDR, payeeServes, payerApproves, testQuote, TEST_DOMAIN } from "./testFixtures.js";
import { applyVoucher, chargeTicket, openTicket, ticketCredit, type TicketState } from "./ticketState.js";

const arbPrice = fc
  .tuple(fc.bigInt({ min: 0n, max: 10n ** 15n }), fc.bigInt({ min: 1n, max: 10n ** 6n }))
  .map(([n, d]) => Rational.of(n, d));

// One request: a price, a maximum, and the fraction of it actually produced.
const arbRequest = fc.record({
  price: arbPrice,
  maxUnits: fc.bigInt({ min: 0n, max: 100_000n }),
  used: fc.double({ min: 0, max: 1, noNaN: true }),
});

const fresh = () => openTicket({ payer: ADDR.payer, payee: ADDR.payee, ticketId: 7n, epoch: 0n });

describe("ticket state", () => {
  it("a fresh ticket has no credit, nothing charged, no receipt", () => {
    const s = fresh();
    expect(ticketCredit(s)).toBe(0n);
    expect(s.cumulativeCharged).toBe(0n);
    expect(s.seq).toBe(0n);
    expect(s.lastReceiptHash).toBe(`0x${"0".repeat(64)}`);
  });

  it("chargeTicket: the ceil rule costs under 1 wei per ticket, not per request", () => {
    // 1000 requests of 1 unit at 1/3 wei: per-request rounding would charge 1000 wei, the ticket 334.
    let s = fresh();
    const third = Rational.of(1n, 3n);
    for (let i = 0; i < 1000; i++) {
      const c = chargeTicket(s, 1n, third);
      s = { ...s, chargedExact: c.chargedExact, cumulativeCharged: c.cumulativeCharged };
    }
    expect(s.cumulativeCharged).toBe(334n);
    expect(s.chargedExact.toString()).toBe("1000/3");
  });

  it("over any sequence of requests, payee and payer agree, cumulativeCharged == ceil(Σ exact) and the loss < 1 wei", () => {
    fc.assert(
      fc.property(fc.array(arbRequest, { maxLength: 12 }), (requests) => {
        let payer = fresh();
        let payee = fresh();
        let exact = Rational.ZERO;
        for (const req of requests) {
          const q = testQuote(payer.ticketId, req.price, req.maxUnits);
          const a = payerApproves(payer, q);
          // Approval-sizing rule: never more than one request's maximum beyond what receipts justify.
          expect(a.voucher.cumulativeAmount - payer.cumulativeCharged).toBeLessThanOrEqual(
            q.quote.maxCharge > ticketCredit(payer) ? q.quote.maxCharge : ticketCredit(payer),
          );
          const units = BigInt(Math.floor(Number(req.maxUnits) * req.used));
          const served = payeeServes(payee, q, a.voucher, a.sig.signature, units);
          payee = served.state;
          payer = checkReceipt(a.state, served.signed, {
            domain: TEST_DOMAIN,
            payeeSigningKey: ADDR.signing,
            quote: q.quote,
            observedUnits: units,
          }).state;
          exact = exact.add(chargeFor(units, req.price));
          expect(payer.cumulativeCharged).toBe(exact.ceil());
          expect(payer.chargedExact.eq(exact)).toBe(true);
          const loss = Rational.from(payer.cumulativeCharged).sub(exact);
          expect(loss.sign() >= 0 && loss.lt(1n)).toBe(true);
          expect(payer.signedCumulative).toBeGreaterThanOrEqual(payer.cumulativeCharged);
          expect(payee.cumulativeCharged).toBe(payer.cumulativeCharged);
          expect(payee.lastReceiptHash).toBe(payer.lastReceiptHash);
        }
      }),
      { numRuns: 60 },
    );
  });

  it("the exposure (credit) never exceeds the largest maxCharge approved on the ticket", () => {
    fc.assert(
      fc.property(fc.array(arbRequest, { minLength: 1, maxLength: 10 }), (requests) => {
        let payer = fresh();
        let payee = fresh();
        let largest = 0n;
        for (const req of requests) {
          const q = testQuote(payer.ticketId, req.price, req.maxUnits);
          largest = q.quote.maxCharge > largest ? q.quote.maxCharge : largest;
          const a = payerApproves(payer, q);
          // In flight (receipt not yet received) the payee could claim signed − charged: bounded.
          expect(ticketCredit(a.state)).toBeLessThanOrEqual(largest);
          const units = BigInt(Math.floor(Number(req.maxUnits) * req.used));
          const served = payeeServes(payee, q, a.voucher, a.sig.signature, units);
          payee = served.state;
          payer = checkReceipt(a.state, served.signed, {
            domain: TEST_DOMAIN,
            payeeSigningKey: ADDR.signing,
            quote: q.quote,
          }).state;
          expect(ticketCredit(payer)).toBeLessThanOrEqual(largest);
        }
      }),
      { numRuns: 60 },
    );
  });

  it("approvalFor = max(signed, charged + maxCharge); maxCharge = ceil(maxUnits × price)", () => {
    const s: TicketState = {
      ...fresh(),
      signedCumulative: 500n,
      cumulativeCharged: 100n,
      chargedExact: Rational.of(100n),
    };
    expect(approvalFor(s, { maxCharge: 300n })).toBe(500n);
    expect(approvalFor(s, { maxCharge: 450n })).toBe(550n);
    expect(maxChargeFor(256n, Rational.of(1000n, 3n))).toBe(85334n);
    expect(maxChargeFor(0n, Rational.of(7n))).toBe(0n);
  });

  it("applyVoucher: amounts only grow and the ticket binds to its first signer", () => {
    const s = applyVoucher(fresh(), {
      cumulativeAmount: 10n,
      quoteHash: `0x${"01".repeat(32)}`,
      signer: ADDR.payer,
    });
    expect(() =>
      applyVoucher(s, { cumulativeAmount: 9n, quoteHash: `0x${"02".repeat(32)}`, signer: ADDR.payer }),
    ).toThrow(expect.objectContaining({ code: "VOUCHER_NOT_MONOTONIC" }));
    expect(() =>
      applyVoucher(s, { cumulativeAmount: 11n, quoteHash: `0x${"02".repeat(32)}`, signer: ADDR.session }),
    ).toThrow(VoucherRejectedError);
    expect(
      applyVoucher(s, { cumulativeAmount: 10n, quoteHash: `0x${"02".repeat(32)}`, signer: ADDR.payer })
        .signedCumulative,
    ).toBe(10n);
  });
});
