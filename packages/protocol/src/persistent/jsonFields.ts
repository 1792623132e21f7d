import { tryHexToBytes, type Hex } from "../bytes/hex.js";
import { PersistentWireError } from "./errors.js";

// Strict field readers shared by the persistent JSON codecs (internal: not re-exported by the barrel).

const MAX_STRING = 1024;

function wireError(field: string, what: string): PersistentWireError {
  return new PersistentWireError("INVALID_PERSISTENT_JSON", `${field} must be ${what}`, { field });
}

/**
 * The object behind an unknown JSON value, or a typed error naming `field`.
 * @example const o = asObject(JSON.parse(text), "body");
 */
export function asObject(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw wireError(field, "an object");
  return value as Record<string, unknown>;
}

/**
 * A uint of `bits` from a decimal string (no sign, no leading zeros, no exponent).
 * @example uintField({ a: "12" }, "a", 64) // 12n
 */
export function uintField(o: Record<string, unknown>, field: string, bits: number): bigint {
  const v = o[field];
  if (typeof v !== "string" || !/^(0|[1-9][0-9]{0,77})$/.test(v)) throw wireError(field, "a decimal string");
  const n = BigInt(v);
  if (n >> BigInt(bits) !== 0n) throw wireError(field, `a uint${bits}`);
  return n;
}

/**
 * 0x hex of exactly `size` bytes, returned lowercase.
 * @example hexField({ h: "0xAB" }, "h", 1) // "0xab"
 */
export function hexField(o: Record<string, unknown>, field: string, size: number): Hex {
  const v = o[field];
  const b = tryHexToBytes(v, true);
  if (!b || b.length !== size) throw wireError(field, `${size} bytes of 0x hex`);
  return (v as string).toLowerCase() as Hex;
}

/** A string of at most 1024 UTF-16 units. @example stringField({ m: "x" }, "m") // "x" */
export function stringField(o: Record<string, unknown>, field: string): string {
  const v = o[field];
  if (typeof v !== "string" || v.length > MAX_STRING)
    throw wireError(field, `a string of at most ${MAX_STRING}`);
  return v;
}
