import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../errors.js";
import { Rational } from "../money/rational.js";
import {
  UNIT_TABLE,
  imageCount,
  imageSize,
  isPipeline,
  msFromSamples,
  msFromSeconds,
  requestUnitBound,
  ttsUnits,
  unitsFor,
} from "./units.js";

describe("unit table", () => {
  it("names one unit per pipeline", () => {
    expect(UNIT_TABLE.llm.unit).toBe("token");
    expect(UNIT_TABLE["text-to-image"].unit).toBe("pixel");
    expect(UNIT_TABLE["image-to-image"].unit).toBe("pixel");
    expect(UNIT_TABLE["audio-to-text"].unit).toBe("ms");
    expect(UNIT_TABLE["text-to-speech"].unit).toBe("char");
    expect(UNIT_TABLE["live-video-to-video"].unit).toBe("ms");
    expect(isPipeline("llm")).toBe(true);
    expect(isPipeline("toString")).toBe(false);
    expect(isPipeline("upscale")).toBe(false);
  });

  it("LLM: completion tokens reported by the runner", () => {
    expect(unitsFor("llm", { max_tokens: 10 }, { completionTokens: 7 })).toBe(7n);
    expect(unitsFor("llm", {}, { completionTokens: 123n })).toBe(123n);
    expect(() => unitsFor("llm", {}, { completionTokens: -1 })).toThrow(InvalidInputError);
    expect(() => unitsFor("llm", {}, { completionTokens: 1.5 })).toThrow(InvalidInputError);
    expect(requestUnitBound("llm", { max_tokens: 256 })).toBe(256n);
    expect(requestUnitBound("llm", { max_completion_tokens: 64, max_tokens: 256 })).toBe(64n);
    expect(requestUnitBound("llm", {})).toBeUndefined();
  });

  it("images: width × height × delivered count (Livepeer or OpenAI request shapes)", () => {
    expect(unitsFor("text-to-image", { width: 1024, height: 768 }, { delivered: 2 })).toBe(1024n * 768n * 2n);
    expect(unitsFor("text-to-image", { size: "256x512" }, { delivered: 1 })).toBe(131072n);
    expect(unitsFor("image-to-image", {}, { delivered: 1 })).toBe(512n * 512n);
    expect(unitsFor("text-to-image", { width: 64, height: 64 }, { delivered: 0 })).toBe(0n);
    expect(imageSize({ size: "1024x1024" })).toEqual({ width: 1024n, height: 1024n });
    expect(imageCount({ num_images_per_prompt: 3 })).toBe(3n);
    expect(requestUnitBound("text-to-image", { size: "100x100", n: 4 })).toBe(40_000n);
    expect(() => imageSize({ size: "auto" })).toThrow(InvalidInputError);
    expect(() => imageSize({ width: 0, height: 5 })).toThrow(InvalidInputError);
  });

  it("text-to-speech: Unicode scalar values after NFC", () => {
    expect(ttsUnits("hello")).toBe(5n);
    expect(ttsUnits("e\u0301")).toBe(1n); // decomposed é composes to one scalar
    expect(ttsUnits("\u00e9")).toBe(1n);
    expect(ttsUnits("😀")).toBe(1n); // one scalar, two UTF-16 units, four UTF-8 bytes
    expect(ttsUnits("日本語")).toBe(3n);
    expect(ttsUnits("\u212b")).toBe(1n); // Angstrom sign → Å
    expect(unitsFor("text-to-speech", { input: "héllo" }, {})).toBe(5n);
    expect(unitsFor("text-to-speech", { text: "hi" }, {})).toBe(2n);
    expect(requestUnitBound("text-to-speech", { input: "abc" })).toBe(3n);
    expect(() => unitsFor("text-to-speech", {}, {})).toThrow(InvalidInputError);
  });

  it("audio and live: milliseconds, partial milliseconds rounded up, exactly", () => {
    expect(unitsFor("audio-to-text", {}, { durationMs: 2500 })).toBe(2500n);
    expect(unitsFor("live-video-to-video", {}, { elapsedMs: 5000n })).toBe(5000n);
    expect(msFromSamples(16_000n, 16_000n)).toBe(1000n);
    expect(msFromSamples(16_001n, 16_000n)).toBe(1001n);
    expect(msFromSamples(0n, 44_100n)).toBe(0n);
    expect(msFromSeconds("2.0005")).toBe(2001n);
    expect(msFromSeconds("2.000")).toBe(2000n);
    expect(msFromSeconds(Rational.of(1n, 3n))).toBe(334n);
    expect(requestUnitBound("audio-to-text", {})).toBeUndefined();
    expect(requestUnitBound("audio-to-text", { file: new Uint8Array([0x49, 0x44, 0x33]) })).toBeUndefined();
    expect(() => msFromSeconds("-1")).toThrow(InvalidInputError);
    expect(() => msFromSamples(1n, 0n)).toThrow(InvalidInputError);
  });
});
