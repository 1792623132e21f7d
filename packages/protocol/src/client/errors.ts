import { LivepayError } from "../errors.js";

/**
 * A quote the spending policy refuses (`POLICY_MAX_PER_REQUEST`, `POLICY_MAX_PER_DAY`,
 * `POLICY_PAYEE_NOT_ALLOWED`, `POLICY_PAYEE_BLOCKED`, `POLICY_MODEL_NOT_ALLOWED`, ...). Nothing was signed.
 * @example try { await payer.fetch(url, init) } catch (e) { if (e instanceof PolicyError) console.log(e.code) }
 */
export class PolicyError extends LivepayError {}

/**
 * The payment exchange failed (`PAYMENT_REJECTED`: the payee refused the voucher; `PAYMENT_TICKET_BUSY`;
 * `PAYMENT_DOMAIN_MISMATCH`; `PAYMENT_EPOCH_MISMATCH`; `PAYMENT_TICKETS_EXHAUSTED`;
 * `PAYMENT_UNRESOLVED_RECEIPTS`; `PAYMENT_BAD_RESPONSE`).
 * @example if (e instanceof PaymentError && e.code === "PAYMENT_REJECTED") console.log(e.details)
 */
export class PaymentError extends LivepayError {}

/**
 * A paid request came back without a receipt (`RECEIPT_MISSING`): the payer assumes the quote's
 * maxCharge, stops using the ticket and can fetch the receipt later (`payer.fetchReceipt(quoteId)`).
 * @example payer = createPayer({ ..., onReceiptProblem: (e) => { if (e instanceof ReceiptMissingError) later(e.details.quoteId) } })
 */
export class ReceiptMissingError extends LivepayError {}
