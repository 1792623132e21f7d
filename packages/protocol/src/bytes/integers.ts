import { InvalidInputError } from "../errors.js";
import { bytesToHex, tryHexToBytes } from "./hex.js";

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
  const hex = v.toString(16);
  return tryHexToBytes(hex.length % 2 === 1 ? "0" + hex : hex)!;
}

/**
 * Writes `x` big-endian into `out[offset .. offset + size)`, left-padded with zeros; throws if it does
 * not fit. The hot path of ticket hashing: no intermediate arrays.
 * @example writeUint(buf, 40, faceValue, 32)
 */
export function writeUint(out: Uint8Array, offset: number, x: bigint, size: number): void {
  const hex = x.toString(16);
  if (x < 0n || hex.length > size * 2) {
    throw new InvalidInputError("INTEGER_OUT_OF_RANGE", `value does not fit in ${size} bytes`, {
      value: x.toString(),
    });
  }
  out.fill(0, offset, offset + size);
  const bytes = tryHexToBytes(hex.length % 2 === 1 ? "0" + hex : hex)!;
  out.set(bytes, offset + size - bytes.length);
}

/**
 * `x` as exactly `size` big-endian bytes; throws if it does not fit.
 * @example fixedBytes(5n, 4) // [0, 0, 0, 5]
 */
export function fixedBytes(x: bigint, size: number): Uint8Array {
  const out = new Uint8Array(size);
  writeUint(out, 0, x, size);
  return out;
}
