import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRunner } from "./createRunner.js";
import { parseDataUri } from "./dataUri.js";
import { isRunnerError } from "./errors.js";
import type { RunnerError } from "./errors.js";
import { readPng } from "./png.js";
import type {
  AudioToTextRunner,
  EmbeddingsRunner,
  LlmRunner,
  TextToImageRunner,
  TextToSpeechRunner,
} from "./runner.js";
import { listen } from "./testing/httpServer.js";
import {
  FAKE_EMBEDDING_TOKENS_PER_INPUT,
  FAKE_HIDDEN_TOKENS,
  FAKE_MAX_CONTENT_CHUNKS,
  FAKE_REASONING_CHUNKS,
  startFakeOpenAi,
} from "./testing/fakeOpenAiServer.js";
import type { FakeOpenAiServer } from "./testing/fakeOpenAiServer.js";
import type { ChatCompletionChunk, LlmRequest } from "./types.js";
import { countTextTokens } from "./units.js";
import { encodeWavPcm16, parseWav } from "./wav.js";

let up: FakeOpenAiServer;
const TOKEN = "sk-test-123";

beforeAll(async () => {
  up = await startFakeOpenAi({ token: TOKEN, slowMs: 3000 });
});
afterAll(async () => {
  await up.close();
});

function runner(pipeline: string, upstreamModel: string, extra: Record<string, unknown> = {}) {
  return createRunner({
    pipeline,
    model_id: "public-model",
    runner: "openai",
    url: `${up.url}/v1`,
    token: TOKEN,
    upstream_model: upstreamModel,
    ...extra,
  });
}
const chat = (m: string, extra?: Record<string, unknown>) => runner("llm", m, extra) as LlmRunner;

const REQ: LlmRequest = {
  messages: [{ role: "user", content: "hi" }],
  max_tokens: 16,
  temperature: 0.2,
  extra: { user: "u1" },
};
const FULL_USAGE = FAKE_MAX_CONTENT_CHUNKS + FAKE_REASONING_CHUNKS + FAKE_HIDDEN_TOKENS;
const CONTENT = Array.from({ length: FAKE_MAX_CONTENT_CHUNKS }, (_, i) => `${i ? " " : ""}w${i}`).join("");

async function expectRunnerError(p: Promise<unknown>, code: RunnerError["code"]): Promise<RunnerError> {
  try {
    await p;
  } catch (e) {
    expect(isRunnerError(e, code), String(e)).toBe(true);
    return e as RunnerError;
  }
  throw new Error(`expected ${code}`);
}

function lastRequest() {
  return up.requests[up.requests.length - 1]!;
}

describe("openai runner: chat completions", () => {
  it("non-streamed: forwards the request with max_tokens enforced, bills usage.completion_tokens", async () => {
    const { output, usage } = await chat("ok").run(REQ);
    expect(usage).toEqual({ units: BigInt(FULL_USAGE), estimated: false });
    expect(output.choices[0]!.message.content).toBe(CONTENT);
    expect(output.model).toBe("public-model");
    const sent = lastRequest();
    expect(sent.path).toBe("/v1/chat/completions");
    expect(sent.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(sent.body).toMatchObject({
      model: "ok",
      max_tokens: 16,
      stream: false,
      temperature: 0.2,
      user: "u1",
    });
    expect(sent.body.stream_options).toBeUndefined();
  });

  it("non-streamed without usage: counts the text, marked estimated", async () => {
    const { usage } = await chat("no-usage").run(REQ);
    expect(usage).toEqual({ units: BigInt(countTextTokens(CONTENT)), estimated: true });
  });

  it("streamed: SSE with keep-alives and multi-line data; usage from the usage chunk (reasoning included)", async () => {
    const s = await chat("ok").stream(REQ);
    const chunks: ChatCompletionChunk[] = [];
    for await (const c of s) chunks.push(c);
    expect(lastRequest().body).toMatchObject({
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 16,
    });
    expect(
      chunks.every(
        (c) => c.object === "chat.completion.chunk" && c.choices.length === 1 && c.usage === undefined,
      ),
    ).toBe(true);
    expect(chunks.map((c) => c.choices[0]!.delta.content ?? "").join("")).toBe(CONTENT);
    expect(chunks.filter((c) => c.choices[0]!.delta.reasoning_content)).toHaveLength(FAKE_REASONING_CHUNKS);
    const end = await s.result;
    expect(end).toMatchObject({ outcome: "completed", finishReason: "stop", promptTokens: 5 });
    expect(end.usage).toEqual({ units: BigInt(FULL_USAGE), estimated: false });
  });

  it("streamed without usage: one token per output chunk, marked estimated", async () => {
    const s = await chat("no-usage").stream(REQ);
    for await (const _ of s);
    const end = await s.result;
    expect(end.outcome).toBe("completed");
    expect(end.usage).toEqual({
      units: BigInt(FAKE_MAX_CONTENT_CHUNKS + FAKE_REASONING_CHUNKS),
      estimated: true,
    });
  });

  it("upstream 500, 400 and 503 become UPSTREAM_ERROR, BAD_REQUEST and CAPACITY", async () => {
    const e500 = await expectRunnerError(chat("fail-500").run(REQ), "UPSTREAM_ERROR");
    expect(e500.status).toBe(502);
    expect(e500.message).toMatch(/500: boom/);
    expect(e500.details).toMatchObject({ upstreamStatus: 500 });
    await expectRunnerError(chat("fail-500").stream(REQ), "UPSTREAM_ERROR"); // before the first byte
    const e400 = await expectRunnerError(chat("bad-request").run(REQ), "BAD_REQUEST");
    expect(e400.message).toBe("context length exceeded");
    expect(e400.status).toBe(400);
    await expectRunnerError(chat("busy").stream(REQ), "CAPACITY");
    const r = chat("fail-500");
    await expectRunnerError(r.run(REQ), "UPSTREAM_ERROR");
    expect(r.inFlight()).toBe(0);
  });

  it("malformed JSON and malformed SSE become UPSTREAM_ERROR", async () => {
    const e = await expectRunnerError(chat("bad-json").run(REQ), "UPSTREAM_ERROR");
    expect(e.message).toMatch(/malformed JSON/);
    const s = await chat("bad-sse").stream(REQ);
    const got: string[] = [];
    await expect(
      (async () => {
        for await (const c of s) got.push(c.choices[0]!.delta.content ?? "");
      })(),
    ).rejects.toThrow(/malformed JSON in upstream stream/);
    const end = await s.result;
    expect(end.outcome).toBe("failed");
    expect(end.error && isRunnerError(end.error, "UPSTREAM_ERROR")).toBe(true);
    expect(end.usage).toEqual({ units: BigInt(FAKE_REASONING_CHUNKS + 2), estimated: true });
  });

  it("times out waiting for headers (UPSTREAM_TIMEOUT) and closes the upstream connection", async () => {
    const before = up.disconnects.count;
    const closed = up.disconnects.next("slow");
    const e = await expectRunnerError(chat("slow", { timeout_ms: 200 }).run(REQ), "UPSTREAM_TIMEOUT");
    expect(e.status).toBe(504);
    await closed;
    expect(up.disconnects.count).toBe(before + 1);
  });

  it("times out an upstream that goes silent mid-stream, charging the chunks received", async () => {
    const s = await chat("stall", { timeout_ms: 300 }).stream(REQ);
    const seen: ChatCompletionChunk[] = [];
    const err = await (async () => {
      try {
        for await (const c of s) seen.push(c);
      } catch (e) {
        return e;
      }
    })();
    expect(isRunnerError(err, "UPSTREAM_TIMEOUT")).toBe(true);
    expect(seen).toHaveLength(FAKE_REASONING_CHUNKS + 2);
    expect(await s.result).toMatchObject({
      outcome: "failed",
      usage: { units: BigInt(FAKE_REASONING_CHUNKS + 2), estimated: true },
    });
  });

  it("cancellation mid-stream closes the upstream connection and reports units so far", async () => {
    const r = chat("endless");
    const ac = new AbortController();
    const closed = up.disconnects.next("endless");
    const s = await r.stream({ ...REQ, max_tokens: 100_000 }, { signal: ac.signal });
    let n = 0;
    for await (const c of s) {
      if (c.choices[0]!.delta.content) n++;
      if (n === 5) ac.abort();
    }
    await closed; // the upstream saw the connection close
    const end = await s.result;
    expect(end.outcome).toBe("cancelled");
    expect(end.usage.estimated).toBe(true);
    expect(end.usage.units).toBe(BigInt(n));
    expect(n).toBe(5);
    expect(r.inFlight()).toBe(0);
  });

  it("breaking out of the loop also closes the upstream connection", async () => {
    const closed = up.disconnects.next("endless");
    const s = await chat("endless").stream({ ...REQ, max_tokens: 100_000 });
    let n = 0;
    for await (const _ of s) if (++n === 3) break;
    await closed;
    expect(await s.result).toMatchObject({ outcome: "cancelled", usage: { units: 3n } });
  });

  it("an unreachable server is UPSTREAM_ERROR; health reports it", async () => {
    const gone = await listen((_req, res) => void res.end());
    const url = gone.url;
    await gone.close();
    const r = createRunner({
      pipeline: "llm",
      model_id: "m",
      runner: "openai",
      url,
      timeout_ms: 2000,
    }) as LlmRunner;
    const e = await expectRunnerError(r.run(REQ), "UPSTREAM_ERROR");
    expect(e.message).toMatch(/cannot reach upstream/);
    expect((await r.health()).ok).toBe(false);
    expect(await chat("ok").health()).toEqual({ ok: true, status: "OK" });
  });

  it("a wrong bearer token is an UPSTREAM_ERROR carrying the upstream's 401", async () => {
    const r = createRunner({
      pipeline: "llm",
      model_id: "m",
      runner: "openai",
      url: up.url,
      token: "wrong",
    }) as LlmRunner;
    const e = await expectRunnerError(r.run(REQ), "UPSTREAM_ERROR");
    expect(e.details).toMatchObject({ upstreamStatus: 401 });
    expect(e.message).toMatch(/invalid api key/);
  });
});

describe("openai runner: embeddings, images, audio", () => {
  it("embeddings bill usage.prompt_tokens, or count pieces (estimated) without usage", async () => {
    const r = runner("embeddings", "ok") as EmbeddingsRunner;
    const { output, usage } = await r.run({ input: ["alpha beta", "gamma"] });
    expect(usage).toEqual({ units: BigInt(2 * FAKE_EMBEDDING_TOKENS_PER_INPUT), estimated: false });
    expect(output.data).toHaveLength(2);
    expect(output.model).toBe("public-model");
    const noUsage = await (runner("embeddings", "no-usage") as EmbeddingsRunner).run({
      input: ["alpha beta", "gamma"],
    });
    expect(noUsage.usage).toEqual({ units: 3n, estimated: true });
  });

  it("text-to-image via /v1/images/generations: w × h × delivered", async () => {
    const r = runner("text-to-image", "ok") as TextToImageRunner;
    const { output, usage } = await r.run({
      prompt: "a boat",
      width: 64,
      height: 32,
      num_images_per_prompt: 2,
    });
    expect(lastRequest().body).toMatchObject({
      size: "64x32",
      n: 2,
      response_format: "b64_json",
      model: "ok",
    });
    expect(usage.units).toBe(64n * 32n * 2n);
    const png = readPng(parseDataUri(output.images[0]!.url).data);
    expect([png.width, png.height]).toEqual([64, 32]);
  });

  it("audio-to-text uploads the file as multipart and bills the decoded duration", async () => {
    const r = runner("audio-to-text", "ok") as AudioToTextRunner;
    const wav = encodeWavPcm16(new Int16Array(12_000), 8000); // 1.5 s
    const { output, usage } = await r.run({
      audio: { data: wav, filename: "a.wav", contentType: "audio/wav" },
    });
    expect(usage).toEqual({ units: 1500n, estimated: false });
    expect(output.text).toBe(`heard ${wav.length} bytes`);
    expect(output.chunks).toEqual([{ timestamp: [0, 1.5], text: `heard ${wav.length} bytes` }]);
    expect(lastRequest().body).toMatchObject({ model: "ok", response_format: "json", bytes: wav.length });
    // Not decodable here: the declared duration is billed, marked estimated.
    const mp3 = await r.run({
      audio: { data: Buffer.from("ID3 fake"), filename: "a.mp3" },
      duration_ms: 4200,
    });
    expect(mp3.usage).toEqual({ units: 4200n, estimated: true });
  });

  it("text-to-speech via /v1/audio/speech returns a data URI and bills scalar values", async () => {
    const r = runner("text-to-speech", "ok") as TextToSpeechRunner;
    const { output, usage } = await r.run({ text: "Grüße 🙂", description: "nova" });
    expect(usage).toEqual({ units: 7n, estimated: false });
    expect(lastRequest().body).toMatchObject({ input: "Grüße 🙂", voice: "nova", response_format: "wav" });
    expect(parseWav(parseDataUri(output.audio.url).data).durationMs).toBe(100n);
  });
});
