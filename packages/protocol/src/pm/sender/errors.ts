import { LivepayError } from "../../errors.js";
import { TicketParamsError } from "../errors.js";

/**
 * Stable codes of the `TicketParamsError`s `validateTicketParams` throws, one per check of spec §3.2.
 * @example if (e instanceof TicketParamsError && e.code === TicketParamsErrorCode.NoSenderDeposit) fund()
 */
export const TicketParamsErrorCode = {
  Nil: "TICKET_PARAMS_NIL",
  ExpirationBlockZero: "TICKET_PARAMS_EXPIRATION_BLOCK_ZERO",
  Expired: "TICKET_PARAMS_EXPIRED",
  FaceValueTooLow: "TICKET_FACE_VALUE_TOO_LOW",
  EVTooHigh: "TICKET_EV_TOO_HIGH",
  SenderUnlocking: "SENDER_UNLOCKING",
  NoSenderReserve: "NO_SENDER_RESERVE",
  NoSenderDeposit: "NO_SENDER_DEPOSIT",
  TotalEVTooHigh: "TOTAL_TICKET_EV_TOO_HIGH",
  FaceValueTooHigh: "TICKET_FACE_VALUE_TOO_HIGH",
} as const;

export type TicketParamsErrorCode = (typeof TicketParamsErrorCode)[keyof typeof TicketParamsErrorCode];

/**
 * go-livepeer's `ErrTicketParamsExpired` ("TicketParams expired"): the only validation failure a
 * gateway answers by refreshing the orchestrator's params instead of failing the request (spec §3.6).
 * @example if (e instanceof TicketParamsExpiredError) await refreshSession()
 */
export class TicketParamsExpiredError extends TicketParamsError {
  constructor(details?: Record<string, unknown>) {
    super(TicketParamsErrorCode.Expired, "TicketParams expired", details);
  }
}

/**
 * No session for this id in the `TicketSender`. The message is go-livepeer's, whose `%x` of the id
 * string prints the hex of its ASCII bytes ("0xab" -> "30786162").
 * @example new UnknownSessionError("0xab").message // "error loading session: 30786162"
 */
export class UnknownSessionError extends LivepayError {
  constructor(sessionId: string) {
    let hex = "";
    for (const b of new TextEncoder().encode(sessionId)) hex += b.toString(16).padStart(2, "0");
    super("UNKNOWN_SESSION", `error loading session: ${hex}`, { sessionId });
  }
}

/**
 * The session's uint32 nonce space cannot hold the requested batch. go-livepeer's atomic counter would
 * wrap to 0 and re-use nonces the recipient already saw; livepay refuses and leaves the session unchanged.
 * @example new SenderNonceExhaustedError("0x2aad...", 4294967295n, 1)
 */
export class SenderNonceExhaustedError extends LivepayError {
  constructor(sessionId: string, nonce: bigint, size: number) {
    super("SENDER_NONCE_EXHAUSTED", "sender nonce exhausted for session", {
      sessionId,
      nonce: nonce.toString(),
      size,
    });
  }
}

/**
 * A balance update completed twice, or on a balance other than the one that staged it. Completing
 * twice would credit the reserved amount twice.
 * @example balance.completeUpdate(update, "staged"); balance.completeUpdate(update, "staged") // throws
 */
export class BalanceUpdateError extends LivepayError {}
