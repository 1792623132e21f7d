import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeBase64Url, encodeBase64Url } from "./base64url.js";
import { PersistentWireError } from "./errors.js";
import {
  decodeReceiptHeader,
  decodeVoucherHeader,
  encodeReceiptHeader,
  encodeVoucherHeader,
  receiptPath,
} from "./headers.js";
import {
  delegationFromJson,
  delegationToJson,
  quoteFromJson,
  quoteToJson,
  receiptFromJson,
  receiptToJson,
  voucherFromJson,
  voucherToJson,
} from "./json.js";
import { isPaymentRequiredJson, paymentRequiredFromJson, paymentRequiredToJson } from "./paymentRequired.js";
import { formatReceiptEvent, parseReceiptEventData } from "./receiptEvent.js";
import { arbBytes32, arbDelegation, arbQuote, arbReceipt, arbUint, arbVoucher } from "./testFixtures.js";

const arbSig = fc
  .uint8Array({ minLength: 65, maxLength: 65 })
  .map((b) => `0x${Buffer.from(b).toString("hex")}` as const);

describe("JSON forms", () => {
  it("round-trip every value of every type, integers as decimal strings", () => {
    fc.assert(
      fc.property(
        arbQuote.filter(
          (q) => q.model.length <= 1024 && q.capability.length <= 1024 && q.unit.length <= 1024,
        ),
        (q) => {
          const j = JSON.parse(JSON.stringify(quoteToJson(q)));
          expect(quoteFromJson(j)).toEqual(q);
          expect(typeof j.maxCharge).toBe("string");
        },
      ),
    );
    fc.assert(
      fc.property(
        arbReceipt,
        (r) => void expect(receiptFromJson(JSON.parse(JSON.stringify(receiptToJson(r))))).toEqual(r),
      ),
    );
    fc.assert(
      fc.property(
        arbVoucher,
        (v) => void expect(voucherFromJson(JSON.parse(JSON.stringify(voucherToJson(v))))).toEqual(v),
      ),
    );
    fc.assert(
      fc.property(
        arbDelegation,
        (d) => void expect(delegationFromJson(JSON.parse(JSON.stringify(delegationToJson(d))))).toEqual(d),
      ),
    );
  });

  it("decoders are strict and name the field", () => {
    const good = voucherToJson({
      payer: `0x${"11".repeat(20)}`,
      payee: `0x${"22".repeat(20)}`,
      ticketId: 1n,
      epoch: 0n,
      cumulativeAmount: 5n,
      context: `0x${"33".repeat(32)}`,
    });
    const cases: [Record<string, unknown>, string][] = [
      [{ ...good, cumulativeAmount: 5 }, "cumulativeAmount"],
      [{ ...good, cumulativeAmount: "05" }, "cumulativeAmount"],
      [{ ...good, cumulativeAmount: "-5" }, "cumulativeAmount"],
      [{ ...good, cumulativeAmount: "1e3" }, "cumulativeAmount"],
      [{ ...good, cumulativeAmount: (1n << 128n).toString() }, "cumulativeAmount"],
      [{ ...good, epoch: (1n << 64n).toString() }, "epoch"],
      [{ ...good, payer: "0x1234" }, "payer"],
      [{ ...good, context: "33".repeat(32) }, "context"],
    ];
    for (const [bad, field] of cases) {
      try {
        voucherFromJson(bad);
        expect.unreachable(field);
      } catch (e) {
        expect(e).toBeInstanceOf(PersistentWireError);
        expect((e as PersistentWireError).details?.field).toBe(field);
      }
    }
    expect(() => voucherFromJson(null)).toThrow(PersistentWireError);
    expect(() => quoteFromJson([])).toThrow(PersistentWireError);
  });
});

describe("headers, 402 body and SSE receipt event", () => {
  it("base64url is unpadded, URL-safe and strict", () => {
    fc.assert(
      fc.property(fc.uint8Array(), (b) => {
        const s = encodeBase64Url(b);
        expect(s).toMatch(/^[A-Za-z0-9_-]*$/);
        expect(decodeBase64Url(s)).toEqual(b);
      }),
    );
    expect(encodeBase64Url(new Uint8Array([251, 255]))).toBe("-_8");
    for (const bad of ["-_8=", "a", "+/", "ab c", "-_9"])
      expect(() => decodeBase64Url(bad)).toThrow(PersistentWireError);
  });

  it("Livepay-Voucher and Livepay-Receipt round-trip and reject garbage", () => {
    fc.assert(
      fc.property(
        arbBytes32,
        arbVoucher,
        arbSig,
        fc.option(arbDelegation, { nil: undefined }),
        (quoteId, voucher, signature, delegation) => {
          const env = delegation
            ? { quoteId, voucher, signature, delegation, delegationSignature: signature }
            : { quoteId, voucher, signature };
          expect(decodeVoucherHeader(encodeVoucherHeader(env))).toEqual(env);
        },
      ),
      { numRuns: 50 },
    );
    fc.assert(
      fc.property(arbReceipt, arbSig, arbBytes32, (receipt, signature, salt) => {
        const s = { receipt, signature, salt };
        const h = encodeReceiptHeader(s);
        expect(h).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(decodeReceiptHeader(h)).toEqual(s);
        const ev = formatReceiptEvent(s);
        expect(ev.startsWith("event: livepay-receipt\ndata: {")).toBe(true);
        expect(ev.endsWith("\n\n")).toBe(true);
        expect(parseReceiptEventData(ev.split("\n")[1]!.slice(6))).toEqual(s);
      }),
      { numRuns: 50 },
    );
    for (const bad of ["", "!!", encodeBase64Url(new TextEncoder().encode("[]")), "x".repeat(20_000)]) {
      expect(() => decodeVoucherHeader(bad)).toThrow(PersistentWireError);
      expect(() => decodeReceiptHeader(bad)).toThrow(PersistentWireError);
    }
    expect(() => parseReceiptEventData("{")).toThrow(PersistentWireError);
    expect(receiptPath(`0x${"AB".repeat(32)}`)).toBe(`/receipts/0x${"ab".repeat(32)}`);
  });

  it("the 402 body round-trips, is an OpenAI-style error, and carries a corrective reason and receipt", () => {
    fc.assert(
      fc.property(
        arbQuote.filter(
          (q) => q.model.length <= 1024 && q.capability.length <= 1024 && q.unit.length <= 1024,
        ),
        arbSig,
        arbUint(64),
        arbBytes32,
        fc.option(arbReceipt, { nil: undefined }),
        (quote, signature, n, h, last) => {
          const p = {
            quote: { quote, signature },
            ticket: {
              ticketId: quote.ticketId,
              epoch: n,
              seq: n,
              cumulativeCharged: n,
              signedCumulative: n,
              lastReceiptHash: h,
            },
            chainId: 42161n,
            verifyingContract: `0x${"ab".repeat(20)}` as const,
            ...(last
              ? { reason: "VOUCHER_CONTEXT_MISMATCH", lastReceipt: { receipt: last, signature, salt: h } }
              : {}),
          };
          const json = JSON.parse(JSON.stringify(paymentRequiredToJson(p)));
          expect(isPaymentRequiredJson(json)).toBe(true);
          expect(json.error.type).toBe("livepay_payment_required");
          expect(json.error.code).toBe(last ? "VOUCHER_CONTEXT_MISMATCH" : "payment_required");
          expect(paymentRequiredFromJson(json)).toEqual(p);
        },
      ),
      { numRuns: 50 },
    );
    expect(isPaymentRequiredJson({ error: { message: "x" } })).toBe(false);
    expect(() => paymentRequiredFromJson({ livepay: "1" })).toThrow(PersistentWireError);
  });
});
