import type { Hex } from "../bytes/hex.js";
import { PersistentWireError } from "./errors.js";
import {
  quoteFromJson,
  quoteToJson,
  signedReceiptFromJson,
  signedReceiptToJson,
  type QuoteJson,
  type SignedReceiptJson,
} from "./json.js";
import { asObject, hexField, uintField } from "./jsonFields.js";
import type { SignedQuote } from "./quote.js";
import type { SignedReceipt } from "./receipt.js";

/** The payee's view of the ticket a quote is for, sent with every 402. */
export interface TicketSnapshot {
  ticketId: bigint;
  epoch: bigint;
  /** Sequence number of its last receipt (0: none). */
  seq: bigint;
  cumulativeCharged: bigint;
  /** The highest cumulative amount it holds a voucher for. */
  signedCumulative: bigint;
  lastReceiptHash: Hex;
}

/** A `402 Payment Required` answer: a signed quote for the request and the ticket it is for. */
export interface PaymentRequired {
  quote: SignedQuote;
  ticket: TicketSnapshot;
  /** The broker whose EIP-712 domain everything is signed under. */
  chainId: bigint;
  verifyingContract: Hex;
  /** Why a voucher was refused (a `VoucherRejectedError` code) on a corrective 402; absent on a first 402. */
  reason?: string;
  /** The payee's last receipt on the ticket, on a corrective 402, for the client to verify. */
  lastReceipt?: SignedReceipt;
}

/** The JSON body of a livepay 402 (also an OpenAI-style error body, for clients that do not pay). */
export interface PaymentRequiredJson {
  error: { message: string; type: "livepay_payment_required"; code: string };
  livepay: "1";
  domain: { chainId: string; verifyingContract: string };
  quote: QuoteJson;
  quoteSignature: string;
  ticket: {
    ticketId: string;
    epoch: string;
    seq: string;
    cumulativeCharged: string;
    signedCumulative: string;
    lastReceiptHash: string;
  };
  lastReceipt?: SignedReceiptJson;
}

/**
 * The 402 body the payee sends.
 * @example res.writeHead(402, { "content-type": "application/json" }).end(JSON.stringify(paymentRequiredToJson(p)))
 */
export function paymentRequiredToJson(p: PaymentRequired): PaymentRequiredJson {
  const body: PaymentRequiredJson = {
    error: {
      message: p.reason
        ? `payment required: voucher rejected (${p.reason})`
        : "payment required: sign the quote",
      type: "livepay_payment_required",
      code: p.reason ?? "payment_required",
    },
    livepay: "1",
    domain: { chainId: p.chainId.toString(), verifyingContract: p.verifyingContract.toLowerCase() },
    quote: quoteToJson(p.quote.quote),
    quoteSignature: p.quote.signature.toLowerCase(),
    ticket: {
      ticketId: p.ticket.ticketId.toString(),
      epoch: p.ticket.epoch.toString(),
      seq: p.ticket.seq.toString(),
      cumulativeCharged: p.ticket.cumulativeCharged.toString(),
      signedCumulative: p.ticket.signedCumulative.toString(),
      lastReceiptHash: p.ticket.lastReceiptHash.toLowerCase(),
    },
  };
  if (p.lastReceipt) body.lastReceipt = signedReceiptToJson(p.lastReceipt);
  return body;
}

/**
 * Whether a parsed JSON body is a livepay 402 (has `"livepay": "1"`).
 * @example if (res.status === 402 && isPaymentRequiredJson(body)) pay(paymentRequiredFromJson(body))
 */
export function isPaymentRequiredJson(value: unknown): boolean {
  return typeof value === "object" && value !== null && (value as Record<string, unknown>).livepay === "1";
}

/**
 * Strict decode of a 402 body; throws `PersistentWireError`.
 * @example const { quote, ticket } = paymentRequiredFromJson(await res.json());
 */
export function paymentRequiredFromJson(value: unknown): PaymentRequired {
  if (!isPaymentRequiredJson(value)) {
    throw new PersistentWireError("INVALID_PAYMENT_REQUIRED", "not a livepay 402 body");
  }
  const o = value as Record<string, unknown>;
  const domain = asObject(o.domain, "domain");
  const t = asObject(o.ticket, "ticket");
  const p: PaymentRequired = {
    quote: { quote: quoteFromJson(o.quote), signature: hexField(o, "quoteSignature", 65) },
    ticket: {
      ticketId: uintField(t, "ticketId", 256),
      epoch: uintField(t, "epoch", 64),
      seq: uintField(t, "seq", 64),
      cumulativeCharged: uintField(t, "cumulativeCharged", 128),
      signedCumulative: uintField(t, "signedCumulative", 128),
      lastReceiptHash: hexField(t, "lastReceiptHash", 32),
    },
    chainId: uintField(domain, "chainId", 256),
    verifyingContract: hexField(domain, "verifyingContract", 20),
  };
  const err = o.error as Record<string, unknown> | undefined;
  if (err && typeof err === "object" && typeof err.code === "string" && err.code !== "payment_required") {
    p.reason = err.code.slice(0, 128);
  }
  if (o.lastReceipt !== undefined) p.lastReceipt = signedReceiptFromJson(o.lastReceipt);
  return p;
}
