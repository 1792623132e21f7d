import { utf8, type Hex } from "../bytes/hex.js";
import { decodeBase64Url, encodeBase64Url } from "./base64url.js";
import type { Delegation } from "./delegation.js";
import { PersistentWireError } from "./errors.js";
import {
  delegationFromJson,
  delegationToJson,
  signedReceiptFromJson,
  signedReceiptToJson,
  voucherFromJson,
  voucherToJson,
} from "./json.js";
import { asObject, hexField } from "./jsonFields.js";
import type { SignedReceipt } from "./receipt.js";
import type { Voucher } from "./voucher.js";

/** Request header: the payer's address (the account whose deposit pays). */
export const LIVEPAY_PAYER_HEADER = "Livepay-Payer";
/** Request header: the payee the client wants (a gateway routes to it or answers 409). */
export const LIVEPAY_PAYEE_HEADER = "Livepay-Payee";
/** Request header: the ticket id (decimal) the client leases for this request. */
export const LIVEPAY_TICKET_HEADER = "Livepay-Ticket";
/** Request header on the paid retry: base64url JSON of a `VoucherEnvelope`. */
export const LIVEPAY_VOUCHER_HEADER = "Livepay-Voucher";
/** Response header (non-streaming): base64url JSON of a `SignedReceiptJson`. */
export const LIVEPAY_RECEIPT_HEADER = "Livepay-Receipt";

/** Largest header value livepay decodes (a voucher with a delegation is about 1.3 KB). */
export const LIVEPAY_HEADER_MAX_LENGTH = 16 * 1024;

/** What the `Livepay-Voucher` header carries: the signed voucher for one quote. */
export interface VoucherEnvelope {
  /** The quote this voucher pays for (the voucher's context binds its hash). */
  quoteId: Hex;
  voucher: Voucher;
  /** 65-byte signature by the payer or its session key. */
  signature: Hex;
  /** The delegation of the session key that signed, when not the payer itself. */
  delegation?: Delegation;
  /** The payer's signature of `delegation`, so the payee can register it (`registerDelegationWithSig`). */
  delegationSignature?: Hex;
}

function decodeJsonHeader(value: string, header: string): unknown {
  if (typeof value !== "string" || value.length === 0 || value.length > LIVEPAY_HEADER_MAX_LENGTH) {
    throw new PersistentWireError("INVALID_HEADER", `${header} is empty or too long`, { header });
  }
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(decodeBase64Url(value.trim())));
  } catch {
    throw new PersistentWireError("INVALID_HEADER", `${header} is not base64url JSON`, { header });
  }
}

/**
 * `Livepay-Voucher` value: base64url (unpadded) of the envelope's JSON.
 * @example headers.set(LIVEPAY_VOUCHER_HEADER, encodeVoucherHeader({ quoteId, voucher, signature }))
 */
export function encodeVoucherHeader(envelope: VoucherEnvelope): string {
  const json: Record<string, unknown> = {
    quoteId: envelope.quoteId.toLowerCase(),
    voucher: voucherToJson(envelope.voucher),
    signature: envelope.signature.toLowerCase(),
  };
  if (envelope.delegation) json.delegation = delegationToJson(envelope.delegation);
  if (envelope.delegationSignature) json.delegationSignature = envelope.delegationSignature.toLowerCase();
  return encodeBase64Url(utf8(JSON.stringify(json)));
}

/**
 * Decodes a `Livepay-Voucher` value strictly; throws `PersistentWireError`.
 * @example const { quoteId, voucher, signature } = decodeVoucherHeader(req.headers["livepay-voucher"]);
 */
export function decodeVoucherHeader(value: string): VoucherEnvelope {
  const o = asObject(decodeJsonHeader(value, LIVEPAY_VOUCHER_HEADER), "voucherEnvelope");
  const env: VoucherEnvelope = {
    quoteId: hexField(o, "quoteId", 32),
    voucher: voucherFromJson(o.voucher),
    signature: hexField(o, "signature", 65),
  };
  if (o.delegation !== undefined) env.delegation = delegationFromJson(o.delegation);
  if (o.delegationSignature !== undefined) env.delegationSignature = hexField(o, "delegationSignature", 65);
  return env;
}

/**
 * `Livepay-Receipt` value: base64url (unpadded) of `{ receipt, signature, salt }` JSON.
 * @example res.setHeader(LIVEPAY_RECEIPT_HEADER, encodeReceiptHeader(signedReceipt))
 */
export function encodeReceiptHeader(signed: SignedReceipt): string {
  return encodeBase64Url(utf8(JSON.stringify(signedReceiptToJson(signed))));
}

/**
 * Decodes a `Livepay-Receipt` value strictly; throws `PersistentWireError`.
 * @example decodeReceiptHeader(res.headers.get("Livepay-Receipt")!)
 */
export function decodeReceiptHeader(value: string): SignedReceipt {
  return signedReceiptFromJson(decodeJsonHeader(value, LIVEPAY_RECEIPT_HEADER));
}

/**
 * The path of the receipt endpoint for a quote: `/receipts/{quoteId}`.
 * @example new URL(receiptPath(quoteId), origin)
 */
export function receiptPath(quoteId: Hex): string {
  return `/receipts/${quoteId.toLowerCase()}`;
}
