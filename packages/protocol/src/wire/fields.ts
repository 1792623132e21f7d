import { bytesToHex, tryHexToBytes, type Hex } from "../bytes/hex.js";
import { MAX_UINT256, minBytes } from "../bytes/integers.js";
import { WireError } from "./errors.js";

// Conversions between protobuf field values and livepay's domain values. Decoders (`dec*`) take
// what protobuf-es produced; encoders (`enc*`) take caller input, which may come from plain
// JavaScript, so they check types as well as ranges. Every failure is a WireError INVALID_FIELD
// naming the field.

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

/** Throws the INVALID_FIELD WireError for `field`. @example invalidField("Payment.sender", "must be 20 bytes") */
export function invalidField(field: string, reason: string, details?: Record<string, unknown>): never {
  throw new WireError("INVALID_FIELD", `${field} ${reason}`, { field, ...details });
}

// ---- decode ---------------------------------------------------------------------------------

/** A fixed-size field (address 20, hash 32): exactly `size` bytes. @example decFixed(b, 20, "Payment.sender") */
export function decFixed(bytes: Uint8Array, size: number, field: string): Hex {
  if (bytes.length !== size) invalidField(field, `must be ${size} bytes`, { length: bytes.length });
  return bytesToHex(bytes);
}

/** A fixed-size field that proto3 omits when empty: undefined when empty. @example decOptFixed(b, 20, "OrchestratorInfo.address") */
export function decOptFixed(bytes: Uint8Array, size: number, field: string): Hex | undefined {
  return bytes.length === 0 ? undefined : decFixed(bytes, size, field);
}

/**
 * An unsigned integer carried as big-endian bytes. Leading zero bytes are accepted (Go reads these
 * with `big.Int.SetBytes`); more than 32 significant bytes are rejected, since no such value can be
 * part of a valid ticket (the broker's fields are uint256).
 * @example decUint256(new Uint8Array([0, 1, 0]), "TicketParams.face_value") // 256n
 */
export function decUint256(bytes: Uint8Array, field: string): bigint {
  let i = 0;
  while (i < bytes.length && bytes[i] === 0) i++;
  if (bytes.length - i > 32) invalidField(field, "does not fit in 256 bits", { length: bytes.length - i });
  return i === bytes.length ? 0n : BigInt(bytesToHex(bytes.subarray(i)));
}

// ---- encode ---------------------------------------------------------------------------------

/**
 * Any even-length 0x hex (either case) as bytes. Validates and decodes in one pass: encoding a
 * Payment is mostly hex decoding of its signatures, so this is the hot path of `encodePayment`.
 * @example encHex("0x0102", "SegData.sig") // Uint8Array [1, 2]
 */
export function encHex(value: unknown, field: string): Uint8Array {
  return tryHexToBytes(value, true) ?? invalidField(field, "must be 0x-prefixed hex");
}

/** Exactly `size` bytes of 0x hex. @example encFixed("0xf39f...", 20, "Payment.sender") */
export function encFixed(value: unknown, size: number, field: string): Uint8Array {
  const b = encHex(value, field);
  if (b.length !== size) invalidField(field, `must be ${size} bytes`, { length: b.length });
  return b;
}

/** Like `encFixed`, but undefined encodes as empty (omitted). @example encOptFixed(info.address, 20, "OrchestratorInfo.address") */
export function encOptFixed(value: unknown, size: number, field: string): Uint8Array {
  return value === undefined ? new Uint8Array(0) : encFixed(value, size, field);
}

function bigintOf(value: unknown, field: string): bigint {
  if (typeof value === "bigint") return value;
  // Plain-JavaScript callers may pass safe integers; anything else is a bug to report, not to coerce.
  if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
  return invalidField(field, "must be an integer (bigint)");
}

/** 0 ≤ value < 2^256 as minimal big-endian bytes (0 is empty). @example encUint256(256n, "TicketParams.face_value") // [1, 0] */
export function encUint256(value: unknown, field: string): Uint8Array {
  const v = bigintOf(value, field);
  if (v < 0n || v > MAX_UINT256) invalidField(field, "must be an unsigned 256-bit integer");
  return minBytes(v);
}

/** A signed 64-bit integer. @example encInt64(1200n, "PriceInfo.pricePerUnit") */
export function encInt64(value: unknown, field: string): bigint {
  const v = bigintOf(value, field);
  if (v < INT64_MIN || v > INT64_MAX) invalidField(field, "must fit in int64");
  return v;
}

/** An unsigned 64-bit integer. @example encUint64(7n, "Capabilities.bitstring") */
export function encUint64(value: unknown, field: string): bigint {
  const v = bigintOf(value, field);
  if (v < 0n || v > UINT64_MAX) invalidField(field, "must fit in uint64");
  return v;
}

/** An unsigned 32-bit integer (number or bigint) as a number. @example encUint32(27, "PriceInfo.capability") */
export function encUint32(value: unknown, field: string): number {
  const v = bigintOf(value, field);
  if (v < 0n || v > 0xffffffffn) invalidField(field, "must fit in uint32");
  return Number(v);
}

/** A signed 32-bit integer. @example encInt32(2000, "SegData.duration") */
export function encInt32(value: unknown, field: string): number {
  const v = bigintOf(value, field);
  if (v < -(2n ** 31n) || v >= 2n ** 31n) invalidField(field, "must fit in int32");
  return Number(v);
}

/**
 * A string that survives UTF-8 encoding unchanged (no lone surrogates, which UTF-8 cannot carry).
 * @example encString("27_ByteDance/SDXL-Lightning", "PriceInfo.constraint")
 */
export function encString(value: unknown, field: string): string {
  if (typeof value !== "string") invalidField(field, "must be a string");
  if (LONE_SURROGATE.test(value)) invalidField(field, "must be well-formed Unicode (no lone surrogates)");
  return value;
}

/** A boolean. @example encBool(true, "SegData.calc_perceptual_hash") */
export function encBool(value: unknown, field: string): boolean {
  if (typeof value !== "boolean") invalidField(field, "must be a boolean");
  return value;
}

/** An array (elements are checked by the caller). @example encArray(p.ticketSenderParams, "Payment.ticket_sender_params") */
export function encArray(value: unknown, field: string): readonly unknown[] {
  if (!Array.isArray(value)) invalidField(field, "must be an array");
  return value;
}

/** A plain object (for nested messages). @example encObject(p.expectedPrice, "Payment.expected_price") */
export function encObject(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    invalidField(field, "must be an object");
  return value as Record<string, unknown>;
}
