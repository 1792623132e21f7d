import { describe, expect, it } from "vitest";
import { encodePngRgb } from "../runners/png.js";
import { encodeWavPcm16 } from "../runners/wav.js";
import { GatewayError } from "./errors.js";
import { FORM_ROUTES, JSON_ROUTES, fingerprint } from "./jobs.js";

const chat = (body: unknown) => JSON_ROUTES["/v1/chat/completions"]!("/v1/chat/completions", body);

describe("job estimates (runner-style units)", () => {
  it("LLM: max_tokens, 256 by default, sent upstream explicitly", async () => {
    const j = chat({ model: "m", messages: [{ role: "user", content: "hi" }] });
    expect(j.units).toEqual({ estimate: 256n, maximum: 256n });
    const up = JSON.parse((await j.upstream("m")).body.toString()) as { max_tokens: number };
    expect(up.max_tokens).toBe(256);
    expect(
      chat({ model: "m", messages: [{ role: "user", content: "hi" }], max_completion_tokens: 9 }).units
        .maximum,
    ).toBe(9n);
  });

  it("images: width × height × n from the OpenAI size", () => {
    const j = JSON_ROUTES["/v1/images/generations"]!("/v1/images/generations", {
      model: "sd",
      prompt: "p",
      size: "64x32",
      n: 3,
    });
    expect(j.units.maximum).toBe(64n * 32n * 3n);
    expect(() => JSON_ROUTES["/v1/images/generations"]!("/x", { prompt: "p", size: "big" })).toThrow(
      GatewayError,
    );
  });

  it("text-to-speech: Unicode scalars after NFC", () => {
    const j = JSON_ROUTES["/v1/audio/speech"]!("/v1/audio/speech", {
      model: "t",
      input: "e\u0301🙂",
      voice: "v",
    });
    expect(j.units.maximum).toBe(2n);
  });

  it("audio: decoded WAV milliseconds; image-to-image: input pixels × n", async () => {
    const form = new FormData();
    form.append("file", new Blob([new Uint8Array(encodeWavPcm16(new Int16Array(8000), 16000))]), "a.wav");
    form.append("model", "w");
    const j = await FORM_ROUTES["/v1/audio/transcriptions"]!("/v1/audio/transcriptions", form);
    expect(j.units.maximum).toBe(500n);

    const f2 = new FormData();
    f2.append("image", new Blob([new Uint8Array(encodePngRgb(20, 10, () => new Uint8Array(60)))]), "a.png");
    f2.append("prompt", "p");
    f2.append("num_images_per_prompt", "2");
    const i2i = await FORM_ROUTES["/image-to-image"]!("/image-to-image", f2);
    expect(i2i.units.maximum).toBe(400n);
  });

  it("bad input is a 400 before anything is paid", () => {
    expect(() => chat({ messages: [] })).toThrow(
      expect.objectContaining({ status: 400, code: "invalid_request" }),
    );
    expect(() => chat("text")).toThrow(GatewayError);
  });

  it("counts delivered units from the orchestrator's answer, never above the maximum", () => {
    const j = chat({ model: "m", messages: [{ role: "user", content: "hi" }], max_tokens: 10 });
    const answer = {
      id: "x",
      object: "chat.completion",
      created: 1,
      model: "upstream",
      choices: [{ index: 0, message: { role: "assistant", content: "a b" }, finish_reason: "stop" }],
    };
    expect(
      j.finish(Buffer.from(JSON.stringify({ ...answer, usage: { completion_tokens: 99 } })), "m").units,
    ).toBe(10n);
    const r = j.finish(Buffer.from(JSON.stringify(answer)), "m");
    expect(r.units).toBe(2n);
    expect(JSON.parse(r.body.toString()).model).toBe("m");
    expect(() => j.finish(Buffer.from("nope"), "m")).toThrow();
  });
});

describe("fingerprint", () => {
  it("ignores key order and distinguishes routes and bodies", () => {
    expect(fingerprint("/a", { x: 1, y: [1, { b: 2, a: 1 }] })).toBe(
      fingerprint("/a", { y: [1, { a: 1, b: 2 }], x: 1 }),
    );
    expect(fingerprint("/a", { x: 1 })).not.toBe(fingerprint("/b", { x: 1 }));
    expect(fingerprint("/a", { x: 1 })).not.toBe(fingerprint("/a", { x: 2 }));
  });
});
