import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Hex } from "../bytes/hex.js";
import { LivepayError } from "../errors.js";
import { Rational } from "../money/rational.js";
import { acceptVoucher, type VoucherAcceptContext } from "./acceptVoucher.js";
import { buildReceipt } from "./buildReceipt.js";
import { checkReceipt } from "./checkReceipt.js";
import { ADDR, KEYS, SALT, TEST_DOMAIN, payeeServes, payerApproves, testQuote } from "./testFixtures.js";
import { openTicket, ticketCredit, type TicketState } from "./ticketState.js";
import { signVoucher, type Voucher } from "./voucher.js";
import { voucherContext } from "./voucherContext.js";

const ctx: VoucherAcceptContext = { domain: TEST_DOMAIN, nowSeconds: 1_000n };

const code = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof LivepayError) return e.code;
    throw e;
  }
  return "ACCEPTED";
};

const fresh = (): TicketState =>
  openTicket({ payer: ADDR.payer, payee: ADDR.payee, ticketId: 9n, epoch: 1n });

describe("the payee's voucher acceptance", () => {
  it("credit can never be spent without a new payer signature (model)", () => {
    // Actions against one ticket: honest requests that leave credit behind (few units of a large
    // maximum), interleaved with attempts to get a request served without a fresh voucher.
    const arbAction = fc.oneof(
      fc.record({ kind: fc.constant("honest" as const), used: fc.bigInt({ min: 0n, max: 1000n }) }),
      fc.record({ kind: fc.constant("replayOld" as const), pick: fc.nat() }),
      fc.record({
        kind: fc.constant("otherKey" as const),
        key: fc.constantFrom(KEYS.payee, KEYS.other, KEYS.signing),
      }),
      fc.record({ kind: fc.constant("serveWithoutVoucher" as const) }),
      fc.record({ kind: fc.constant("underApproved" as const), short: fc.bigInt({ min: 1n, max: 100n }) }),
    );
    fc.assert(
      fc.property(fc.array(arbAction, { minLength: 1, maxLength: 14 }), (actions) => {
        let payer = fresh();
        let payee = fresh();
        const old: { voucher: Voucher; signature: Hex }[] = [];
        const issued: { cumulativeCharged: bigint; voucherAmount: bigint }[] = [];
        for (const a of actions) {
          const q = testQuote(9n, Rational.of(3n), 1000n, { estUnits: 10n });
          if (a.kind === "honest") {
            const ap = payerApproves(payer, q);
            const served = payeeServes(payee, q, ap.voucher, ap.sig.signature, a.used);
            old.push({ voucher: ap.voucher, signature: ap.sig.signature });
            issued.push({
              cumulativeCharged: served.signed.receipt.cumulativeCharged,
              voucherAmount: ap.voucher.cumulativeAmount,
            });
            payee = served.state;
            payer = checkReceipt(ap.state, served.signed, {
              domain: TEST_DOMAIN,
              payeeSigningKey: ADDR.signing,
              quote: q.quote,
            }).state;
            continue;
          }
          // Every attempt below happens with whatever credit the ticket holds: it must not matter.
          let attempt: () => unknown;
          if (a.kind === "replayOld") {
            if (old.length === 0) continue;
            const o = old[a.pick % old.length]!;
            attempt = () =>
              acceptVoucher(
                payee,
                { quote: q.quote, quoteHash: q.hash, voucher: o.voucher, signature: o.signature },
                ctx,
              );
            expect(code(attempt)).toBe("VOUCHER_CONTEXT_MISMATCH");
          } else if (a.kind === "otherKey") {
            const v = { ...payerApproves(payer, q).voucher };
            const sig = signVoucher(TEST_DOMAIN, v, a.key).signature;
            attempt = () =>
              acceptVoucher(payee, { quote: q.quote, quoteHash: q.hash, voucher: v, signature: sig }, ctx);
            expect(code(attempt)).toBe("VOUCHER_SIGNER_NOT_AUTHORIZED");
          } else if (a.kind === "serveWithoutVoucher") {
            attempt = () =>
              buildReceipt(payee, {
                quote: q.quote,
                quoteHash: q.hash,
                units: 1n,
                inputHash: SALT,
                outputHash: SALT,
              });
            expect(code(attempt)).toBe("VOUCHER_REQUIRED");
          } else {
            const needed = payee.cumulativeCharged + q.quote.maxCharge;
            if (needed - a.short < payee.signedCumulative) {
              // Below the highest signed: refused as non-monotonic before coverage is even looked at.
              const v = { ...payerApproves(payer, q).voucher, cumulativeAmount: payee.signedCumulative - 1n };
              if (v.cumulativeAmount < 0n) continue;
              const sig = signVoucher(TEST_DOMAIN, v, KEYS.payer).signature;
              expect(
                code(() =>
                  acceptVoucher(
                    payee,
                    { quote: q.quote, quoteHash: q.hash, voucher: v, signature: sig },
                    ctx,
                  ),
                ),
              ).toBe("VOUCHER_NOT_MONOTONIC");
              continue;
            }
            const v = { ...payerApproves(payer, q).voucher, cumulativeAmount: needed - a.short };
            const sig = signVoucher(TEST_DOMAIN, v, KEYS.payer).signature;
            attempt = () =>
              acceptVoucher(payee, { quote: q.quote, quoteHash: q.hash, voucher: v, signature: sig }, ctx);
            expect(code(attempt)).toBe("VOUCHER_INSUFFICIENT");
          }
        }
        // Every receipt the payee issued is covered by the fresh voucher of its own request.
        for (const i of issued) expect(i.cumulativeCharged).toBeLessThanOrEqual(i.voucherAmount);
        expect(payee.cumulativeCharged).toBe(payer.cumulativeCharged);
        expect(ticketCredit(payer)).toBe(payer.signedCumulative - payer.cumulativeCharged);
      }),
      { numRuns: 150 },
    );
  });

  it("rejects cross-payee, cross-ticket, old-epoch, expired and unbound vouchers; accepts delegated keys when told", () => {
    const q = testQuote(9n, Rational.of(2n), 100n);
    const base = payerApproves(fresh(), q).voucher;
    const offer = (v: Voucher, key: Hex = KEYS.payer) => ({
      quote: q.quote,
      quoteHash: q.hash,
      voucher: v,
      signature: signVoucher(TEST_DOMAIN, v, key).signature,
    });
    expect(code(() => acceptVoucher(fresh(), offer(base), ctx))).toBe("ACCEPTED");
    expect(code(() => acceptVoucher(fresh(), offer({ ...base, payee: ADDR.other }), ctx))).toBe(
      "VOUCHER_TICKET_MISMATCH",
    );
    expect(code(() => acceptVoucher(fresh(), offer({ ...base, ticketId: 10n }), ctx))).toBe(
      "VOUCHER_TICKET_MISMATCH",
    );
    expect(code(() => acceptVoucher(fresh(), offer({ ...base, epoch: 0n }), ctx))).toBe(
      "VOUCHER_TICKET_MISMATCH",
    );
    expect(code(() => acceptVoucher(fresh(), offer(base), { ...ctx, nowSeconds: q.quote.expiry }))).toBe(
      "VOUCHER_QUOTE_EXPIRED",
    );
    expect(
      code(() => acceptVoucher(fresh(), { ...offer(base), signature: `0x${"11".repeat(65)}` }, ctx)),
    ).toBe("VOUCHER_SIGNATURE_INVALID");
    // A voucher signed for another broker recovers some other address.
    const foreign = signVoucher({ ...TEST_DOMAIN, chainId: 1n }, base, KEYS.payer).signature;
    expect(code(() => acceptVoucher(fresh(), { ...offer(base), signature: foreign }, ctx))).toBe(
      "VOUCHER_SIGNER_NOT_AUTHORIZED",
    );
    // Session key: accepted only when the node says it is a usable delegation; then the ticket is bound to it.
    const delegated = { ...ctx, isDelegatedKey: (k: Hex) => k === ADDR.session };
    expect(code(() => acceptVoucher(fresh(), offer(base, KEYS.session), ctx))).toBe(
      "VOUCHER_SIGNER_NOT_AUTHORIZED",
    );
    expect(acceptVoucher(fresh(), offer(base, KEYS.session), delegated).signer).toBe(ADDR.session);
    const served = payeeServes(
      fresh(),
      q,
      base,
      offer(base, KEYS.session).signature,
      0n,
      delegated.isDelegatedKey,
    );
    expect(served.state.signer).toBe(ADDR.session);
    const q2 = testQuote(9n, Rational.of(2n), 100n);
    const v2 = {
      ...base,
      cumulativeAmount: served.state.cumulativeCharged + q2.quote.maxCharge,
      context: voucherContext(q2.hash, served.state.lastReceiptHash),
    };
    const payerSig = signVoucher(TEST_DOMAIN, v2, KEYS.payer).signature;
    expect(
      code(() =>
        acceptVoucher(
          served.state,
          { quote: q2.quote, quoteHash: q2.hash, voucher: v2, signature: payerSig },
          delegated,
        ),
      ),
    ).toBe("VOUCHER_SIGNER_NOT_BOUND");
  });
});
