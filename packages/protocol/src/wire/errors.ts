import { LivepayError } from "../errors.js";

/**
 * Stable codes of `WireError`.
 * - `INVALID_BASE64`: a header is not strict standard base64 with padding.
 * - `INVALID_PROTOBUF`: bytes are not a well-formed message of the expected type (truncated,
 *   wrong wire type, bad varint, groups, invalid UTF-8 in a string field, ...).
 * - `HEADER_TOO_LARGE` / `MESSAGE_TOO_LARGE`: input over the caps of `limits.ts`, rejected before decoding.
 * - `TOO_MANY_TICKETS`: a Payment with more ticket sender params than `MAX_PAYMENT_TICKET_SENDER_PARAMS`.
 * - `INVALID_FIELD`: well-formed protobuf whose field value is not acceptable (address not 20 bytes,
 *   hash not 32 bytes, integer out of range, missing required field), on decode or on encode.
 * - `SEGMENT_SIG_INVALID`: segment credentials not signed by the payment sender.
 * - `AUTH_TOKEN_MISSING` / `AUTH_TOKEN_INVALID` / `AUTH_TOKEN_EXPIRED`: auth token checks of §4.3.
 */
export type WireErrorCode =
  | "INVALID_BASE64"
  | "INVALID_PROTOBUF"
  | "HEADER_TOO_LARGE"
  | "MESSAGE_TOO_LARGE"
  | "TOO_MANY_TICKETS"
  | "INVALID_FIELD"
  | "SEGMENT_SIG_INVALID"
  | "AUTH_TOKEN_MISSING"
  | "AUTH_TOKEN_INVALID"
  | "AUTH_TOKEN_EXPIRED";

/**
 * The only error the wire decoders throw, whatever the input: callers map `code` to a response
 * (go-livepeer answers a bad payment header with HTTP 402, a bad segment signature with 403).
 *
 * @example
 * try { decodePaymentHeader(h) } catch (e) { if (e instanceof WireError) reply(402, e.code) }
 */
export class WireError extends LivepayError {
  declare readonly code: WireErrorCode;

  // Not useless: it narrows `code` to WireErrorCode for callers.
  // eslint-disable-next-line @typescript-eslint/no-useless-constructor
  constructor(code: WireErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}
