import { describe, expect, it } from "vitest";
import { utf8 } from "../bytes/hex.js";
import { InvalidInputError } from "../errors.js";
import { formRequestView, isMultipartContentType, parseMultipart } from "./multipart.js";
import { requestContent } from "./requestHash.js";
import { audioRequestMs, requestUnitBound, unitsFor } from "./units.js";

/** The bytes and Content-Type a fetch would send for a form (boundary included). */
async function encode(form: FormData): Promise<{ body: Uint8Array; contentType: string }> {
  const r = new Request("http://x/", { method: "POST", body: form });
  return { body: new Uint8Array(await r.arrayBuffer()), contentType: r.headers.get("content-type")! };
}

function wav16(frames: number, rate: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(44 + frames * 2);
  const v = new DataView(b.buffer);
  b.set(utf8("RIFF"), 0);
  v.setUint32(4, 36 + frames * 2, true);
  b.set(utf8("WAVEfmt "), 8);
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true);
  v.setUint16(22, 1, true);
  v.setUint32(24, rate, true);
  v.setUint32(28, rate * 2, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  b.set(utf8("data"), 36);
  v.setUint32(40, frames * 2, true);
  return b;
}

describe("multipart request view", () => {
  it("reads an image edit form as the JSON request would say it: size, n as a number, the file's bytes", async () => {
    const form = new FormData();
    const png = new Uint8Array([137, 80, 78, 71, 1, 2]);
    form.set("image", new Blob([png], { type: "image/png" }), "in.png");
    form.set("prompt", "a hat");
    form.set("n", "3");
    form.set("size", "64x48");
    form.set("model", "m");
    const { body, contentType } = await encode(form);
    expect(isMultipartContentType(contentType)).toBe(true);
    // Hashed as the bytes sent, boundary included.
    expect(requestContent(body, contentType)).toEqual(body);
    const view = await formRequestView(await parseMultipart(body, contentType));
    expect(view).toEqual({ image: png, prompt: "a hat", n: 3, size: "64x48", model: "m" });
    expect(requestUnitBound("image-to-image", view)).toBe(64n * 48n * 3n);
    expect(unitsFor("image-to-image", view, { delivered: 2 })).toBe(64n * 48n * 2n);
  });

  it("a transcription form is bounded by its WAV's duration; repeated names become arrays", async () => {
    const form = new FormData();
    form.set("file", new Blob([wav16(16_001, 16_000)]), "a.wav");
    form.set("model", "whisper");
    form.append("timestamp_granularities[]", "word");
    form.append("timestamp_granularities[]", "segment");
    const { body, contentType } = await encode(form);
    const view = await formRequestView(await parseMultipart(body, contentType));
    expect(view["timestamp_granularities[]"]).toEqual(["word", "segment"]);
    expect(audioRequestMs(view)).toBe(1001n);
    expect(requestUnitBound("audio-to-text", view)).toBe(1001n);
  });

  it("refuses what is not a well-formed form with INVALID_MULTIPART", async () => {
    const cases: [Uint8Array, string][] = [
      [utf8("garbage"), "multipart/form-data; boundary=zzz"],
      [utf8("--zzz\r\nno headers end"), "multipart/form-data; boundary=zzz"],
      [utf8("{}"), "application/json"],
      [utf8("--zzz--"), "multipart/form-data"],
    ];
    for (const [body, ct] of cases) {
      await expect(parseMultipart(body, ct)).rejects.toThrow(InvalidInputError);
      await expect(parseMultipart(body, ct)).rejects.toMatchObject({ code: "INVALID_MULTIPART" });
    }
  });
});
