import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isRunnerError } from "./errors.js";
import { syntheticPng } from "./synthetic.js";
import {
  audioBounds,
  clampUsage,
  countTextTokens,
  embeddingsBounds,
  imageToImageBounds,
  llmBounds,
  scalarCount,
  textPieces,
  textToImageBounds,
  textToSpeechBounds,
} from "./units.js";
import { encodeWavPcm16 } from "./wav.js";

describe("units", () => {
  it("LLM: max_tokens, default 256", () => {
    expect(llmBounds({ messages: [] })).toEqual({ estimate: 256n, maximum: 256n });
    expect(llmBounds({ messages: [], max_tokens: 7 })).toEqual({ estimate: 7n, maximum: 7n });
  });

  it("images: w × h × n, image-to-image from the input header", () => {
    expect(
      textToImageBounds({ prompt: "x", width: 1024, height: 576, num_images_per_prompt: 3 }).maximum,
    ).toBe(1024n * 576n * 3n);
    expect(
      imageToImageBounds({
        prompt: "x",
        image: { data: syntheticPng(300, 200, 1) },
        num_images_per_prompt: 2,
      }).maximum,
    ).toBe(120000n);
    expect(() =>
      imageToImageBounds({
        prompt: "x",
        image: { data: Buffer.from("not an image") },
        num_images_per_prompt: 1,
      }),
    ).toThrow(/not recognised/);
  });

  it("audio: decoded WAV ms, else declared, else BAD_REQUEST", () => {
    expect(audioBounds({ audio: { data: encodeWavPcm16(new Int16Array(8000), 16000) } })).toEqual({
      estimate: 500n,
      maximum: 500n,
      decoded: true,
    });
    expect(audioBounds({ audio: { data: Buffer.from("ID3 mp3") }, duration_ms: 1234 })).toEqual({
      estimate: 1234n,
      maximum: 1234n,
      decoded: false,
    });
    try {
      audioBounds({ audio: { data: Buffer.from("ID3 mp3") } });
      throw new Error("unreachable");
    } catch (e) {
      expect(isRunnerError(e, "BAD_REQUEST")).toBe(true);
      expect((e as Error).message).toMatch(/duration_ms/);
    }
  });

  it("text-to-speech: Unicode scalar values after NFC", () => {
    expect(scalarCount("e\u0301")).toBe(1n); // composes to é
    expect(scalarCount("🙂")).toBe(1n); // one scalar, two UTF-16 units, four UTF-8 bytes
    expect(scalarCount("\u212B")).toBe(1n); // Angstrom sign → Å
    expect(scalarCount("\uD800x")).toBe(2n); // a lone surrogate counts once
    expect(textToSpeechBounds({ text: "héllo 🙂" })).toEqual({ estimate: 7n, maximum: 7n });
  });

  it("text pieces re-join to the text and count consistently (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 60 }), (s) => {
        const pieces = textPieces(s);
        expect(pieces.join("")).toBe(s.replace(/\s+$/u, "")); // only trailing whitespace is dropped
        expect(countTextTokens(s)).toBe(pieces.length);
      }),
    );
  });

  it("embeddings: estimate by pieces, maximum by UTF-8 bytes plus specials", () => {
    expect(embeddingsBounds({ input: "hello world" })).toEqual({ estimate: 2n, maximum: 15n });
    expect(embeddingsBounds({ input: ["a", "é"] })).toEqual({ estimate: 2n, maximum: 1n + 2n + 8n });
  });

  it("clampUsage caps at the maximum and keeps the reported figure", () => {
    const b = { estimate: 10n, maximum: 10n };
    expect(clampUsage(12n, b, false)).toEqual({ units: 10n, estimated: false, reported: 12n });
    expect(clampUsage(3n, b, true)).toEqual({ units: 3n, estimated: true });
    expect(clampUsage(-1n, b, false)).toEqual({ units: 0n, estimated: false });
  });
});
