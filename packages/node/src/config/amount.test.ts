import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AmountError, formatAmount, formatEth, parseAmount } from "./amount.js";

const WEI_PER_ETH = 10n ** 18n;
const MAX_UINT256 = (1n << 256n) - 1n;

function errorOf(input: string): AmountError {
  try {
    parseAmount(input);
  } catch (e) {
    expect(e).toBeInstanceOf(AmountError);
    return e as AmountError;
  }
  throw new Error(`"${input}" was accepted`);
}

describe("parseAmount", () => {
  it("parses ETH, gwei and wei exactly", () => {
    expect(parseAmount("0.5eth")).toBe(WEI_PER_ETH / 2n);
    expect(parseAmount("0.5 ETH")).toBe(WEI_PER_ETH / 2n);
    expect(parseAmount("  1.25Eth ")).toBe(1_250_000_000_000_000_000n);
    expect(parseAmount("0.000000000000000001eth")).toBe(1n);
    expect(parseAmount("3gwei")).toBe(3_000_000_000n);
    expect(parseAmount("1.5 gwei")).toBe(1_500_000_000n);
    expect(parseAmount("1000wei")).toBe(1000n);
    expect(parseAmount("1000")).toBe(1000n);
    expect(parseAmount("0")).toBe(0n);
    expect(parseAmount("007")).toBe(7n);
    expect(parseAmount(MAX_UINT256.toString())).toBe(MAX_UINT256);
    // A float would round this; bigint does not.
    expect(parseAmount("123456789.123456789123456789eth")).toBe(123456789123456789123456789n);
  });

  it("rejects bad input with a clear reason", () => {
    expect(errorOf("-1").code).toBe("AMOUNT_NEGATIVE");
    expect(errorOf("-0.5eth").message).toContain("must not be negative");
    expect(errorOf("").code).toBe("AMOUNT_EMPTY");
    expect(errorOf("   ").code).toBe("AMOUNT_EMPTY");
    expect(errorOf("1.0000000000000000001eth").message).toBe(
      'too many decimals in "1.0000000000000000001eth": eth has at most 18 decimals',
    );
    expect(errorOf("1.5").message).toContain("wei amounts must be whole numbers");
    expect(errorOf("1.5wei").code).toBe("AMOUNT_PRECISION");
    expect(errorOf("0.0000000001gwei").code).toBe("AMOUNT_PRECISION");
    expect(errorOf("1btc").message).toBe('unknown unit "btc" in "1btc": use eth, gwei or wei');
    for (const bad of [
      "abc",
      "1e18",
      "0x10",
      "1,5eth",
      "1_000",
      ".5eth",
      "1.eth",
      "+1",
      "1 2",
      "eth",
      "1..2",
      "NaN",
      "Infinity",
    ]) {
      expect(errorOf(bad).code, bad).toMatch(/^AMOUNT_(INVALID|UNIT|NEGATIVE)$/);
    }
    expect(errorOf((MAX_UINT256 + 1n).toString()).code).toBe("AMOUNT_RANGE");
  });

  it("round-trips any wei amount through its exact ETH form", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_UINT256 / 2n }), (wei) => {
        expect(parseAmount(`${formatEth(wei)}eth`)).toBe(wei);
        expect(parseAmount(`${formatEth(wei)} ETH`)).toBe(wei);
        expect(parseAmount(`${wei}wei`)).toBe(wei);
        expect(parseAmount(wei.toString())).toBe(wei);
      }),
    );
  });

  it("scales decimals exactly for any whole part and up to 18 decimals", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 30n }),
        fc.stringMatching(/^[0-9]{1,18}$/),
        (whole, fraction) => {
          const expected = whole * WEI_PER_ETH + BigInt(fraction.padEnd(18, "0"));
          expect(parseAmount(`${whole}.${fraction}eth`)).toBe(expected);
        },
      ),
    );
  });

  it("rejects more than 18 decimals, negatives and arbitrary garbage, never returning a wrong number", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 20n }),
        fc.stringMatching(/^[0-9]{19,40}$/),
        (whole, fraction) => {
          expect(errorOf(`${whole}.${fraction}eth`).code).toBe("AMOUNT_PRECISION");
          expect(errorOf(`-${whole}.${fraction.slice(0, 18)}eth`).code).toBe("AMOUNT_NEGATIVE");
        },
      ),
    );
    fc.assert(
      fc.property(fc.string(), (s) => {
        let wei: bigint;
        try {
          wei = parseAmount(s);
        } catch (e) {
          expect(e).toBeInstanceOf(AmountError);
          return;
        }
        // Accepted: it must be a plain decimal with an optional known unit, and mean what it says.
        const m = /^\s*(\d+)(?:\.(\d+))?\s*(eth|gwei|wei)?\s*$/i.exec(s);
        expect(m, `accepted "${s}"`).not.toBeNull();
        expect(wei >= 0n).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("formatEth / formatAmount", () => {
  it("formats exactly without trailing zeros", () => {
    expect(formatEth(0n)).toBe("0");
    expect(formatEth(1n)).toBe("0.000000000000000001");
    expect(formatEth((WEI_PER_ETH * 3n) / 2n)).toBe("1.5");
    expect(formatEth(-WEI_PER_ETH)).toBe("-1");
    expect(formatAmount(WEI_PER_ETH)).toBe("1 ETH (1000000000000000000 wei)");
  });
});
