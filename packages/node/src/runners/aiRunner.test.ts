import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRunner } from "./createRunner.js";
import { parseDataUri } from "./dataUri.js";
import { isRunnerError } from "./errors.js";
import type { RunnerError } from "./errors.js";
import { readPng } from "./png.js";
import { parseTextToImageRequest } from "./requests.js";
import type {
  AudioToTextRunner,
  ImageToImageRunner,
  LlmRunner,
  TextToImageRunner,
  TextToSpeechRunner,
} from "./runner.js";
import { syntheticPng } from "./synthetic.js";
import { startFakeAiRunner } from "./testing/fakeAiRunnerServer.js";
import type { FakeAiRunnerServer } from "./testing/fakeAiRunnerServer.js";
import { listen } from "./testing/httpServer.js";
import type { ChatCompletionChunk, LlmRequest } from "./types.js";
import { encodeWavPcm16, parseWav } from "./wav.js";

const MODEL = "ByteDance/SDXL-Lightning";
const TOKEN = "runner-secret";
let up: FakeAiRunnerServer;

beforeAll(async () => {
  up = await startFakeAiRunner({ modelId: MODEL, token: TOKEN, slowMs: 3000 });
});
afterAll(async () => {
  await up.close();
});

function runner(pipeline: string, extra: Record<string, unknown> = {}) {
  return createRunner({
    pipeline,
    model_id: MODEL,
    runner: "ai-runner",
    url: up.url,
    token: TOKEN,
    ...extra,
  });
}

async function expectRunnerError(p: Promise<unknown>, code: RunnerError["code"]): Promise<RunnerError> {
  try {
    await p;
  } catch (e) {
    expect(isRunnerError(e, code), String(e)).toBe(true);
    return e as RunnerError;
  }
  throw new Error(`expected ${code}`);
}

const last = () => up.requests[up.requests.length - 1]!;

describe("ai-runner runner: images", () => {
  it("text-to-image sends explicit sizes as JSON and bills w × h × delivered", async () => {
    const r = runner("text-to-image") as TextToImageRunner;
    const req = parseTextToImageRequest({ prompt: "a lighthouse", num_images_per_prompt: 2, seed: 7 });
    expect(r.bounds(req)).toEqual({ estimate: 524288n, maximum: 524288n });
    const { output, usage } = await r.run(req);
    expect(last().contentType).toBe("application/json");
    expect(last().fields).toMatchObject({
      prompt: "a lighthouse",
      width: 512,
      height: 512,
      num_images_per_prompt: 2,
      seed: 7,
      model_id: MODEL,
    });
    expect(usage).toEqual({ units: 512n * 512n * 2n, estimated: false });
    expect(output.images.map((i) => i.seed)).toEqual([7, 8]);
    const png = readPng(parseDataUri(output.images[1]!.url).data);
    expect([png.width, png.height]).toEqual([512, 512]);
  });

  it("bills only the images delivered", async () => {
    const r = runner("text-to-image") as TextToImageRunner;
    const { output, usage } = await r.run({
      prompt: "one-image",
      width: 64,
      height: 64,
      num_images_per_prompt: 3,
    });
    expect(output.images).toHaveLength(1);
    expect(usage.units).toBe(64n * 64n);
  });

  it("image-to-image sends multipart and bills input pixels × delivered", async () => {
    const r = runner("image-to-image") as ImageToImageRunner;
    const image = { data: syntheticPng(120, 80, 1), filename: "in.png", contentType: "image/png" };
    const { output, usage } = await r.run({
      prompt: "watercolour",
      image,
      num_images_per_prompt: 2,
      strength: 0.5,
    });
    expect(last().contentType).toMatch(/^multipart\/form-data; boundary=/);
    expect(last().fields).toMatchObject({
      prompt: "watercolour",
      model_id: MODEL,
      num_images_per_prompt: "2",
      strength: "0.5",
    });
    expect(last().fields.image).toBeInstanceOf(Blob);
    expect(usage.units).toBe(120n * 80n * 2n);
    expect(readPng(parseDataUri(output.images[0]!.url).data).width).toBe(120);
  });

  it("maps upstream 500, 422, 400 and malformed JSON to typed errors", async () => {
    const r = runner("text-to-image") as TextToImageRunner;
    const e500 = await expectRunnerError(
      r.run({ prompt: "fail", width: 8, height: 8, num_images_per_prompt: 1 }),
      "UPSTREAM_ERROR",
    );
    expect(e500.message).toBe("upstream error 500: Text-to-image pipeline error.");
    const e422 = await expectRunnerError(
      r.run({ prompt: "", width: 8, height: 8, num_images_per_prompt: 1 }),
      "BAD_REQUEST",
    );
    expect(e422.message).toBe("Field required");
    expect(e422.status).toBe(400);
    const wrong = createRunner({
      pipeline: "text-to-image",
      model_id: "other/model",
      url: up.url,
      token: TOKEN,
    }) as TextToImageRunner;
    const e400 = await expectRunnerError(
      wrong.run({ prompt: "x", width: 8, height: 8, num_images_per_prompt: 1 }),
      "BAD_REQUEST",
    );
    expect(e400.message).toMatch(/pipeline configured with/);
    const bad = await expectRunnerError(
      r.run({ prompt: "bad-json", width: 8, height: 8, num_images_per_prompt: 1 }),
      "UPSTREAM_ERROR",
    );
    expect(bad.message).toMatch(/malformed JSON/);
    const noToken = createRunner({
      pipeline: "text-to-image",
      model_id: MODEL,
      url: up.url,
    }) as TextToImageRunner;
    const e401 = await expectRunnerError(
      noToken.run({ prompt: "x", width: 8, height: 8, num_images_per_prompt: 1 }),
      "UPSTREAM_ERROR",
    );
    expect(e401.details).toMatchObject({ upstreamStatus: 401 });
  });

  it("times out (UPSTREAM_TIMEOUT) and a caller abort is CANCELLED; both close the connection", async () => {
    const slow = runner("text-to-image", { timeout_ms: 200 }) as TextToImageRunner;
    let closed = up.disconnects.next("slow");
    const e = await expectRunnerError(
      slow.run({ prompt: "slow", width: 8, height: 8, num_images_per_prompt: 1 }),
      "UPSTREAM_TIMEOUT",
    );
    expect(e.status).toBe(504);
    await closed;
    closed = up.disconnects.next("slow");
    const r = runner("text-to-image") as TextToImageRunner;
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const c = await expectRunnerError(
      r.run({ prompt: "slow", width: 8, height: 8, num_images_per_prompt: 1 }, { signal: ac.signal }),
      "CANCELLED",
    );
    expect(c.usage).toEqual({ units: 0n, estimated: false });
    await closed;
    expect(r.inFlight()).toBe(0);
  });
});

describe("ai-runner runner: audio", () => {
  it("audio-to-text uploads multipart and bills the decoded WAV duration", async () => {
    const r = runner("audio-to-text") as AudioToTextRunner;
    const wav = encodeWavPcm16(new Int16Array(16_000 * 3), 16_000);
    const { output, usage } = await r.run({
      audio: { data: wav, filename: "a.wav", contentType: "audio/wav" },
      return_timestamps: "word",
    });
    expect(usage).toEqual({ units: 3000n, estimated: false });
    expect(output).toEqual({ text: " hello world", chunks: [{ timestamp: [0, 1.2], text: " hello world" }] });
    expect(last().fields).toMatchObject({ model_id: MODEL, return_timestamps: "word" });
    expect((last().fields.audio as Blob).size).toBe(wav.length);
  });

  it("undecodable audio bills the declared duration (estimated), and is refused without one before any upstream call", async () => {
    const r = runner("audio-to-text") as AudioToTextRunner;
    expect((await r.run({ audio: { data: Buffer.from("OggS fake") }, duration_ms: 2000 })).usage).toEqual({
      units: 2000n,
      estimated: true,
    });
    const before = up.requests.length;
    await expectRunnerError(r.run({ audio: { data: Buffer.from("OggS fake") } }), "BAD_REQUEST");
    expect(up.requests.length).toBe(before);
  });

  it("text-to-speech sends JSON and bills NFC scalar values", async () => {
    const r = runner("text-to-speech") as TextToSpeechRunner;
    const { output, usage } = await r.run({ text: "Cafe\u0301 ☕", description: "A calm voice." });
    expect(usage).toEqual({ units: 6n, estimated: false });
    expect(last().fields).toEqual({ model_id: MODEL, text: "Cafe\u0301 ☕", description: "A calm voice." });
    expect(parseWav(parseDataUri(output.audio.url).data).durationMs).toBe(50n);
  });
});

describe("ai-runner runner: llm and health", () => {
  const REQ: LlmRequest = { messages: [{ role: "user", content: "hello" }], max_tokens: 16 };

  it("non-streamed /llm is normalised to a chat.completion with usage", async () => {
    const { output, usage } = await (runner("llm") as LlmRunner).run(REQ);
    expect(last().fields).toMatchObject({ model: MODEL, max_tokens: 16, stream: false });
    expect(output.object).toBe("chat.completion");
    expect(output.choices[0]!.message.content).toBe("a0 a1 a2 a3 a4");
    expect(usage).toEqual({ units: 5n, estimated: false });
  });

  it("streamed /llm chunks are normalised; usage comes from the chunks", async () => {
    const s = await (runner("llm") as LlmRunner).stream(REQ);
    const chunks: ChatCompletionChunk[] = [];
    for await (const c of s) chunks.push(c);
    expect(chunks.every((c) => c.object === "chat.completion.chunk")).toBe(true);
    expect(chunks.slice(0, -1).every((c) => c.choices[0]!.finish_reason === null)).toBe(true); // "" → null
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe("stop");
    expect(await s.result).toMatchObject({
      outcome: "completed",
      usage: { units: 5n, estimated: false },
      finishReason: "stop",
    });
  });

  it("an error event mid-stream fails the stream with the units reported so far", async () => {
    const s = await (runner("llm") as LlmRunner).stream({
      ...REQ,
      messages: [{ role: "user", content: "error" }],
    });
    await expect(
      (async () => {
        for await (const _ of s);
      })(),
    ).rejects.toThrow(/CUDA out of memory/);
    expect(await s.result).toMatchObject({ outcome: "failed", usage: { units: 2n, estimated: false } });
  });

  it("cancellation mid-stream closes the upstream connection and reports units so far", async () => {
    const r = runner("llm") as LlmRunner;
    const ac = new AbortController();
    const closed = up.disconnects.next("llm:endless");
    const s = await r.stream(
      { messages: [{ role: "user", content: "endless" }], max_tokens: 100_000 },
      { signal: ac.signal },
    );
    let n = 0;
    for await (const _ of s) if (++n === 4) ac.abort();
    await closed;
    expect(await s.result).toMatchObject({ outcome: "cancelled", usage: { units: 4n, estimated: false } });
    expect(r.inFlight()).toBe(0);
  });

  it("health follows /health and fails when the runner is down", async () => {
    const r = runner("llm");
    expect(await r.health()).toEqual({ ok: true, status: "OK" });
    up.status = "ERROR";
    expect(await r.health()).toEqual({ ok: false, status: "ERROR" });
    up.status = "OK";
    const gone = await listen((_q, s) => void s.end());
    await gone.close();
    expect((await createRunner({ pipeline: "llm", model_id: MODEL, url: gone.url }).health()).ok).toBe(false);
  });
});
