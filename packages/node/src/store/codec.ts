// The one place where values cross between TypeScript and the database. Money is a decimal string of
// bigint wei (TEXT) or a rational as two TEXT columns (num, den): never REAL, never NUMERIC, never a JS
// number, so SQLite (which would silently turn big integers into doubles) and PostgreSQL store the same
// exact values. Integers that are not money (blocks, rounds, nonces, times) are BIGINT columns;
// better-sqlite3 returns them as bigint (safe integers on) and pg as decimal strings, both read here.
import { Rational, normalizeAddress, type Hex } from "@livepay/protocol";
import { StoreError } from "./errors.js";

const DECIMAL_RE = /^-?(0|[1-9][0-9]*)$/;
const MAX_UINT256 = (1n << 256n) - 1n;

function invalid(field: string, message: string, value?: unknown): StoreError {
  return new StoreError("STORE_INVALID_INPUT", `${field}: ${message}`, {
    field,
    ...(value === undefined ? {} : { value: String(value).slice(0, 80) }),
  });
}

function corrupt(field: string, value: unknown): StoreError {
  return new StoreError("STORE_CORRUPT", `unexpected database value for ${field}`, {
    field,
    value: String(value).slice(0, 80),
  });
}

/**
 * Validates a wei amount given to the store (a bigint, `>= 0` unless `signed`) and returns its TEXT form.
 * @example weiToDb(10n ** 18n, "creditWei") // "1000000000000000000"
 */
export function weiToDb(value: bigint, field: string, signed = false): string {
  if (typeof value !== "bigint") throw invalid(field, "must be a bigint", value);
  if (!signed && value < 0n) throw invalid(field, "must not be negative", value);
  return value.toString();
}

/**
 * A non-negative bigint argument below 2^256 (face values, win probabilities, recipientRand).
 * @example uint256ToDb(ticket.winProb, "winProb")
 */
export function uint256ToDb(value: bigint, field: string): string {
  if (typeof value !== "bigint" || value < 0n || value > MAX_UINT256) {
    throw invalid(field, "must be an unsigned 256-bit bigint", value);
  }
  return value.toString();
}

/**
 * A non-negative bigint argument that fits a signed 64-bit BIGINT column (blocks, rounds, nonces).
 * @example int64ToDb(block, "block")
 */
export function int64ToDb(value: bigint, field: string): bigint {
  if (typeof value !== "bigint" || value < 0n || value > 0x7fffffffffffffffn) {
    throw invalid(field, "must be a non-negative 64-bit bigint", value);
  }
  return value;
}

/**
 * Reads a decimal TEXT wei column back as bigint.
 * @example weiFromDb(row.available_wei, "available_wei") // 5n
 */
export function weiFromDb(value: unknown, field: string): bigint {
  if (typeof value !== "string" || !DECIMAL_RE.test(value)) throw corrupt(field, value);
  return BigInt(value);
}

/**
 * Reads a BIGINT/INTEGER column (bigint from better-sqlite3, string from pg, number from pg int4).
 * @example intFromDb(row.params_expiration_block, "params_expiration_block") // 123n
 */
export function intFromDb(value: unknown, field: string): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === "string" && DECIMAL_RE.test(value)) return BigInt(value);
  throw corrupt(field, value);
}

/**
 * Reads a BIGINT column that is known to be small (counts, milliseconds since the epoch) as a number.
 * @example numberFromDb(row.created_at, "created_at") // 1718000000000
 */
export function numberFromDb(value: unknown, field: string): number {
  const v = intFromDb(value, field);
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw corrupt(field, value);
  return Number(v);
}

/**
 * Validates a rational argument (any sign unless `nonNegative`) and returns its two TEXT columns.
 * @example rationalToDb(Rational.of(1n, 3n), "amount") // { num: "1", den: "3" }
 */
export function rationalToDb(
  value: Rational | bigint,
  field: string,
  nonNegative = false,
): { num: string; den: string } {
  let r: Rational;
  if (typeof value === "bigint") r = Rational.of(value);
  else if (value instanceof Rational) r = value;
  else throw invalid(field, "must be a Rational or a bigint", value);
  if (nonNegative && r.sign() < 0) throw invalid(field, "must not be negative", r.toString());
  return { num: r.num.toString(), den: r.den.toString() };
}

/** Coerces a rational-or-bigint argument. @example toRational(5n) // 5/1 */
export function toRational(value: Rational | bigint, field: string): Rational {
  const { num, den } = rationalToDb(value, field);
  return Rational.of(BigInt(num), BigInt(den));
}

/**
 * Reads two TEXT columns back as a normalized Rational.
 * @example rationalFromDb("1", "3", "amount") // 1/3
 */
export function rationalFromDb(num: unknown, den: unknown, field: string): Rational {
  if (typeof num !== "string" || !DECIMAL_RE.test(num)) throw corrupt(`${field}_num`, num);
  if (typeof den !== "string" || !DECIMAL_RE.test(den) || den === "0" || den.startsWith("-")) {
    throw corrupt(`${field}_den`, den);
  }
  return Rational.of(BigInt(num), BigInt(den));
}

/**
 * Validates an address argument and returns it lowercase (the stored form).
 * @example addressToDb("0xF39F...", "sender") // "0xf39f..."
 */
export function addressToDb(value: string, field: string): Hex {
  try {
    return normalizeAddress(value);
  } catch {
    throw invalid(field, "must be a 0x-prefixed 20-byte address", value);
  }
}

/**
 * Validates a 32-byte hash argument and returns it lowercase.
 * @example hash32ToDb(ticketHash, "hash")
 */
export function hash32ToDb(value: string, field: string): Hex {
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(value)) {
    throw invalid(field, "must be a 0x-prefixed 32-byte hex string", value);
  }
  return value.toLowerCase() as Hex;
}

/**
 * Validates a hex byte string argument (signatures) and returns it lowercase.
 * @example hexToDb(sig, "sig")
 */
export function hexToDb(value: string, field: string): Hex {
  if (typeof value !== "string" || !/^0x([0-9a-fA-F]{2})*$/.test(value)) {
    throw invalid(field, "must be 0x-prefixed hex bytes", value);
  }
  return value.toLowerCase() as Hex;
}

/**
 * Validates a short identifier or label (non-empty, at most `max` characters).
 * @example textToDb(name, "name")
 */
export function textToDb(value: string, field: string, max = 256): string {
  if (typeof value !== "string" || value.length === 0 || value.length > max) {
    throw invalid(field, `must be a non-empty string of at most ${max} characters`, value);
  }
  return value;
}

/**
 * Validates a positive safe integer count.
 * @example countArg(5, "count")
 */
export function countArg(value: number, field: string, min = 1): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw invalid(field, `must be an integer >= ${min}`, value);
  }
  return value;
}

/**
 * Reads a TEXT column that must be a string.
 * @example textFromDb(row.name, "name")
 */
export function textFromDb(value: unknown, field: string): string {
  if (typeof value !== "string") throw corrupt(field, value);
  return value;
}

/**
 * The UTC day of a timestamp, `YYYY-MM-DD`: the bucket of daily caps and usage aggregates.
 * @example utcDay(Date.UTC(2025, 0, 2, 23, 59)) // "2025-01-02"
 */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
