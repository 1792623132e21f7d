import { describe, expect, it } from "vitest";
import { createRunner } from "./createRunner.js";
import { parseDataUri } from "./dataUri.js";
import { isRunnerError } from "./errors.js";
import type { RunnerError } from "./errors.js";
import { readPng } from "./png.js";
import type {
  AudioToTextRunner,
  EmbeddingsRunner,
  ImageToImageRunner,
  LlmRunner,
  TextToImageRunner,
  TextToSpeechRunner,
} from "./runner.js";
import { syntheticPng } from "./synthetic.js";
import type { ChatCompletionChunk, LlmRequest, LlmStream } from "./types.js";
import { countTextTokens } from "./units.js";
import { encodeWavPcm16, parseWav } from "./wav.js";

function llm(extra: Record<string, unknown> = {}): LlmRunner {
  return createRunner({
    pipeline: "llm",
    model_id: "synthetic-llm",
    runner: "synthetic",
    ...extra,
  }) as LlmRunner;
}

const REQ: LlmRequest = { messages: [{ role: "user", content: "Tell me a story, please." }], max_tokens: 50 };

async function collect(stream: LlmStream): Promise<{ chunks: ChatCompletionChunk[]; text: string }> {
  const chunks: ChatCompletionChunk[] = [];
  for await (const c of stream) chunks.push(c);
  return { chunks, text: chunks.map((c) => c.choices[0]?.delta.content ?? "").join("") };
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

describe("synthetic LLM", () => {
  it("streams exactly max_tokens tokens, counted truly, deterministically", async () => {
    const r = llm();
    const s = await r.stream(REQ);
    const { chunks, text } = await collect(s);
    const content = chunks.filter((c) => c.choices[0]!.delta.content);
    expect(content).toHaveLength(50);
    expect(countTextTokens(text)).toBe(50); // one emitted piece = one token, recountable
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe("length");
    const end = await s.result;
    expect(end).toMatchObject({
      outcome: "completed",
      usage: { units: 50n, estimated: false },
      finishReason: "length",
      promptTokens: 7,
    }); // Tell me a story , please .

    const again = await collect(await r.stream(REQ));
    expect(again.text).toBe(text);
    const other = await collect(
      await r.stream({ ...REQ, messages: [{ role: "user", content: "Something else" }] }),
    );
    expect(other.text).not.toBe(text);
    expect(r.inFlight()).toBe(0);
  });

  it("run() gives the same text as the stream, with usage", async () => {
    const r = llm();
    const { text } = await collect(await r.stream(REQ));
    const { output, usage } = await r.run(REQ);
    expect(output.choices[0]!.message.content).toBe(text);
    expect(output.usage).toMatchObject({ completion_tokens: 50, prompt_tokens: 7, total_tokens: 57 });
    expect(usage).toEqual({ units: 50n, estimated: false });
  });

  it("defaults to 256 tokens and bounds say so", async () => {
    const r = llm();
    const req = { messages: [{ role: "user", content: "hi" }] };
    expect(r.bounds(req)).toEqual({ estimate: 256n, maximum: 256n });
    expect((await r.run(req)).usage.units).toBe(256n);
  });

  it("stops before a stop sequence and counts only what it emitted", async () => {
    const r = llm();
    const full = (await collect(await r.stream(REQ))).chunks.map((c) => c.choices[0]?.delta.content ?? "");
    const stopWord = full[10]!.trim();
    // The first piece whose addition makes the text contain the stop sequence.
    const firstAt = full.findIndex((_, i) =>
      full
        .slice(0, i + 1)
        .join("")
        .includes(stopWord),
    );
    const s = await r.stream({ ...REQ, stop: [stopWord] });
    const { text } = await collect(s);
    const end = await s.result;
    expect(end.finishReason).toBe("stop");
    expect(end.usage.units).toBe(BigInt(firstAt));
    expect(text.includes(stopWord)).toBe(false);
    expect(countTextTokens(text)).toBe(firstAt);
  });

  it("waits latency_ms before the first token and paces tokens_per_second (lower bounds)", async () => {
    const r = llm({ latency_ms: 120, tokens_per_second: 100 });
    const t0 = performance.now();
    const times: number[] = [];
    for await (const c of await r.stream({ ...REQ, max_tokens: 21 }))
      if (c.choices[0]!.delta.content) times.push(performance.now() - t0);
    expect(times).toHaveLength(21);
    expect(times[0]!).toBeGreaterThanOrEqual(119); // latency (timers never fire early by more than 1 ms)
    expect(times[20]!).toBeGreaterThanOrEqual(119 + 200); // then 20 intervals of 10 ms
    for (let i = 1; i < times.length; i++) expect(times[i]!).toBeGreaterThanOrEqual(times[i - 1]!);
  });

  it("cancellation mid-stream ends the iteration and reports the tokens produced", async () => {
    const r = llm({ tokens_per_second: 1 }); // ~17 minutes for 1000 tokens if it did not stop
    const ac = new AbortController();
    const s = await r.stream({ ...REQ, max_tokens: 1000 }, { signal: ac.signal });
    const got: string[] = [];
    const t = performance.now();
    setTimeout(() => ac.abort(), 1100); // after the 2nd token (t = 0 s, 1 s)
    for await (const c of s) got.push(c.choices[0]!.delta.content ?? "");
    const end = await s.result;
    expect(performance.now() - t).toBeLessThan(5000); // bounded, far below the 1000 s it would take
    expect(end.outcome).toBe("cancelled");
    expect(end.usage).toEqual({ units: BigInt(got.length), estimated: false });
    expect(got.length).toBeGreaterThanOrEqual(2);
    expect(r.inFlight()).toBe(0);
  });

  it("breaking out of the loop cancels and charges what was consumed", async () => {
    const r = llm();
    const s = await r.stream({ ...REQ, max_tokens: 100 });
    let n = 0;
    for await (const _ of s) if (++n === 7) break;
    expect(await s.result).toMatchObject({ outcome: "cancelled", usage: { units: 7n } });
    expect(r.inFlight()).toBe(0);
  });

  it("an abort during the latency, before iteration, settles with zero units", async () => {
    const r = llm({ latency_ms: 60_000 });
    const ac = new AbortController();
    const s = await r.stream(REQ, { signal: ac.signal });
    ac.abort();
    expect(await s.result).toMatchObject({ outcome: "cancelled", usage: { units: 0n } });
    expect([...(await collect(s)).chunks]).toEqual([]);
    expect(r.inFlight()).toBe(0);
  });

  it("run() cancelled reports produced units on the CANCELLED error", async () => {
    const r = llm({ tokens_per_second: 200 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const e = await expectRunnerError(
      r.run({ ...REQ, max_tokens: 10_000 }, { signal: ac.signal }),
      "CANCELLED",
    );
    expect(e.status).toBe(499);
    expect(e.usage!.units).toBeGreaterThanOrEqual(1n);
    expect(e.usage!.units).toBeLessThan(10_000n);
    await expectRunnerError(r.run(REQ, { signal: AbortSignal.abort() }), "CANCELLED");
  });

  it("refuses work beyond capacity with CAPACITY, and frees the slot when a stream ends", async () => {
    const r = llm({ capacity: 1, tokens_per_second: 1000 });
    const s = await r.stream(REQ);
    expect(r.inFlight()).toBe(1);
    const e = await expectRunnerError(r.run(REQ), "CAPACITY");
    expect(e.status).toBe(503);
    await collect(s);
    expect(r.inFlight()).toBe(0);
    expect((await r.run({ ...REQ, max_tokens: 3 })).usage.units).toBe(3n);
  });
});

describe("synthetic images", () => {
  const t2i = createRunner({
    pipeline: "text-to-image",
    model_id: "sd",
    runner: "synthetic",
  }) as TextToImageRunner;

  it("delivers real PNGs of the requested size; units = w × h × n", async () => {
    const req = { prompt: "a red fox", width: 512, height: 384, num_images_per_prompt: 2 };
    const { output, usage } = await t2i.run(req);
    expect(usage).toEqual({ units: 512n * 384n * 2n, estimated: false });
    expect(output.images).toHaveLength(2);
    for (const img of output.images) {
      const { mediaType, data } = parseDataUri(img.url);
      expect(mediaType).toBe("image/png");
      const png = readPng(data);
      expect([png.width, png.height]).toEqual([512, 384]);
      expect(img.nsfw).toBe(false);
    }
    expect(output.images[1]!.seed).toBe((output.images[0]!.seed + 1) % 2 ** 32);
    const again = await t2i.run(req);
    expect(again.output.images[0]!.url).toBe(output.images[0]!.url);
    expect((await t2i.run({ ...req, seed: 5 })).output.images[0]!.seed).toBe(5);
  });

  it("caps the size at 2048 with a BAD_REQUEST before running", async () => {
    expect(() => t2i.bounds({ prompt: "x", width: 4096, height: 512, num_images_per_prompt: 1 })).toThrow(
      /at most 2048x2048/,
    );
  });

  it("image-to-image keeps the input size and bills input pixels", async () => {
    const i2i = createRunner({
      pipeline: "image-to-image",
      model_id: "sd",
      runner: "synthetic",
    }) as ImageToImageRunner;
    const req = { prompt: "blue", image: { data: syntheticPng(200, 100, 3) }, num_images_per_prompt: 3 };
    expect(i2i.bounds(req).maximum).toBe(60_000n);
    const { output, usage } = await i2i.run(req);
    expect(usage.units).toBe(60_000n);
    const png = readPng(parseDataUri(output.images[2]!.url).data);
    expect([png.width, png.height]).toEqual([200, 100]);
  });
});

describe("synthetic audio and embeddings", () => {
  it("audio-to-text bills the decoded WAV duration and rejects non-WAV", async () => {
    const a2t = createRunner({
      pipeline: "audio-to-text",
      model_id: "whisper",
      runner: "synthetic",
    }) as AudioToTextRunner;
    const wav = encodeWavPcm16(new Int16Array(40_000), 16_000); // 2.5 s
    const { output, usage } = await a2t.run({ audio: { data: wav }, duration_ms: 99 });
    expect(usage).toEqual({ units: 2500n, estimated: false }); // decoded wins over declared
    expect(output.text.trim().split(" ")).toHaveLength(7); // one word per 400 ms
    expect(output.chunks.at(-1)!.timestamp[1]).toBe(2.5);
    expect((await a2t.run({ audio: { data: wav } })).output.text).toBe(output.text);
    expect(() => a2t.bounds({ audio: { data: Buffer.from("ID3 fake mp3") }, duration_ms: 1000 })).toThrow(
      /not a WAV file/,
    );
  });

  it("text-to-speech returns a WAV proportional to the text and bills NFC scalar values", async () => {
    const tts = createRunner({
      pipeline: "text-to-speech",
      model_id: "tts",
      runner: "synthetic",
    }) as TextToSpeechRunner;
    const { output, usage } = await tts.run({ text: "he\u0301llo 🙂" });
    expect(usage).toEqual({ units: 7n, estimated: false });
    const { mediaType, data } = parseDataUri(output.audio.url);
    expect(mediaType).toBe("audio/wav");
    expect(parseWav(data).durationMs).toBe(350n);
  });

  it("embeddings bill prompt pieces exactly and are deterministic unit vectors", async () => {
    const emb = createRunner({
      pipeline: "embeddings",
      model_id: "e",
      runner: "synthetic",
    }) as EmbeddingsRunner;
    const { output, usage } = await emb.run({ input: ["hello world", "a, b"] });
    expect(usage).toEqual({ units: 5n, estimated: false });
    expect(output.usage.prompt_tokens).toBe(5);
    const v = output.data[0]!.embedding as number[];
    expect(v).toHaveLength(32);
    expect(Math.abs(Math.hypot(...v) - 1)).toBeLessThan(1e-5);
    expect((await emb.run({ input: "hello world" })).output.data[0]!.embedding).toEqual(v);
  });
});
