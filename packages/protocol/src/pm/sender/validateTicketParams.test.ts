import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_UINT256 } from "../../bytes/integers.js";
import { InvalidInputError, LivepayError } from "../../errors.js";
import { Rational } from "../../money/rational.js";
import { TicketParamsError } from "../errors.js";
import { TicketParamsErrorCode, TicketParamsExpiredError } from "./errors.js";
import type { SenderTicketParams } from "./senderTicketParams.js";
import { batchContext, d2Params, senderInfo } from "./testFixtures.js";
import {
  DEFAULT_MAX_TICKET_EV,
  DEFAULT_MAX_TOTAL_EV,
  PARAMS_EXPIRY_BUFFER,
  validateTicketParams,
  type TicketParamsContext,
} from "./validateTicketParams.js";

function ctx(overrides: Partial<TicketParamsContext> = {}): TicketParamsContext {
  return { ...batchContext(), ...overrides };
}

function errorOf(fn: () => void): LivepayError {
  try {
    fn();
  } catch (e) {
    if (e instanceof LivepayError) return e;
    throw e;
  }
  throw new Error("expected an error");
}

function expectParamsError(
  params: SenderTicketParams | null | undefined,
  n: number,
  c: TicketParamsContext,
  code: string,
  message: string,
) {
  const e = errorOf(() => validateTicketParams(params, n, c));
  expect(e).toBeInstanceOf(TicketParamsError);
  expect(e.code).toBe(code);
  expect(e.message).toBe(message);
}

describe("validateTicketParams: spec §3.2 checks in order, go-livepeer messages", () => {
  it("accepts D2 params (EV 8e9) with a funded sender", () => {
    expect(() => validateTicketParams(d2Params(), 1, ctx())).not.toThrow();
    expect(() => validateTicketParams(d2Params(), 2499, ctx())).not.toThrow();
  });

  it("1. nil params", () => {
    for (const p of [null, undefined]) {
      expectParamsError(p, 1, ctx(), TicketParamsErrorCode.Nil, "ticketParams is nil");
    }
  });

  it("2. expiration block 0", () => {
    expectParamsError(
      d2Params({ expirationBlock: 0n }),
      1,
      ctx(),
      TicketParamsErrorCode.ExpirationBlockZero,
      "ticketParams expiration block is 0",
    );
  });

  it("3. expired when expirationBlock - lastSeenL1Block <= 1, typed for refresh", () => {
    const p = d2Params();
    for (const lastSeenL1Block of [p.expirationBlock - 1n, p.expirationBlock, p.expirationBlock + 100n]) {
      const e = errorOf(() => validateTicketParams(p, 1, ctx({ lastSeenL1Block })));
      expect(e).toBeInstanceOf(TicketParamsExpiredError);
      expect(e).toBeInstanceOf(TicketParamsError);
      expect(e.code).toBe("TICKET_PARAMS_EXPIRED");
      expect(e.message).toBe("TicketParams expired");
    }
    expect(PARAMS_EXPIRY_BUFFER).toBe(1n);
    expect(() => validateTicketParams(p, 1, ctx({ lastSeenL1Block: p.expirationBlock - 2n }))).not.toThrow();
  });

  it("4. EV 0 (free params) is accepted before any sender check", () => {
    const broke = ctx({ senderInfo: new Error("rpc down"), maxTicketEV: 0n, maxTotalEV: 0n });
    expect(() => validateTicketParams(d2Params({ faceValue: 0n, winProb: 0n }), 1000, broke)).not.toThrow();
    expect(() => validateTicketParams(d2Params({ winProb: 0n }), 1, broke)).not.toThrow();
    expect(() => validateTicketParams(d2Params({ faceValue: 0n }), 1, broke)).not.toThrow();
  });

  it("5. EV >= faceValue (winProb = 2^256-1) is refused", () => {
    expectParamsError(
      d2Params({ winProb: MAX_UINT256 }),
      1,
      ctx(),
      TicketParamsErrorCode.FaceValueTooLow,
      "ticket faceValue too low faceValue=12000000000000000",
    );
    // One below certainty passes this check.
    expect(() =>
      validateTicketParams(d2Params({ faceValue: 1000n, winProb: MAX_UINT256 - 1n }), 1, ctx()),
    ).not.toThrow();
  });

  it("6. EV above the max ticket EV, both as FloatString(5)", () => {
    expectParamsError(
      d2Params(),
      1,
      ctx({ maxTicketEV: 7_999_999_999n }),
      TicketParamsErrorCode.EVTooHigh,
      "ticket EV 8000000000.00000 > max ticket EV 7999999999.00000",
    );
    // EV = 1000 * floor(MAX/2) / MAX = 500 - 500/MAX rounds to 500.00000; 1/3 rounds to 0.33333, 2/3 up to 0.66667.
    expectParamsError(
      d2Params({ faceValue: 1000n, winProb: MAX_UINT256 / 2n }),
      1,
      ctx({ maxTicketEV: Rational.of(1n, 3n) }),
      TicketParamsErrorCode.EVTooHigh,
      "ticket EV 500.00000 > max ticket EV 0.33333",
    );
    expectParamsError(
      d2Params({ faceValue: 1000n, winProb: MAX_UINT256 / 2n }),
      1,
      ctx({ maxTicketEV: Rational.of(2n, 3n) }),
      TicketParamsErrorCode.EVTooHigh,
      "ticket EV 500.00000 > max ticket EV 0.66667",
    );
    // The default cap is 3e12 wei; an EV equal to the cap passes.
    expect(DEFAULT_MAX_TICKET_EV).toBe(3_000_000_000_000n);
    const atCap = d2Params({ faceValue: 6_000_000_000_000n, winProb: MAX_UINT256 / 2n });
    expect(() =>
      validateTicketParams(
        atCap,
        1,
        ctx({ maxTicketEV: Rational.of(6_000_000_000_000n * (MAX_UINT256 / 2n), MAX_UINT256) }),
      ),
    ).not.toThrow();
  });

  it("7. a sender info error is thrown unchanged", () => {
    const err = new Error("could not reach TicketBroker");
    expect(() => validateTicketParams(d2Params(), 1, ctx({ senderInfo: err }))).toThrow(err);
  });

  it("8. deposit unlocking within a round", () => {
    const message = "unable to validate sender: deposit and reserve is set to unlock soon";
    for (const withdrawRound of [1n, 3499n, 3500n, 3501n]) {
      expectParamsError(
        d2Params(),
        1,
        ctx({ senderInfo: senderInfo({ withdrawRound }) }),
        TicketParamsErrorCode.SenderUnlocking,
        message,
      );
    }
    for (const withdrawRound of [0n, 3502n]) {
      expect(() =>
        validateTicketParams(d2Params(), 1, ctx({ senderInfo: senderInfo({ withdrawRound }) })),
      ).not.toThrow();
    }
  });

  it("9. no reserve (claimed reserve does not count)", () => {
    const info = senderInfo({ reserve: { fundsRemaining: 0n, claimedInCurrentRound: 10n ** 18n } });
    expectParamsError(
      d2Params(),
      1,
      ctx({ senderInfo: info }),
      TicketParamsErrorCode.NoSenderReserve,
      "no sender reserve",
    );
  });

  it("10. no deposit", () => {
    expectParamsError(
      d2Params(),
      1,
      ctx({ senderInfo: senderInfo({ deposit: 0n }) }),
      TicketParamsErrorCode.NoSenderDeposit,
      "no sender deposit",
    );
  });

  it("11. total EV above the max: 2500 tickets of 8e9 + 2.8e-52 wei exceed 2e13 by a hair", () => {
    expect(DEFAULT_MAX_TOTAL_EV).toBe(20_000_000_000_000n);
    expectParamsError(
      d2Params(),
      2500,
      ctx(),
      TicketParamsErrorCode.TotalEVTooHigh,
      "total ticket EV 20000000000000.00000 for 2500 tickets > max total ticket EV 20000000000000.00000",
    );
    expectParamsError(
      d2Params(),
      3,
      ctx({ maxTotalEV: Rational.of(47_000_000_001n, 2n) }),
      TicketParamsErrorCode.TotalEVTooHigh,
      "total ticket EV 24000000000.00000 for 3 tickets > max total ticket EV 23500000000.50000",
    );
  });

  it("12. face value above floor(deposit / depositMultiplier)", () => {
    const deposit = 2n * 12_000_000_000_000_000n - 1n;
    expectParamsError(
      d2Params(),
      1,
      ctx({ senderInfo: senderInfo({ deposit }), depositMultiplier: 2 }),
      TicketParamsErrorCode.FaceValueTooHigh,
      "ticket faceValue 12000000000000000 > max faceValue 11999999999999999",
    );
    expect(() =>
      validateTicketParams(
        d2Params(),
        1,
        ctx({ senderInfo: senderInfo({ deposit: deposit + 1n }), depositMultiplier: 2n }),
      ),
    ).not.toThrow();
    // Default multiplier 1: the deposit itself.
    expectParamsError(
      d2Params(),
      1,
      ctx({ senderInfo: senderInfo({ deposit: 11_999_999_999_999_999n }) }),
      TicketParamsErrorCode.FaceValueTooHigh,
      "ticket faceValue 12000000000000000 > max faceValue 11999999999999999",
    );
  });

  it("reports the first failing check when several fail", () => {
    const bad = senderInfo({
      deposit: 0n,
      withdrawRound: 3500n,
      reserve: { fundsRemaining: 0n, claimedInCurrentRound: 0n },
    });
    const p = d2Params({ winProb: MAX_UINT256 });
    const c = ctx({ senderInfo: bad, maxTicketEV: 1n, maxTotalEV: 1n });
    expect(
      errorOf(() =>
        validateTicketParams(d2Params({ expirationBlock: 0n, winProb: MAX_UINT256 }), 9, {
          ...c,
          lastSeenL1Block: 10n ** 9n,
        }),
      ).code,
    ).toBe(TicketParamsErrorCode.ExpirationBlockZero);
    expect(errorOf(() => validateTicketParams(p, 9, { ...c, lastSeenL1Block: 10n ** 9n })).code).toBe(
      TicketParamsErrorCode.Expired,
    );
    expect(errorOf(() => validateTicketParams(p, 9, c)).code).toBe(TicketParamsErrorCode.FaceValueTooLow);
    expect(errorOf(() => validateTicketParams(d2Params(), 9, c)).code).toBe(TicketParamsErrorCode.EVTooHigh);
    const c2 = { ...c, maxTicketEV: DEFAULT_MAX_TICKET_EV };
    expect(errorOf(() => validateTicketParams(d2Params(), 9, c2)).code).toBe(
      TicketParamsErrorCode.SenderUnlocking,
    );
    const c3 = { ...c2, senderInfo: { ...bad, withdrawRound: 0n } };
    expect(errorOf(() => validateTicketParams(d2Params(), 9, c3)).code).toBe(
      TicketParamsErrorCode.NoSenderReserve,
    );
    const c4 = {
      ...c3,
      senderInfo: { ...bad, withdrawRound: 0n, reserve: { fundsRemaining: 1n, claimedInCurrentRound: 0n } },
    };
    expect(errorOf(() => validateTicketParams(d2Params(), 9, c4)).code).toBe(
      TicketParamsErrorCode.NoSenderDeposit,
    );
    const c5 = { ...c4, senderInfo: { ...c4.senderInfo, deposit: 1n } };
    expect(errorOf(() => validateTicketParams(d2Params(), 9, c5)).code).toBe(
      TicketParamsErrorCode.TotalEVTooHigh,
    );
    const c6 = { ...c5, maxTotalEV: DEFAULT_MAX_TOTAL_EV };
    expect(errorOf(() => validateTicketParams(d2Params(), 9, c6)).code).toBe(
      TicketParamsErrorCode.FaceValueTooHigh,
    );
  });

  it("rejects malformed input with InvalidInputError", () => {
    for (const n of [-1, 1.5, Number.NaN]) {
      expect(() => validateTicketParams(d2Params(), n, ctx())).toThrow(InvalidInputError);
    }
    for (const depositMultiplier of [0, -1, 0n, 1.5]) {
      expect(() => validateTicketParams(d2Params(), 1, ctx({ depositMultiplier }))).toThrow(
        InvalidInputError,
      );
    }
    expect(() => validateTicketParams(d2Params({ recipientRandHash: "0x12" }), 1, ctx())).toThrow(
      InvalidInputError,
    );
    expect(() => validateTicketParams(d2Params({ faceValue: -1n }), 1, ctx())).toThrow(InvalidInputError);
  });

  it("property: passing params satisfy every cap; the total EV check is exact", () => {
    fc.assert(
      fc.property(
        fc.bigInt(1n, 10n ** 18n),
        fc.bigInt(1n, MAX_UINT256 - 1n),
        fc.integer({ min: 0, max: 5000 }),
        (faceValue, winProb, n) => {
          const p = d2Params({ faceValue, winProb });
          const ev = Rational.of(faceValue * winProb, MAX_UINT256);
          let ok = true;
          try {
            validateTicketParams(p, n, ctx());
          } catch (e) {
            if (!(e instanceof TicketParamsError)) throw e;
            ok = false;
          }
          const expected =
            ev.lt(faceValue) &&
            ev.lte(DEFAULT_MAX_TICKET_EV) &&
            ev.mul(BigInt(n)).lte(DEFAULT_MAX_TOTAL_EV) &&
            faceValue <= 10n ** 18n;
          expect(ok).toBe(expected);
        },
      ),
    );
  });
});
