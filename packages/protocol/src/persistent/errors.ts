import { LivepayError } from "../errors.js";

/**
 * A quote the payer refuses to sign for. `code` names the violated rule (e.g. `QUOTE_REQUEST_MISMATCH`,
 * `QUOTE_MAX_CHARGE_MISMATCH`); details carry the expected and received values.
 * @example try { checkQuote(q, ctx) } catch (e) { if (e instanceof QuoteCheckError) console.log(e.code) }
 */
export class QuoteCheckError extends LivepayError {}

/**
 * A receipt that fails the payer's checks before it signs again (`RECEIPT_CHARGE_ABOVE_QUOTE`,
 * `RECEIPT_CHAIN_BROKEN`, `RECEIPT_SIGNER_MISMATCH`, ...): evidence of a misbehaving payee (or a bug).
 * @example try { checkReceipt(state, q, r, ctx) } catch (e) { if (e instanceof ReceiptCheckError) block(payee) }
 */
export class ReceiptCheckError extends LivepayError {}

/**
 * A voucher the payee refuses before doing work (`VOUCHER_CONTEXT_MISMATCH`, `VOUCHER_INSUFFICIENT`, ...).
 * The orchestrator maps it to a corrective 402.
 * @example try { acceptVoucher(state, input, ctx) } catch (e) { if (e instanceof VoucherRejectedError) reply402(e.code) }
 */
export class VoucherRejectedError extends LivepayError {}

/**
 * A malformed persistent-ticket message on the wire (JSON shape, base64url, header, SSE event).
 * @example try { decodeVoucherHeader(h) } catch (e) { if (e instanceof PersistentWireError) reply400() }
 */
export class PersistentWireError extends LivepayError {}
