import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../errors.js";
import { ReceiveTicketError } from "../errors.js";
import { availableFunds, depositCoversPending, maxFloat, reserveAlloc } from "./maxFloat.js";
import { isUnlockingSoon } from "./senderInfo.js";
import { SENDER, SENDER_CHECKSUM, senderInfo } from "./testFixtures.js";
import { validateSender } from "./validateSender.js";

const bitLength = (x: bigint) => (x === 0n ? 0 : x.toString(2).length);

/**
 * Go's `big.Float` quotient `SetInt(d) / SetInt(p) >= 3.0`, simulated independently: the exact
 * quotient rounded to nearest-even at `prec = max(64, bitlen(d), bitlen(p))` bits, then compared.
 */
function goFloatRatioAtLeast3(d: bigint, p: bigint): boolean {
  const prec = BigInt(Math.max(64, bitLength(d), bitLength(p)));
  if (d === 0n) return false;
  // Exponent e with 2^(e-1) <= d/p < 2^e.
  let e = BigInt(bitLength(d) - bitLength(p));
  const ge = (num: bigint, den: bigint, k: bigint) => (k >= 0n ? num >= den << k : num << -k >= den);
  if (ge(d, p, e)) e += 1n;
  // Mantissa m = round(d/p * 2^(prec-e)) with ties to even.
  const shift = prec - e;
  const num = shift >= 0n ? d << shift : d;
  const den = shift >= 0n ? p : p << -shift;
  let m = num / den;
  const rem2 = (num % den) * 2n;
  if (rem2 > den || (rem2 === den && m % 2n === 1n)) m += 1n;
  // value = m * 2^(e-prec) >= 3  <=>  m >= 3 * 2^(prec-e)
  return shift >= 0n ? m >= 3n << shift : m << -shift >= 3n;
}

describe("sender monitor math (spec §2.5)", () => {
  it("reserveAlloc: integer division before subtracting the claimed reserve", () => {
    const reserve = { fundsRemaining: 10n, claimedInCurrentRound: 1n };
    expect(reserveAlloc({ reserve, poolSize: 3n, claimedReserve: 1n })).toBe(2n);
    expect(reserveAlloc({ reserve, poolSize: 0n, claimedReserve: 1n })).toBe(0n);
    expect(reserveAlloc({ reserve, poolSize: 1n, claimedReserve: 0n })).toBe(11n);
    expect(reserveAlloc({ reserve, poolSize: 2n, claimedReserve: 6n })).toBe(-1n);
  });

  it("maxFloat ignores pending only when deposit >= 3 * pending", () => {
    const base = { ...senderInfo({ deposit: 300n }), poolSize: 10n, claimedReserve: 0n };
    // reserveAlloc = 1e18 / 10
    const alloc = 10n ** 17n;
    expect(maxFloat({ ...base, pending: 0n })).toBe(alloc);
    expect(maxFloat({ ...base, pending: 100n })).toBe(alloc);
    expect(maxFloat({ ...base, pending: 101n })).toBe(alloc - 101n);
    expect(maxFloat({ ...base, deposit: 0n, pending: 1n })).toBe(alloc - 1n);
    expect(availableFunds({ ...base, pending: 101n })).toBe(alloc + 300n - 101n);
    expect(maxFloat({ ...base, deposit: 14n, poolSize: 0n, pending: 5n })).toBe(-5n);
    expect(maxFloat({ ...base, deposit: 15n, poolSize: 0n, pending: 5n })).toBe(0n);
  });

  it("rejects negative or non-bigint amounts", () => {
    const base = { ...senderInfo(), poolSize: 10n, claimedReserve: 0n, pending: 0n };
    expect(() => maxFloat({ ...base, pending: -1n })).toThrow(InvalidInputError);
    expect(() => availableFunds({ ...base, deposit: -1n })).toThrow(InvalidInputError);
    expect(() => reserveAlloc({ ...base, poolSize: 1 as unknown as bigint })).toThrow(InvalidInputError);
  });

  it("the integer ratio test equals Go's big.Float test at the boundary", () => {
    for (const p of [1n, 3n, 7n, (1n << 64n) - 1n, 1n << 64n, (1n << 200n) - 1n, 10n ** 30n + 7n]) {
      for (const d of [3n * p - 2n, 3n * p - 1n, 3n * p, 3n * p + 1n, 2n * p, 0n]) {
        if (d < 0n) continue;
        expect(depositCoversPending(d, p)).toBe(goFloatRatioAtLeast3(d, p));
      }
    }
  });

  it("property: integer ratio test == Go's big.Float ratio test", () => {
    const big = fc.bigInt(1n, (1n << 300n) - 1n);
    fc.assert(
      fc.property(big, fc.bigInt(-4n, 4n), fc.boolean(), (p, delta, near) => {
        const d = near ? 3n * p + delta : p * 2n + delta;
        fc.pre(d >= 0n);
        expect(depositCoversPending(d, p)).toBe(goFloatRatioAtLeast3(d, p));
      }),
    );
    fc.assert(
      fc.property(fc.bigInt(0n, 1n << 80n), fc.bigInt(1n, 1n << 80n), (d, p) => {
        expect(depositCoversPending(d, p)).toBe(goFloatRatioAtLeast3(d, p));
      }),
    );
  });
});

describe("validateSender (recipient check 1)", () => {
  it("accepts a sender without a pending unlock or unlocking later", () => {
    expect(validateSender(SENDER, senderInfo(), 10n)).toBeUndefined();
    expect(validateSender(SENDER, senderInfo({ withdrawRound: 12n }), 10n)).toBeUndefined();
  });

  it("refuses a sender unlocking within a round, fatally, with the checksummed address", () => {
    for (const withdrawRound of [1n, 10n, 11n]) {
      const e = validateSender(SENDER, senderInfo({ withdrawRound }), 10n);
      expect(e).toBeInstanceOf(ReceiveTicketError);
      expect(e!.fatal).toBe(true);
      expect(e!.code).toBe("SENDER_UNLOCKING");
      expect(e!.message).toBe(`deposit and reserve for sender ${SENDER_CHECKSUM} is set to unlock soon`);
    }
  });

  it("turns a sender info error into go-livepeer's fatal message", () => {
    const e = validateSender(SENDER.toUpperCase().replace("0X", "0x"), new Error("rpc down"), 10n);
    expect(e!.fatal).toBe(true);
    expect(e!.code).toBe("SENDER_INFO_UNAVAILABLE");
    expect(e!.message).toBe(`could not get sender info for ${SENDER_CHECKSUM}: rpc down`);
  });

  it("isUnlockingSoon", () => {
    expect(isUnlockingSoon(0n, 10n)).toBe(false);
    expect(isUnlockingSoon(11n, 10n)).toBe(true);
    expect(isUnlockingSoon(12n, 10n)).toBe(false);
  });
});
