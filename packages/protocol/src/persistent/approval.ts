import type { Quote } from "./quote.js";
import type { TicketState } from "./ticketState.js";

/**
 * The approval-sizing rule: the cumulative amount a payer signs for the next request,
 * `max(signedCumulative, cumulativeCharged + quote.maxCharge)`. It never approves more than one
 * request's maximum beyond what receipts justify.
 *
 * Bound: write S for the highest cumulative signed and C for cumulativeCharged. Each voucher sets
 * S' = max(S, C + M) for the request's maxCharge M, and C only grows, so by induction
 * S − C ≤ max M over the quotes approved on the ticket at every moment; with every receipt verified it
 * is at most the current request's M (plus any credit an earlier, larger maximum left unused).
 * A dishonest payee can therefore take, per ticket, at most that one maximum beyond its receipts.
 * @example signVoucher(domain, { ...ids, cumulativeAmount: approvalFor(state, quote), context }, key)
 */
export function approvalFor(state: TicketState, quote: Pick<Quote, "maxCharge">): bigint {
  const needed = state.cumulativeCharged + quote.maxCharge;
  return needed > state.signedCumulative ? needed : state.signedCumulative;
}
