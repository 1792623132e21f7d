import { InvalidInputError } from "../errors.js";
import { bytesToHex } from "./hex.js";

/** 2^256 - 1: the largest uint256, Livepeer's `maxWinProb`. */
export const MAX_UINT256 = (1n << 256n) - 1n;

/**
 * Big-endian unsigned integer of a byte string (empty = 0), like Go's `big.Int.SetBytes`.
 * @example bytesToBigInt(new Uint8Array([1, 0])) // 256n
 */
export function bytesToBigInt(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  return BigInt(bytesToHex(bytes));
}

/**
 * 32-byte big-endian, left-zero-padded: Solidity `uint256` in `abi.encodePacked`.
 * @example u256(1n) // 31 zero bytes then 0x01
 */
export function u256(x: bigint): Uint8Array {
  if (x < 0n || x > MAX_UINT256) {
    throw new InvalidInputError("UINT256_OUT_OF_RANGE", "value does not fit in uint256", {
      value: x.toString(),
    });
  }
  return fixedBytes(x, 32);
}

/**
 * Big-endian magnitude with no leading zero bytes, like Go's `big.Int.Bytes()`: 0 is empty.
 * The sign is dropped, as Go does.
 * @example minBytes(256n) // Uint8Array [1, 0]
 */
export function minBytes(x: bigint): Uint8Array {
  const v = x < 0n ? -x : x;
  if (v === 0n) return new Uint8Array(0);
  let hex = v.toString(16);
  if (hex.length % 2 === 1) hex = "0" + hex;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/**
 * `x` as exactly `size` big-endian bytes; throws if it does not fit.
 * @example fixedBytes(5n, 4) // [0, 0, 0, 5]
 */
export function fixedBytes(x: bigint, size: number): Uint8Array {
  const m = minBytes(x);
  if (x < 0n || m.length > size) {
    throw new InvalidInputError("INTEGER_OUT_OF_RANGE", `value does not fit in ${size} bytes`, {
      value: x.toString(),
    });
  }
  const out = new Uint8Array(size);
  out.set(m, size - m.length);
  return out;
}
