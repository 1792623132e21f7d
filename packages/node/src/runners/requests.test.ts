import { describe, expect, it } from "vitest";
import { isRunnerError } from "./errors.js";
import {
  parseAudioToTextForm,
  parseEmbeddingsRequest,
  parseImageToImageForm,
  parseLlmRequest,
  parseTextToImageRequest,
  parseTextToSpeechRequest,
} from "./requests.js";
import { syntheticPng } from "./synthetic.js";

function badRequest(fn: () => unknown, message: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(isRunnerError(e, "BAD_REQUEST")).toBe(true);
    expect((e as Error).message).toMatch(message);
    return;
  }
  throw new Error("expected a BAD_REQUEST");
}

describe("request parsing", () => {
  it("parses an LLM request, keeping unknown OpenAI fields in extra", () => {
    const r = parseLlmRequest({
      model: "m",
      messages: [{ role: "user", content: "hi" }],
      max_completion_tokens: 9,
      stop: "x",
      tools: [],
      stream: true,
    });
    expect(r).toEqual({
      model: "m",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 9,
      stop: ["x"],
      stream: true,
      extra: { tools: [] },
    });
    expect(parseLlmRequest({ messages: [{ role: "user", content: "hi" }] }).max_tokens).toBeUndefined();
  });

  it("rejects bad LLM requests with the field named", () => {
    badRequest(() => parseLlmRequest({ messages: [] }), /messages/);
    badRequest(() => parseLlmRequest({ messages: [{ content: "x" }] }), /role/);
    badRequest(
      () => parseLlmRequest({ messages: [{ role: "user", content: "x" }], max_tokens: 0 }),
      /max_tokens/,
    );
    badRequest(
      () => parseLlmRequest({ messages: [{ role: "user", content: "x" }], max_tokens: 2.5 }),
      /max_tokens/,
    );
    badRequest(() => parseLlmRequest({ messages: [{ role: "user", content: "x" }], n: 2 }), /n > 1/);
    badRequest(
      () =>
        parseLlmRequest({
          messages: [{ role: "user", content: "x" }],
          max_tokens: 3,
          max_completion_tokens: 4,
        }),
      /disagree/,
    );
    badRequest(() => parseLlmRequest("nope"), /JSON object/);
  });

  it("fills go-livepeer's image defaults and validates sizes", () => {
    expect(parseTextToImageRequest({ prompt: "cat" })).toEqual({
      prompt: "cat",
      width: 512,
      height: 512,
      num_images_per_prompt: 1,
    });
    badRequest(() => parseTextToImageRequest({ prompt: "cat", width: 0 }), /width/);
    badRequest(
      () => parseTextToImageRequest({ prompt: "cat", num_images_per_prompt: 99 }),
      /num_images_per_prompt/,
    );
    badRequest(() => parseTextToImageRequest({ prompt: " " }), /prompt/);
  });

  it("parses multipart image-to-image and audio-to-text forms", async () => {
    const form = new FormData();
    form.append("prompt", "make it blue");
    form.append("image", new Blob([new Uint8Array(syntheticPng(4, 4, 1))], { type: "image/png" }), "in.png");
    form.append("num_images_per_prompt", "2");
    form.append("safety_check", "false");
    form.append("strength", "");
    const r = await parseImageToImageForm(form);
    expect(r.num_images_per_prompt).toBe(2);
    expect(r.safety_check).toBe(false);
    expect(r.strength).toBeUndefined();
    expect(r.image.filename).toBe("in.png");
    expect(r.image.contentType).toBe("image/png");

    const a = new FormData();
    a.append("audio", new Blob([new Uint8Array([1, 2, 3])]), "a.mp3");
    a.append("duration_ms", "2500");
    expect((await parseAudioToTextForm(a)).duration_ms).toBe(2500);
    const noFile = new FormData();
    noFile.append("audio", "text, not a file");
    await expect(parseAudioToTextForm(noFile)).rejects.toThrow(/must be a file/);
  });

  it("parses text-to-speech and embeddings", () => {
    expect(parseTextToSpeechRequest({ text: "hi", description: "calm" })).toEqual({
      text: "hi",
      description: "calm",
    });
    badRequest(() => parseTextToSpeechRequest({ text: "   " }), /text/);
    badRequest(() => parseTextToSpeechRequest({ text: "x".repeat(10_001) }), /exceeds/);
    expect(parseEmbeddingsRequest({ input: ["a", "b"] }).input).toEqual(["a", "b"]);
    badRequest(() => parseEmbeddingsRequest({ input: [] }), /input/);
    badRequest(() => parseEmbeddingsRequest({ input: "a", encoding_format: "hex" }), /encoding_format/);
  });
});
