import type { Delegation } from "./delegation.js";
import { asObject, hexField, stringField, uintField } from "./jsonFields.js";
import type { Quote, SignedQuote } from "./quote.js";
import type { Receipt, SignedReceipt } from "./receipt.js";
import type { Voucher } from "./voucher.js";

// JSON forms of the persistent typed data, as they travel in HTTP bodies and headers and sit in
// storage: integers are decimal strings (JSON numbers lose precision above 2^53), addresses and hashes
// lowercase 0x hex. Decoders are strict and name the offending field.

/** A Quote on the wire: every integer a decimal string. */
export interface QuoteJson {
  payee: string;
  payer: string;
  ticketId: string;
  quoteId: string;
  requestHash: string;
  capability: string;
  model: string;
  unit: string;
  priceNum: string;
  priceDen: string;
  estUnits: string;
  maxUnits: string;
  maxCharge: string;
  expiry: string;
}

/** A Receipt on the wire. */
export interface ReceiptJson {
  payee: string;
  payer: string;
  ticketId: string;
  epoch: string;
  seq: string;
  quoteHash: string;
  units: string;
  charge: string;
  cumulativeCharged: string;
  inputHash: string;
  outputHash: string;
  prevReceiptHash: string;
}

/** A Voucher on the wire. */
export interface VoucherJson {
  payer: string;
  payee: string;
  ticketId: string;
  epoch: string;
  cumulativeAmount: string;
  context: string;
}

/** A Delegation on the wire. */
export interface DelegationJson {
  payer: string;
  key: string;
  payee: string;
  cap: string;
  validUntilRound: string;
  epoch: string;
}

/** A signed receipt on the wire (`Livepay-Receipt`, the SSE receipt event, `GET /receipts/{quoteId}`). */
export interface SignedReceiptJson {
  receipt: ReceiptJson;
  signature: string;
  salt: string;
}

/** A signed quote on the wire. */
export interface SignedQuoteJson {
  quote: QuoteJson;
  signature: string;
}

/** @example quoteToJson(quote).maxCharge // "256000" */
export function quoteToJson(q: Quote): QuoteJson {
  return {
    payee: q.payee.toLowerCase(),
    payer: q.payer.toLowerCase(),
    ticketId: q.ticketId.toString(),
    quoteId: q.quoteId.toLowerCase(),
    requestHash: q.requestHash.toLowerCase(),
    capability: q.capability,
    model: q.model,
    unit: q.unit,
    priceNum: q.priceNum.toString(),
    priceDen: q.priceDen.toString(),
    estUnits: q.estUnits.toString(),
    maxUnits: q.maxUnits.toString(),
    maxCharge: q.maxCharge.toString(),
    expiry: q.expiry.toString(),
  };
}

/** Strict decode; throws `PersistentWireError` `INVALID_PERSISTENT_JSON`. @example quoteFromJson(body.quote) */
export function quoteFromJson(value: unknown): Quote {
  const o = asObject(value, "quote");
  return {
    payee: hexField(o, "payee", 20),
    payer: hexField(o, "payer", 20),
    ticketId: uintField(o, "ticketId", 256),
    quoteId: hexField(o, "quoteId", 32),
    requestHash: hexField(o, "requestHash", 32),
    capability: stringField(o, "capability"),
    model: stringField(o, "model"),
    unit: stringField(o, "unit"),
    priceNum: uintField(o, "priceNum", 128),
    priceDen: uintField(o, "priceDen", 128),
    estUnits: uintField(o, "estUnits", 64),
    maxUnits: uintField(o, "maxUnits", 64),
    maxCharge: uintField(o, "maxCharge", 128),
    expiry: uintField(o, "expiry", 64),
  };
}

/** @example receiptToJson(receipt).cumulativeCharged // "1234" */
export function receiptToJson(r: Receipt): ReceiptJson {
  return {
    payee: r.payee.toLowerCase(),
    payer: r.payer.toLowerCase(),
    ticketId: r.ticketId.toString(),
    epoch: r.epoch.toString(),
    seq: r.seq.toString(),
    quoteHash: r.quoteHash.toLowerCase(),
    units: r.units.toString(),
    charge: r.charge.toString(),
    cumulativeCharged: r.cumulativeCharged.toString(),
    inputHash: r.inputHash.toLowerCase(),
    outputHash: r.outputHash.toLowerCase(),
    prevReceiptHash: r.prevReceiptHash.toLowerCase(),
  };
}

/** Strict decode. @example receiptFromJson(json.receipt) */
export function receiptFromJson(value: unknown): Receipt {
  const o = asObject(value, "receipt");
  return {
    payee: hexField(o, "payee", 20),
    payer: hexField(o, "payer", 20),
    ticketId: uintField(o, "ticketId", 256),
    epoch: uintField(o, "epoch", 64),
    seq: uintField(o, "seq", 64),
    quoteHash: hexField(o, "quoteHash", 32),
    units: uintField(o, "units", 64),
    charge: uintField(o, "charge", 128),
    cumulativeCharged: uintField(o, "cumulativeCharged", 128),
    inputHash: hexField(o, "inputHash", 32),
    outputHash: hexField(o, "outputHash", 32),
    prevReceiptHash: hexField(o, "prevReceiptHash", 32),
  };
}

/** @example voucherToJson(voucher).cumulativeAmount // "5000" */
export function voucherToJson(v: Voucher): VoucherJson {
  return {
    payer: v.payer.toLowerCase(),
    payee: v.payee.toLowerCase(),
    ticketId: v.ticketId.toString(),
    epoch: v.epoch.toString(),
    cumulativeAmount: v.cumulativeAmount.toString(),
    context: v.context.toLowerCase(),
  };
}

/** Strict decode. @example voucherFromJson(envelope.voucher) */
export function voucherFromJson(value: unknown): Voucher {
  const o = asObject(value, "voucher");
  return {
    payer: hexField(o, "payer", 20),
    payee: hexField(o, "payee", 20),
    ticketId: uintField(o, "ticketId", 256),
    epoch: uintField(o, "epoch", 64),
    cumulativeAmount: uintField(o, "cumulativeAmount", 128),
    context: hexField(o, "context", 32),
  };
}

/** @example delegationToJson(d).cap // "1000000" */
export function delegationToJson(d: Delegation): DelegationJson {
  return {
    payer: d.payer.toLowerCase(),
    key: d.key.toLowerCase(),
    payee: d.payee.toLowerCase(),
    cap: d.cap.toString(),
    validUntilRound: d.validUntilRound.toString(),
    epoch: d.epoch.toString(),
  };
}

/** Strict decode. @example delegationFromJson(envelope.delegation) */
export function delegationFromJson(value: unknown): Delegation {
  const o = asObject(value, "delegation");
  return {
    payer: hexField(o, "payer", 20),
    key: hexField(o, "key", 20),
    payee: hexField(o, "payee", 20),
    cap: uintField(o, "cap", 128),
    validUntilRound: uintField(o, "validUntilRound", 64),
    epoch: uintField(o, "epoch", 64),
  };
}

/** @example signedReceiptToJson({ receipt, signature, salt }) */
export function signedReceiptToJson(s: SignedReceipt): SignedReceiptJson {
  return {
    receipt: receiptToJson(s.receipt),
    signature: s.signature.toLowerCase(),
    salt: s.salt.toLowerCase(),
  };
}

/** Strict decode of `{ receipt, signature, salt }`. @example signedReceiptFromJson(await res.json()) */
export function signedReceiptFromJson(value: unknown): SignedReceipt {
  const o = asObject(value, "signedReceipt");
  return {
    receipt: receiptFromJson(o.receipt),
    signature: hexField(o, "signature", 65),
    salt: hexField(o, "salt", 32),
  };
}

/** @example signedQuoteToJson({ quote, signature }) */
export function signedQuoteToJson(s: SignedQuote): SignedQuoteJson {
  return { quote: quoteToJson(s.quote), signature: s.signature.toLowerCase() };
}

/** Strict decode of `{ quote, signature }`. @example signedQuoteFromJson(stored) */
export function signedQuoteFromJson(value: unknown): SignedQuote {
  const o = asObject(value, "signedQuote");
  return { quote: quoteFromJson(o.quote), signature: hexField(o, "signature", 65) };
}
