import type { Hex } from "../bytes/hex.js";
import { Rational } from "../money/rational.js";
import type { JsonValue } from "../persistent/canonicalJson.js";
import {
  receiptFromJson,
  receiptToJson,
  signedQuoteFromJson,
  signedQuoteToJson,
  signedReceiptFromJson,
  signedReceiptToJson,
  voucherFromJson,
  voucherToJson,
} from "../persistent/json.js";
import type { SignedQuote } from "../persistent/quote.js";
import type { SignedReceipt } from "../persistent/receipt.js";
import type { TicketState } from "../persistent/ticketState.js";
import type { Voucher } from "../persistent/voucher.js";

/**
 * Where a ticket stands on the payer's side: `open` (usable), `pending` (a paid request in flight),
 * `suspended` (a voucher was signed but no valid receipt came back: not used until it is resolved by
 * `fetchReceipt`), `abandoned` (a payee violation or an unknown history: never used again).
 */
export type TicketStatus = "open" | "pending" | "suspended" | "abandoned";

/** A signed voucher whose receipt the payer has not verified yet. */
export interface PendingRequest {
  quoteId: Hex;
  quoteHash: Hex;
  /** Origin the request went to (where `GET /receipts/{quoteId}` is asked). */
  origin: string;
  maxCharge: bigint;
  /** The cumulative amount signed. */
  approval: bigint;
  /** Unix ms when the voucher was signed. */
  since: number;
}

/** The payer's record of one ticket. */
export interface TicketRecord {
  state: TicketState;
  status: TicketStatus;
  pending?: PendingRequest;
  /** Code of the last problem (RECEIPT_MISSING, a receipt violation, PAYMENT_REJECTED, ...). */
  problem?: string;
}

/** A quote the payer signed for. */
export interface QuoteRecord {
  signed: SignedQuote;
  hash: Hex;
  origin: string;
  receivedAt: number;
}

/** A voucher the payer signed. */
export interface VoucherRecord {
  quoteId: Hex;
  voucher: Voucher;
  signature: Hex;
  signedAt: number;
}

/** A receipt the payer verified. */
export interface ReceiptRecord {
  quoteId: Hex;
  signed: SignedReceipt;
  hash: Hex;
  verifiedAt: number;
}

/** Storage key of a ticket. @example ticketKey(payee, 0n, 3n) // "ticket/0x…/0/3" */
export function ticketKey(payee: Hex, epoch: bigint, ticketId: bigint): string {
  return `ticket/${payee.toLowerCase()}/${epoch}/${ticketId}`;
}

type J = Record<string, JsonValue>;
const s = (v: unknown) => v as string;

function stateToJson(t: TicketState): J {
  return {
    payer: t.payer,
    payee: t.payee,
    ticketId: t.ticketId.toString(),
    epoch: t.epoch.toString(),
    signedCumulative: t.signedCumulative.toString(),
    chargedExact: t.chargedExact.toString(),
    cumulativeCharged: t.cumulativeCharged.toString(),
    seq: t.seq.toString(),
    lastReceiptHash: t.lastReceiptHash,
    lastReceipt: t.lastReceipt ? (receiptToJson(t.lastReceipt) as unknown as J) : null,
    signer: t.signer ?? null,
    pendingQuoteHash: t.pendingQuoteHash ?? null,
  };
}

function stateFromJson(o: J): TicketState {
  return {
    payer: s(o.payer) as Hex,
    payee: s(o.payee) as Hex,
    ticketId: BigInt(s(o.ticketId)),
    epoch: BigInt(s(o.epoch)),
    signedCumulative: BigInt(s(o.signedCumulative)),
    chargedExact: Rational.parse(s(o.chargedExact)),
    cumulativeCharged: BigInt(s(o.cumulativeCharged)),
    seq: BigInt(s(o.seq)),
    lastReceiptHash: s(o.lastReceiptHash) as Hex,
    lastReceipt: o.lastReceipt ? receiptFromJson(o.lastReceipt) : undefined,
    signer: o.signer ? (s(o.signer) as Hex) : undefined,
    pendingQuoteHash: o.pendingQuoteHash ? (s(o.pendingQuoteHash) as Hex) : undefined,
  };
}

/** @example await storage.set(ticketKey(...), ticketRecordToJson(record)) */
export function ticketRecordToJson(r: TicketRecord): JsonValue {
  const out: J = { state: stateToJson(r.state), status: r.status };
  if (r.pending) {
    out.pending = {
      quoteId: r.pending.quoteId,
      quoteHash: r.pending.quoteHash,
      origin: r.pending.origin,
      maxCharge: r.pending.maxCharge.toString(),
      approval: r.pending.approval.toString(),
      since: r.pending.since,
    };
  }
  if (r.problem) out.problem = r.problem;
  return out;
}

/** @example ticketRecordFromJson(await storage.get(key)) */
export function ticketRecordFromJson(v: JsonValue): TicketRecord {
  const o = v as J;
  const r: TicketRecord = { state: stateFromJson(o.state as J), status: s(o.status) as TicketStatus };
  if (o.pending) {
    const p = o.pending as J;
    r.pending = {
      quoteId: s(p.quoteId) as Hex,
      quoteHash: s(p.quoteHash) as Hex,
      origin: s(p.origin),
      maxCharge: BigInt(s(p.maxCharge)),
      approval: BigInt(s(p.approval)),
      since: p.since as number,
    };
  }
  if (typeof o.problem === "string") r.problem = o.problem;
  return r;
}

/** @example quoteRecordToJson({ signed, hash, origin, receivedAt }) */
export function quoteRecordToJson(r: QuoteRecord): JsonValue {
  return {
    signed: signedQuoteToJson(r.signed) as unknown as J,
    hash: r.hash,
    origin: r.origin,
    receivedAt: r.receivedAt,
  };
}

/** @example quoteRecordFromJson(await storage.get(`quote/${id}`)) */
export function quoteRecordFromJson(v: JsonValue): QuoteRecord {
  const o = v as J;
  return {
    signed: signedQuoteFromJson(o.signed),
    hash: s(o.hash) as Hex,
    origin: s(o.origin),
    receivedAt: o.receivedAt as number,
  };
}

/** @example voucherRecordToJson({ quoteId, voucher, signature, signedAt }) */
export function voucherRecordToJson(r: VoucherRecord): JsonValue {
  return {
    quoteId: r.quoteId,
    voucher: voucherToJson(r.voucher) as unknown as J,
    signature: r.signature,
    signedAt: r.signedAt,
  };
}

/** @example voucherRecordFromJson(await storage.get(`voucher/${id}`)) */
export function voucherRecordFromJson(v: JsonValue): VoucherRecord {
  const o = v as J;
  return {
    quoteId: s(o.quoteId) as Hex,
    voucher: voucherFromJson(o.voucher),
    signature: s(o.signature) as Hex,
    signedAt: o.signedAt as number,
  };
}

/** @example receiptRecordToJson({ quoteId, signed, hash, verifiedAt }) */
export function receiptRecordToJson(r: ReceiptRecord): JsonValue {
  return {
    quoteId: r.quoteId,
    signed: signedReceiptToJson(r.signed) as unknown as J,
    hash: r.hash,
    verifiedAt: r.verifiedAt,
  };
}

/** @example receiptRecordFromJson(await storage.get(`receipt/${id}`)) */
export function receiptRecordFromJson(v: JsonValue): ReceiptRecord {
  const o = v as J;
  return {
    quoteId: s(o.quoteId) as Hex,
    signed: signedReceiptFromJson(o.signed),
    hash: s(o.hash) as Hex,
    verifiedAt: o.verifiedAt as number,
  };
}
