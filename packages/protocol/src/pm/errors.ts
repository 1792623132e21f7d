import { LivepayError } from "../errors.js";

/**
 * A ticket the recipient refuses, with go-livepeer's exact message. `fatal` errors stop processing
 * the rest of the payment (spec §2.2 step 9); non-fatal ones stop crediting but later tickets are
 * still checked and winners still queued.
 */
export class ReceiveTicketError extends LivepayError {
  readonly fatal: boolean;

  constructor(code: string, message: string, fatal: boolean, details?: Record<string, unknown>) {
    super(code, message, details);
    this.fatal = fatal;
  }
}

/** Ticket params a sender refuses to use (spec §3.2), with go-livepeer's exact message. */
export class TicketParamsError extends LivepayError {}

/** Face value / win probability cannot be set for this sender (spec §2.1). */
export class InsufficientReserveError extends LivepayError {
  constructor(details?: Record<string, unknown>) {
    super("INSUFFICIENT_SENDER_RESERVE", "insufficient sender reserve", details);
  }
}
