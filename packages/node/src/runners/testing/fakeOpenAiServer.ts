// A real HTTP server speaking enough of the OpenAI API to test the `openai` runner:
// /v1/models, /v1/chat/completions (JSON and SSE with keep-alive comments, multi-line data,
// usage chunk), /v1/embeddings, /v1/images/generations, /v1/audio/transcriptions, /v1/audio/speech.
// The upstream model name selects a behaviour: "ok", "no-usage", "fail-500", "bad-json",
// "bad-sse", "slow", "stall", "endless", "busy", "bad-request", "no-done".
import type { IncomingMessage, ServerResponse } from "node:http";
import { encodePngRgb } from "../png.js";
import { encodeWavPcm16 } from "../wav.js";
import { DisconnectLog, listen, pause, readForm, sendJson } from "./httpServer.js";
import type { TestServer } from "./httpServer.js";

/** Reasoning chunks streamed before the content. */
export const FAKE_REASONING_CHUNKS = 2;
/** Tokens the fake reports in `usage` beyond the chunks it streams (so usage ≠ chunk count). */
export const FAKE_HIDDEN_TOKENS = 3;
/** Content chunks the fake emits: min(max_tokens, 8). */
export const FAKE_MAX_CONTENT_CHUNKS = 8;
/** Prompt tokens the fake reports per embeddings input. */
export const FAKE_EMBEDDING_TOKENS_PER_INPUT = 7;

export interface FakeOpenAiServer extends TestServer {
  readonly requests: { path: string; body: Record<string, unknown>; headers: IncomingMessage["headers"] }[];
  readonly disconnects: DisconnectLog;
}

export interface FakeOpenAiOptions {
  /** Require `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** Delay of the "slow" behaviour before headers, ms. */
  readonly slowMs?: number;
}

/**
 * Starts the fake OpenAI-compatible server.
 *
 * @example
 * const up = await startFakeOpenAi(); // up.url → "http://127.0.0.1:PORT"
 */
export async function startFakeOpenAi(opts: FakeOpenAiOptions = {}): Promise<FakeOpenAiServer> {
  const requests: FakeOpenAiServer["requests"] = [];
  const disconnects = new DisconnectLog();
  const server = await listen(async (req, res, raw) => {
    const path = (req.url ?? "/").split("?")[0]!;
    if (opts.token && req.headers.authorization !== `Bearer ${opts.token}`) {
      return sendJson(res, 401, { error: { message: "invalid api key", type: "invalid_request_error" } });
    }
    if (req.method === "GET" && path === "/v1/models")
      return sendJson(res, 200, { object: "list", data: [{ id: "ok", object: "model" }] });
    if (req.method !== "POST") return sendJson(res, 404, { error: { message: "not found" } });
    if (path === "/v1/audio/transcriptions") {
      const form = await readForm(req, raw);
      const file = form.get("file");
      const size = file instanceof Blob ? file.size : 0;
      requests.push({
        path,
        body: { model: form.get("model"), response_format: form.get("response_format"), bytes: size },
        headers: req.headers,
      });
      return sendJson(res, 200, {
        text: `heard ${size} bytes`,
        segments: [{ id: 0, start: 0, end: 1.5, text: `heard ${size} bytes` }],
      });
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw.toString("utf8")) as Record<string, unknown>;
    } catch {
      return sendJson(res, 400, { error: { message: "invalid JSON body" } });
    }
    requests.push({ path, body, headers: req.headers });
    const model = String(body.model ?? "ok");
    if (model === "fail-500") return sendJson(res, 500, { error: { message: "boom", type: "server_error" } });
    if (model === "busy") return sendJson(res, 503, { error: { message: "overloaded" } });
    if (model === "bad-request")
      return sendJson(res, 400, {
        error: { message: "context length exceeded", type: "invalid_request_error" },
      });
    if (model === "bad-json") {
      res.writeHead(200, { "content-type": "application/json" });
      return void res.end('{"id": "x", "choices": [');
    }
    if (model === "slow") {
      disconnects.watch(res, model);
      if (!(await pause(res, opts.slowMs ?? 2000))) return;
    }
    switch (path) {
      case "/v1/chat/completions":
        return chat(body, model, res, disconnects);
      case "/v1/embeddings": {
        const inputs = typeof body.input === "string" ? [body.input] : (body.input as string[]);
        const out: Record<string, unknown> = {
          object: "list",
          model,
          data: inputs.map((_, index) => ({ object: "embedding", index, embedding: [0.1, 0.2, 0.3] })),
        };
        if (model !== "no-usage") {
          const n = inputs.length * FAKE_EMBEDDING_TOKENS_PER_INPUT;
          out.usage = { prompt_tokens: n, total_tokens: n };
        }
        return sendJson(res, 200, out);
      }
      case "/v1/images/generations": {
        const [w, h] = String(body.size).split("x").map(Number) as [number, number];
        const png = encodePngRgb(w, h, () => Buffer.alloc(w * 3, 0x80)).toString("base64");
        return sendJson(res, 200, {
          created: 1,
          data: Array.from({ length: Number(body.n ?? 1) }, () => ({ b64_json: png })),
        });
      }
      case "/v1/audio/speech": {
        const wav = encodeWavPcm16(new Int16Array(1600), 16000);
        res.writeHead(200, { "content-type": "audio/wav", "content-length": wav.length });
        return void res.end(wav);
      }
      default:
        return sendJson(res, 404, { error: { message: `no route ${path}` } });
    }
  });
  return { ...server, requests, disconnects };
}

function chunkJson(
  id: string,
  model: string,
  delta: Record<string, unknown>,
  finish: string | null,
): Record<string, unknown> {
  return {
    id,
    object: "chat.completion.chunk",
    created: 1700000000,
    model,
    choices: [{ index: 0, delta, finish_reason: finish }],
  };
}

async function chat(
  body: Record<string, unknown>,
  model: string,
  res: ServerResponse,
  disconnects: DisconnectLog,
): Promise<void> {
  const max = Number(body.max_tokens ?? 16);
  const content = Math.min(max, FAKE_MAX_CONTENT_CHUNKS);
  const usage = {
    prompt_tokens: 5,
    completion_tokens: content + FAKE_REASONING_CHUNKS + FAKE_HIDDEN_TOKENS,
    total_tokens: 5 + content + FAKE_REASONING_CHUNKS + FAKE_HIDDEN_TOKENS,
    completion_tokens_details: { reasoning_tokens: FAKE_REASONING_CHUNKS },
  };
  const words = Array.from({ length: content }, (_, i) => `${i === 0 ? "" : " "}w${i}`);
  if (!body.stream) {
    const out: Record<string, unknown> = {
      id: "chatcmpl-fake",
      object: "chat.completion",
      created: 1700000000,
      model,
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: words.join("") },
          finish_reason: content < max ? "stop" : "length",
        },
      ],
    };
    if (model !== "no-usage") out.usage = usage;
    return sendJson(res, 200, out);
  }
  disconnects.watch(res, model);
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  const send = (obj: unknown) => res.write(`data: ${JSON.stringify(obj)}\n\n`);
  res.write(": keep-alive\n\n");
  if (model === "endless") {
    // One token every 10 ms until the client goes away (or max_tokens).
    for (let i = 0; i < max; i++) {
      if (!(await pause(res, 10))) return;
      send(chunkJson("chatcmpl-endless", model, { content: ` t${i}` }, null));
    }
    send(chunkJson("chatcmpl-endless", model, {}, "length"));
    res.end("data: [DONE]\n\n");
    return;
  }
  for (let i = 0; i < FAKE_REASONING_CHUNKS; i++)
    send(chunkJson("chatcmpl-fake", model, { role: "assistant", reasoning_content: `think${i}` }, null));
  for (let i = 0; i < content; i++) {
    const obj = chunkJson("chatcmpl-fake", model, { content: words[i] }, null);
    if (i === 1) {
      // The same JSON split over several data: lines (legal SSE; joined with "\n").
      res.write(
        JSON.stringify(obj, null, 1)
          .split("\n")
          .map((l) => `data: ${l}`)
          .join("\r\n") + "\r\n\r\n",
      );
    } else send(obj);
    if (i === 2) res.write(": ping\n\n");
    if (model === "bad-sse" && i === 1) {
      res.end("data: {this is not json}\n\n");
      return;
    }
    if (model === "stall" && i === 1) return; // never finishes: headers sent, then silence
  }
  send(chunkJson("chatcmpl-fake", model, {}, content < max ? "stop" : "length"));
  if (model === "no-done") return void res.end(); // closes without finish… see test
  if (model !== "no-usage")
    send({
      id: "chatcmpl-fake",
      object: "chat.completion.chunk",
      created: 1700000000,
      model,
      choices: [],
      usage,
    });
  res.end("data: [DONE]\n\n");
}
