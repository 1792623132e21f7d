// Replay passes of the persistent-ticket bench: each side's payment functions re-run on the exact
// messages of the recorded run (payer, gateway-funded gateway, relay gateway, orchestrator).
import { maxPriceFor, type RunningGateway } from "@livepay/node";
import type { persistentDomain } from "@livepay/protocol";
import {
  acceptVoucher,
  applyReceipt,
  applyVoucher,
  buildReceipt,
  checkQuote,
  checkReceipt,
  decodeReceiptHeader,
  decodeVoucherHeader,
  encodeReceiptHeader,
  encodeVoucherHeader,
  hashAndSignQuote,
  hashAndSignReceipt,
  isPaymentRequiredJson,
  openTicket,
  paymentRequiredFromJson,
  paymentRequiredToJson,
  personalHash,
  Rational,
  recoverDigestSigner,
  signDigest,
  utf8,
  receiptHash,
  signVoucher,
  voucherContext,
  type Hex,
  type PrivateKey,
  type TicketState,
} from "@livepay/protocol";
import { receiptRecordFromJson, receiptRecordToJson } from "@livepay/protocol/client";
// Not part of @livepay/node's public entry point; the built module is the same code the gateway runs.
import type { EstimateAccuracy } from "../../packages/node/dist/gateway/persistentAccuracy.js";
import { type Sample } from "./figures.js";
import { type Exchange } from "./recording.js";
import { MODEL } from "./workload.js";

export type Domain = ReturnType<typeof persistentDomain>;

/** What the gateway-funded gateway adds to the payer's work, per request (its own code, replayed). */
export interface GatewayExtras {
  maxPrice: RunningGateway["config"]["maxPrice"];
  accuracy: EstimateAccuracy;
  verified: Map<Hex, unknown>;
  uri: string;
}

/**
 * One replay pass of the payer's work (client SDK, or the gateway-funded gateway's SDK payer plus
 * `extras`) over `ex`; `yard` gets one bare recover timed after each sample.
 */
export function payerPass(
  ex: Exchange[],
  domain: Domain,
  payer: Hex,
  key: PrivateKey,
  timed: boolean,
  extras?: GatewayExtras,
  yard?: Sample[],
): Sample[] {
  const out: Sample[] = [];
  const states = new Map<bigint, TicketState>();
  const yDigest = personalHash(utf8("livepay bench"));
  const ySig = signDigest(yDigest, key);
  for (const x of ex) {
    const t = performance.now();
    const prJson = JSON.parse(x.prText) as unknown;
    const pr = paymentRequiredFromJson(prJson);
    const q = pr.quote.quote;
    if (extras) {
      // The gateway's observing fetch parses the 402 again to reserve the key's credit, after a price-cap check.
      const again = JSON.parse(x.prText) as unknown;
      if (isPaymentRequiredJson(again)) paymentRequiredFromJson(again);
      const cap = maxPriceFor("llm", MODEL, extras.maxPrice);
      if (cap !== undefined && Rational.of(q.priceNum, q.priceDen).gt(cap))
        throw new Error("bench: over cap");
    }
    const qh = checkQuote(pr.quote, {
      domain,
      payer,
      payeeSigningKey: q.payee,
      requestHash: q.requestHash,
      nowSeconds: x.atSeconds,
      capability: "llm",
      request: x.body,
    });
    let s =
      states.get(q.ticketId) ??
      openTicket({ payer, payee: q.payee, ticketId: q.ticketId, epoch: pr.ticket.epoch });
    const v = { ...x.voucher, context: voucherContext(qh, s.lastReceiptHash) };
    const sig = signVoucher(domain, v, key);
    encodeVoucherHeader({ quoteId: q.quoteId, voucher: v, signature: sig.signature });
    s = applyVoucher(s, { cumulativeAmount: v.cumulativeAmount, quoteHash: qh, signer: payer });
    const signed = decodeReceiptHeader(x.receiptHeader);
    const checked = checkReceipt(s, signed, { domain, payeeSigningKey: q.payee, quote: q, quoteHash: qh });
    s = checked.state;
    let ms = performance.now() - t;
    let t1 = t + ms;
    if (extras) {
      // The SDK serializes the receipt record (its storage); the gateway's storage wrapper reads it back.
      const rec = receiptRecordToJson({
        quoteId: q.quoteId,
        signed,
        hash: checked.receiptHash,
        verifiedAt: 0,
      });
      const t2 = performance.now();
      const r = receiptRecordFromJson(rec);
      extras.verified.set(r.quoteId, r.signed.receipt);
      const got = extras.verified.get(q.quoteId) as typeof signed.receipt;
      extras.accuracy.observe(extras.uri, got.units, q.estUnits);
      t1 = performance.now();
      ms += t1 - t2;
    }
    if (timed && x.measured) {
      out.push({ t0: t, t1, ms });
      if (yard) {
        const ty = performance.now();
        recoverDigestSigner(yDigest, ySig);
        const te = performance.now();
        yard.push({ t0: ty, t1: te, ms: te - ty });
      }
    }
    states.set(q.ticketId, s);
  }
  return out;
}

/** One replay pass of the orchestrator's work over `ex`; checks the replayed receipts equal the real ones. */
export function orchestratorPass(
  ex: Exchange[],
  domain: Domain,
  payer: Hex,
  key: PrivateKey,
  timed: boolean,
): Sample[] {
  const out: Sample[] = [];
  const states = new Map<bigint, TicketState>();
  // Parsed outside the timing: the orchestrator builds these objects itself, it does not parse them.
  const parsed = ex.map((x) => ({
    pr: paymentRequiredFromJson(JSON.parse(x.prText)),
    real: decodeReceiptHeader(x.receiptHeader),
  }));
  for (const [i, x] of ex.entries()) {
    const { pr, real } = parsed[i]!;
    const q = pr.quote.quote;
    const r = real.receipt;
    const t = performance.now();
    const { hash: qh } = hashAndSignQuote(domain, q, key);
    JSON.stringify(paymentRequiredToJson(pr));
    let s =
      states.get(q.ticketId) ??
      openTicket({ payer, payee: q.payee, ticketId: q.ticketId, epoch: pr.ticket.epoch });
    const env = decodeVoucherHeader(x.voucherHeader);
    s = acceptVoucher(
      s,
      { quote: q, quoteHash: qh, voucher: env.voucher, signature: env.signature },
      { domain, nowSeconds: x.atSeconds },
    ).state;
    const receipt = buildReceipt(s, {
      quote: q,
      quoteHash: qh,
      units: r.units,
      inputHash: r.inputHash,
      outputHash: r.outputHash,
    });
    const signed = hashAndSignReceipt(domain, receipt, key);
    encodeReceiptHeader({ receipt, signature: signed.signature, salt: real.salt });
    s = applyReceipt(s, q, receipt, signed.hash);
    const t1 = performance.now();
    if (timed && x.measured) out.push({ t0: t, t1, ms: t1 - t });
    if (signed.hash !== receiptHash(domain, r))
      throw new Error("bench: replayed receipt differs from the real one");
    states.set(q.ticketId, s);
  }
  return out;
}

/**
 * One replay pass of the relay gateway's payment work over `ex`: what `#relay` reads of the payment
 * headers it passes through (voucher header → quote id, 402 → noteQuote, receipt header → units,
 * estimate accuracy). The payer address check is a regex on the header.
 */
export function relayPass(
  ex: Exchange[],
  payer: Hex,
  timed: boolean,
  accuracy: EstimateAccuracy,
  uri: string,
): Sample[] {
  const out: Sample[] = [];
  const quotes = new Map<Hex, { uri: string; estUnits: bigint }>();
  for (const x of ex) {
    // Unpaid leg: the payer header is checked, the 402 is read for GET /receipts and accuracy.
    const t = performance.now();
    if (!/^0x[0-9a-f]{40}$/.test(payer.toLowerCase())) throw new Error("bench: bad payer");
    const body = JSON.parse(x.prText) as unknown;
    if (isPaymentRequiredJson(body)) {
      const q = paymentRequiredFromJson(body).quote.quote;
      quotes.set(q.quoteId, { uri, estUnits: q.estUnits });
    }
    // Paid leg: the voucher header's quote id, then the receipt header's units.
    if (!/^0x[0-9a-f]{40}$/.test(payer.toLowerCase())) throw new Error("bench: bad payer");
    const quoteId = decodeVoucherHeader(x.voucherHeader).quoteId;
    const units = decodeReceiptHeader(x.receiptHeader).receipt.units;
    const q = quotes.get(quoteId);
    if (q) accuracy.observe(uri, units, q.estUnits);
    const t1 = performance.now();
    if (timed && x.measured) out.push({ t0: t, t1, ms: t1 - t });
  }
  return out;
}
