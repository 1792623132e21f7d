import { normalizeAddress } from "../bytes/address.js";
import type { Hex } from "../bytes/hex.js";
import { LivepayError } from "../errors.js";
import type { CompactSignature } from "./compactSignature.js";
import type { Eip712Domain } from "./eip712.js";
import { VoucherRejectedError } from "./errors.js";
import type { Quote } from "./quote.js";
import { applyVoucher, type TicketState } from "./ticketState.js";
import { recoverVoucherSigner, type Voucher } from "./voucher.js";
import { voucherContext } from "./voucherContext.js";

/** A voucher offered for a quote, as the payee receives it. */
export interface VoucherOffer {
  quote: Quote;
  /** quoteHash(domain, quote), which the payee computed when it issued the quote. */
  quoteHash: Hex;
  voucher: Voucher;
  signature: Hex | Uint8Array | CompactSignature;
}

/** What the payee knows when a voucher arrives. */
export interface VoucherAcceptContext {
  domain: Eip712Domain;
  /** Current time, unix seconds. */
  nowSeconds: bigint;
  /**
   * Whether a key other than the payer may sign for this payer (a registered, usable delegation for
   * this payee whose cap covers the exposure): the node answers from the chain. Default: none.
   */
  isDelegatedKey?: (key: Hex) => boolean;
}

function reject(code: string, message: string, details: Record<string, unknown> = {}): VoucherRejectedError {
  return new VoucherRejectedError(code, message, details);
}

/**
 * The payee's acceptance of a voucher before any work, in this order: quote still valid
 * (`VOUCHER_QUOTE_EXPIRED`); voucher and quote for this ticket (`VOUCHER_TICKET_MISMATCH`); context =
 * voucherContext(quoteHash, last receipt hash) (`VOUCHER_CONTEXT_MISMATCH`: an old voucher, another
 * quote's, or a payer that has not seen the last receipt); amounts only grow (`VOUCHER_NOT_MONOTONIC`);
 * cumulative ≥ cumulativeCharged + maxCharge (`VOUCHER_INSUFFICIENT`); signature by the payer or a
 * delegated key (`VOUCHER_SIGNATURE_INVALID`, `VOUCHER_SIGNER_NOT_AUTHORIZED`) and the ticket's bound key
 * (`VOUCHER_SIGNER_NOT_BOUND`). Returns the state with the voucher recorded and the quote pending.
 *
 * Because the context must name this quote, credit already on the ticket never pays for a request
 * without a new payer signature. The reserve admission rule (DESIGN) is the node's, on top.
 * @example const { state: next, signer } = acceptVoucher(state, { quote, quoteHash, voucher, signature }, { domain, nowSeconds });
 */
export function acceptVoucher(
  state: TicketState,
  offer: VoucherOffer,
  ctx: VoucherAcceptContext,
): { state: TicketState; signer: Hex } {
  const { quote, voucher } = offer;
  if (quote.expiry <= ctx.nowSeconds) {
    throw reject("VOUCHER_QUOTE_EXPIRED", "quote has expired", { expiry: String(quote.expiry) });
  }
  const ids: [string, unknown, unknown][] = [
    ["payer", normalizeAddress(voucher.payer), state.payer],
    ["payee", normalizeAddress(voucher.payee), state.payee],
    ["ticketId", voucher.ticketId, state.ticketId],
    ["epoch", voucher.epoch, state.epoch],
    ["quote.payer", normalizeAddress(quote.payer), state.payer],
    ["quote.payee", normalizeAddress(quote.payee), state.payee],
    ["quote.ticketId", quote.ticketId, state.ticketId],
  ];
  for (const [field, got, want] of ids) {
    if (got !== want) {
      throw reject("VOUCHER_TICKET_MISMATCH", `voucher ${field} is not this ticket's`, {
        field,
        value: String(got),
        expected: String(want),
      });
    }
  }
  const context = voucherContext(offer.quoteHash, state.lastReceiptHash);
  if (voucher.context.toLowerCase() !== context) {
    throw reject("VOUCHER_CONTEXT_MISMATCH", "voucher context is not this quote and the last receipt", {
      context: voucher.context,
      expected: context,
      lastReceiptHash: state.lastReceiptHash,
    });
  }
  if (voucher.cumulativeAmount < state.signedCumulative) {
    throw reject("VOUCHER_NOT_MONOTONIC", "voucher cumulative amount is below the highest signed", {
      cumulativeAmount: String(voucher.cumulativeAmount),
      signedCumulative: String(state.signedCumulative),
    });
  }
  const needed = state.cumulativeCharged + quote.maxCharge;
  if (voucher.cumulativeAmount < needed) {
    throw reject("VOUCHER_INSUFFICIENT", "voucher does not cover cumulativeCharged + maxCharge", {
      cumulativeAmount: String(voucher.cumulativeAmount),
      needed: String(needed),
    });
  }
  let signer: Hex;
  try {
    signer = recoverVoucherSigner(ctx.domain, voucher, offer.signature);
  } catch (e) {
    throw reject("VOUCHER_SIGNATURE_INVALID", "voucher signature is invalid", {
      reason: e instanceof LivepayError ? e.code : String(e),
    });
  }
  if (signer !== state.payer && !(ctx.isDelegatedKey?.(signer) ?? false)) {
    throw reject("VOUCHER_SIGNER_NOT_AUTHORIZED", "voucher signer is not the payer or a delegated key", {
      signer,
    });
  }
  return {
    state: applyVoucher(state, {
      cumulativeAmount: voucher.cumulativeAmount,
      quoteHash: offer.quoteHash,
      signer,
    }),
    signer,
  };
}
