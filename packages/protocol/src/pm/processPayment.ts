import { checksumAddress } from "../bytes/address.js";
import type { Hex } from "../bytes/hex.js";
import { LivepayError } from "../errors.js";
import { Rational } from "../money/rational.js";
import type { Payment } from "../wire/payment.js";
import type { ReceiveTicketError } from "./errors.js";
import type { Ticket } from "./ticket.js";
import type { RecipientChainView, TicketRecipient } from "./ticketRecipient.js";

/** A winning ticket with everything its redemption needs. */
export interface WinningTicket {
  ticket: Ticket;
  sig: Hex;
  recipientRand: bigint;
  paramsExpirationBlock: bigint;
}

export interface ProcessPaymentResult {
  sender: Hex;
  /** Exact EV to credit to (sender, manifest): tickets before the first error only (spec §2.2 step 9). */
  credit: Rational;
  /** Tickets credited. */
  acceptedTickets: number;
  /** Winners to queue for redemption, including winners whose receive reported a non-fatal error. */
  winners: WinningTicket[];
  /**
   * The price the gateway echoed, authenticated: recipientRand binds it, so it is the price this
   * orchestrator advertised when it issued the params. Undefined for a ticket-less payment.
   */
  price?: Rational;
  /** The error to answer with: the fatal error, or the last non-fatal one. */
  error?: LivepayError;
}

/** Payment-level refusals (before any ticket is looked at). */
export class PaymentError extends LivepayError {}

/**
 * The orchestrator's handling of a decoded `Payment` (go-livepeer `ProcessPayment`, spec §2.2), as a
 * pure function: it validates every ticket in order with `recipient`, stops at the first fatal
 * error, credits EV only until the first error, and collects winners. The caller persists winners
 * and credit (in one transaction) before answering.
 *
 * Differences from go-livepeer, on purpose: a payment with tickets but no expiration params is
 * refused (Go dereferences nil); a ticket-less payment records no price (livepay debits at its own
 * advertised price, never at a price the gateway asserts).
 *
 * @example const r = processPayment(payment, recipient, { ...chain, recipientActive: true });
 */
export function processPayment(
  payment: Payment,
  recipient: TicketRecipient,
  chain: RecipientChainView & { recipientActive: boolean },
): ProcessPaymentResult {
  const sender = payment.sender.toLowerCase() as Hex;
  const result: ProcessPaymentResult = { sender, credit: Rational.ZERO, acceptedTickets: 0, winners: [] };
  const params = payment.ticketParams;
  if (!params || payment.ticketSenderParams.length === 0) return result;

  if (!chain.recipientActive) {
    result.error = new PaymentError(
      "ORCHESTRATOR_INACTIVE",
      `orchestrator ${checksumAddress(params.recipient)} is inactive in round ${chain.lastInitializedRound}, cannot process payments`,
    );
    return result;
  }
  const ep = payment.expectedPrice;
  if (!ep) {
    result.error = new PaymentError(
      "INVALID_EXPECTED_PRICE",
      "invalid expected price sent with payment err=expected price is nil",
    );
    return result;
  }
  if (ep.pixelsPerUnit <= 0n) {
    result.error = new PaymentError(
      "INVALID_EXPECTED_PRICE",
      `invalid expected price sent with payment err=pixels per unit must be positive, got ${ep.pixelsPerUnit}`,
    );
    return result;
  }
  const exp = payment.expirationParams;
  if (!exp) {
    result.error = new PaymentError(
      "MISSING_EXPIRATION_PARAMS",
      "payment has tickets but no expiration params",
    );
    return result;
  }
  const price = Rational.of(ep.pricePerUnit, ep.pixelsPerUnit);

  let credit = Rational.ZERO;
  let lastError: ReceiveTicketError | undefined;
  for (const tsp of payment.ticketSenderParams) {
    const ticket: Ticket = {
      recipient: params.recipient,
      sender,
      faceValue: params.faceValue,
      winProb: params.winProb,
      senderNonce: tsp.senderNonce,
      recipientRandHash: params.recipientRandHash,
      creationRound: exp.creationRound,
      creationRoundBlockHash: exp.creationRoundBlockHash,
    };
    const r = recipient.receiveTicket(
      { ticket, sig: tsp.sig, seed: params.seed, expirationBlock: params.expirationBlock, price },
      chain,
    );
    if (r.won) {
      result.winners.push({
        ticket,
        sig: tsp.sig.toLowerCase() as Hex,
        recipientRand: r.recipientRand,
        paramsExpirationBlock: params.expirationBlock,
      });
    }
    if (r.error?.fatal) {
      result.credit = credit;
      result.error = r.error;
      return result;
    }
    if (r.error) lastError = r.error;
    if (!lastError) {
      credit = credit.add(r.ev);
      result.acceptedTickets++;
    }
  }
  result.credit = credit;
  if (result.acceptedTickets > 0) result.price = price;
  if (lastError) result.error = lastError;
  return result;
}
