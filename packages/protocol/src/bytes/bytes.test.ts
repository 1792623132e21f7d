import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../errors.js";
import { addressToBytes, bytesToAddress, checksumAddress, normalizeAddress } from "./address.js";
import { bytesToHex, concatBytes, equalBytes, hexToBytes } from "./hex.js";
import { MAX_UINT256, bytesToBigInt, fixedBytes, minBytes, u256 } from "./integers.js";

describe("hex", () => {
  it("round-trips any bytes and rejects malformed hex", () => {
    fc.assert(
      fc.property(fc.uint8Array(), (b) => {
        expect(equalBytes(hexToBytes(bytesToHex(b)), b)).toBe(true);
      }),
    );
    for (const bad of ["0x1", "0xzz", "12 34", "0x0x00"])
      expect(() => hexToBytes(bad)).toThrow(InvalidInputError);
    expect(bytesToHex(concatBytes(Uint8Array.of(1), Uint8Array.of(2, 3)))).toBe("0x010203");
  });
});

describe("integers", () => {
  it("minBytes is Go's big.Int.Bytes: empty for 0, no leading zeros", () => {
    expect(minBytes(0n).length).toBe(0);
    expect(bytesToHex(minBytes(256n))).toBe("0x0100");
    expect(bytesToHex(minBytes(-5n))).toBe("0x05");
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_UINT256 }), (x) => {
        const m = minBytes(x);
        expect(bytesToBigInt(m)).toBe(x);
        if (m.length > 0) expect(m[0]).not.toBe(0);
        expect(bytesToBigInt(u256(x))).toBe(x);
        expect(u256(x).length).toBe(32);
      }),
    );
  });

  it("rejects out-of-range values", () => {
    expect(() => u256(-1n)).toThrow(InvalidInputError);
    expect(() => u256(MAX_UINT256 + 1n)).toThrow(InvalidInputError);
    expect(() => fixedBytes(256n, 1)).toThrow(InvalidInputError);
  });
});

describe("addresses", () => {
  it("normalizes, checksums (EIP-55) and validates", () => {
    expect(checksumAddress("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed")).toBe(
      "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    );
    expect(normalizeAddress("0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266")).toBe(
      "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
    );
    expect(() => normalizeAddress("0x1234")).toThrow(InvalidInputError);
    expect(() => bytesToAddress(new Uint8Array(19))).toThrow(InvalidInputError);
    expect(bytesToAddress(addressToBytes("0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266"))).toBe(
      "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
    );
  });
});
