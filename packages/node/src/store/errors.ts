import { LivepayError } from "@livepay/protocol";

/**
 * Stable codes of store failures. HTTP layers map them without parsing messages:
 * `INSUFFICIENT_CREDIT` → 402, `CAP_EXCEEDED` → 429, `KEY_NOT_FOUND`/`KEY_DISABLED` → 401/403,
 * `IDEMPOTENCY_CONFLICT`/`IDEMPOTENCY_IN_PROGRESS` → 409 (or 422), `STORE_INVALID_INPUT` → 400.
 * Every operation that throws one of these changed nothing.
 */
export type StoreErrorCode =
  /** The API key's available credit is below the amount asked for. */
  | "INSUFFICIENT_CREDIT"
  /** A spending cap (per request or per UTC day) would be exceeded; `details.cap` says which. */
  | "CAP_EXCEEDED"
  /** No API key with that id (or plaintext). */
  | "KEY_NOT_FOUND"
  /** The API key exists but was disabled. */
  | "KEY_DISABLED"
  /** No reservation with that id. */
  | "RESERVATION_NOT_FOUND"
  /** The reservation was already committed or released (exactly-once: no double refund). */
  | "RESERVATION_NOT_OPEN"
  /** A commit asked for more than was reserved. */
  | "COMMIT_EXCEEDS_RESERVATION"
  /** The same idempotency key was used with a different request (or a different reserved amount). */
  | "IDEMPOTENCY_CONFLICT"
  /** No idempotency record in progress for that key (complete/abandon without begin). */
  | "IDEMPOTENCY_NOT_FOUND"
  /** A session would pass the uint32 nonce limit. */
  | "NONCE_EXHAUSTED"
  /** A winning ticket hash that is not in the queue. */
  | "TICKET_NOT_FOUND"
  /** Bad argument (negative amount, malformed address, bad hash, non-integer). */
  | "STORE_INVALID_INPUT"
  /** The store cannot be opened with this configuration (bad URL, both url and path). */
  | "STORE_CONFIG"
  /** The database was migrated by a newer livepay than this one. */
  | "STORE_SCHEMA_TOO_NEW"
  /** A value read back from the database is not what this code wrote (corruption or manual edit). */
  | "STORE_CORRUPT";

/**
 * A store failure with a stable `code` and structured `details`.
 * @example try { await store.reservations.reserve(id, 10n) } catch (e) { if (e instanceof StoreError && e.code === "INSUFFICIENT_CREDIT") reply(402) }
 */
export class StoreError extends LivepayError {
  declare readonly code: StoreErrorCode;

  // Not useless: it narrows `code` to StoreErrorCode for callers.
  // eslint-disable-next-line @typescript-eslint/no-useless-constructor
  constructor(code: StoreErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}

/**
 * Whether `e` is a `StoreError`, optionally with the given code.
 * @example if (isStoreError(e, "CAP_EXCEEDED")) reply(429)
 */
export function isStoreError(e: unknown, code?: StoreErrorCode): e is StoreError {
  return e instanceof StoreError && (code === undefined || e.code === code);
}
