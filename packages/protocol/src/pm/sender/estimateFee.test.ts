import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../errors.js";
import { Rational } from "../../money/rational.js";
import {
  PIXEL_ESTIMATE_MULTIPLIER,
  estimateAIFee,
  estimateTranscodeFee,
  transcodeOutputPixels,
} from "./estimateFee.js";

/** The exact value of a float64, decoded from its bits (what Go's big.Rat.SetFloat64 yields). */
function exactDouble(x: number): Rational {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const exp = Number((bits >> 52n) & 0x7ffn);
  const mantissa = (bits & ((1n << 52n) - 1n)) | (1n << 52n);
  const e = exp - 1075;
  return e >= 0 ? Rational.of(mantissa << BigInt(e)) : Rational.of(mantissa, 1n << BigInt(-e));
}

const P144p30fps16x9 = { width: 256, height: 144, framerate: 30 };
const P240p30fps16x9 = { width: 426, height: 240, framerate: 30 };

describe("fee estimates (spec §3.5)", () => {
  it("1.02 is the binary double, not 51/50", () => {
    expect(PIXEL_ESTIMATE_MULTIPLIER.eq(exactDouble(1.02))).toBe(true);
    expect(PIXEL_ESTIMATE_MULTIPLIER.toString()).toBe("2296835809958953/2251799813685248");
    expect(PIXEL_ESTIMATE_MULTIPLIER.eq(Rational.of(51n, 50n))).toBe(false);
  });

  it("TestEstimateFee vectors", () => {
    expect(transcodeOutputPixels(2.0, [P144p30fps16x9])).toBe(2211840n);
    expect(
      estimateTranscodeFee(2.0, [P144p30fps16x9], 3n).eq(PIXEL_ESTIMATE_MULTIPLIER.mul(2211840n * 3n)),
    ).toBe(true);
    expect(transcodeOutputPixels(2.0, [P144p30fps16x9, P240p30fps16x9])).toBe(8346240n);
    expect(
      estimateTranscodeFee(2.0, [P144p30fps16x9, P240p30fps16x9], Rational.of(3n)).eq(
        PIXEL_ESTIMATE_MULTIPLIER.mul(8346240n).mul(3n),
      ),
    ).toBe(true);
  });

  it("rounds duration and frame rate up; passthrough counts 60 fps", () => {
    expect(transcodeOutputPixels(1.2, [{ width: 10, height: 10, framerate: 30 }])).toBe(10n * 10n * 30n * 2n);
    expect(transcodeOutputPixels(1, [{ width: 10, height: 10, framerate: 30000, framerateDen: 1001 }])).toBe(
      3000n,
    );
    expect(transcodeOutputPixels(1, [{ width: 10, height: 10 }])).toBe(6000n);
    expect(transcodeOutputPixels(1, [{ width: 10, height: 10, framerate: 0, framerateDen: 0 }])).toBe(6000n);
    expect(transcodeOutputPixels(0, [P144p30fps16x9])).toBe(0n);
    expect(estimateTranscodeFee(2, [], 3n).eq(0n)).toBe(true);
  });

  it("rejects malformed profiles and durations", () => {
    expect(() => transcodeOutputPixels(Number.NaN, [P144p30fps16x9])).toThrow(InvalidInputError);
    expect(() => transcodeOutputPixels(-1, [P144p30fps16x9])).toThrow(InvalidInputError);
    expect(() => transcodeOutputPixels(1, [{ width: 1.5, height: 2 }])).toThrow(InvalidInputError);
    expect(() => estimateTranscodeFee(1, [P144p30fps16x9], 0.5 as unknown as bigint)).toThrow(
      InvalidInputError,
    );
  });

  it("AI fee is units * price, exact", () => {
    expect(estimateAIFee(512n * 512n, Rational.of(1n, 100n)).toString()).toBe("65536/25");
    expect(estimateAIFee(256, 3n).eq(768n)).toBe(true);
    expect(estimateAIFee(0, Rational.of(7n, 3n)).eq(0n)).toBe(true);
    expect(() => estimateAIFee(-1, 1n)).toThrow(InvalidInputError);
    expect(() => estimateAIFee(1.5, 1n)).toThrow(InvalidInputError);
  });
});
