// A real HTTP server speaking Livepeer ai-runner's routes, to test the `ai-runner` runner:
// /health, /text-to-image (JSON), /image-to-image and /audio-to-text (multipart),
// /text-to-speech (JSON), /llm (JSON and SSE). Errors use ai-runner's `{"detail": {"msg"}}`.
// Behaviours: prompt/text "fail" → 500, "bad-json" → truncated JSON, "slow" → waits,
// "one-image" → a single image whatever n;
// an llm message "endless" streams until the client disconnects, "error" sends an error event.
import type { ServerResponse } from "node:http";
import { toDataUri } from "../dataUri.js";
import { encodePngRgb } from "../png.js";
import { encodeWavPcm16 } from "../wav.js";
import { DisconnectLog, listen, pause, readForm, sendJson } from "./httpServer.js";
import type { TestServer } from "./httpServer.js";

export interface FakeAiRunnerServer extends TestServer {
  readonly requests: { path: string; fields: Record<string, unknown>; contentType: string }[];
  readonly disconnects: DisconnectLog;
  /** What /health answers. */
  status: "OK" | "IDLE" | "ERROR";
}

export interface FakeAiRunnerOptions {
  readonly modelId: string;
  readonly token?: string;
  readonly slowMs?: number;
}

function httpError(res: ServerResponse, status: number, msg: string): void {
  sendJson(res, status, { detail: { msg } });
}

/**
 * Starts the fake ai-runner.
 *
 * @example
 * const up = await startFakeAiRunner({ modelId: "sd" });
 */
export async function startFakeAiRunner(opts: FakeAiRunnerOptions): Promise<FakeAiRunnerServer> {
  const requests: FakeAiRunnerServer["requests"] = [];
  const disconnects = new DisconnectLog();
  const state = { status: "OK" as FakeAiRunnerServer["status"] };
  const server = await listen(async (req, res, raw) => {
    const path = (req.url ?? "/").split("?")[0]!;
    if (req.method === "GET" && path === "/health") return sendJson(res, 200, { status: state.status });
    if (opts.token && req.headers.authorization !== `Bearer ${opts.token}`)
      return httpError(res, 401, "Invalid bearer token.");
    const contentType = req.headers["content-type"] ?? "";
    let fields: Record<string, unknown>;
    if (contentType.startsWith("multipart/form-data")) {
      const form = await readForm(req, raw);
      fields = {};
      form.forEach((v, k) => {
        fields[k] = typeof v === "string" ? v : v;
      });
    } else {
      try {
        fields = JSON.parse(raw.toString("utf8")) as Record<string, unknown>;
      } catch {
        return sendJson(res, 422, {
          detail: [{ loc: ["body"], msg: "JSON decode error", type: "json_invalid" }],
        });
      }
    }
    requests.push({ path, fields, contentType });
    const model = fields.model_id ?? fields.model;
    if (model !== undefined && model !== "" && model !== opts.modelId) {
      return httpError(res, 400, `pipeline configured with ${opts.modelId} but called with ${String(model)}`);
    }
    const prompt = String(fields.prompt ?? fields.text ?? "");
    if (prompt === "fail") return httpError(res, 500, "Text-to-image pipeline error.");
    if (prompt === "bad-json") {
      res.writeHead(200, { "content-type": "application/json" });
      return void res.end('{"images": [{"url": "data:');
    }
    if (prompt === "slow") {
      disconnects.watch(res, "slow");
      if (!(await pause(res, opts.slowMs ?? 2000))) return;
    }
    switch (path) {
      case "/text-to-image":
      case "/image-to-image": {
        if (!prompt)
          return sendJson(res, 422, {
            detail: [{ loc: ["body", "prompt"], msg: "Field required", type: "missing" }],
          });
        let w: number;
        let h: number;
        if (path === "/text-to-image") {
          w = Number(fields.width ?? 1024);
          h = Number(fields.height ?? 576);
        } else {
          const image = fields.image;
          if (!(image instanceof Blob)) return httpError(res, 400, "image required");
          const bytes = Buffer.from(await image.arrayBuffer());
          w = bytes.readUInt32BE(16);
          h = bytes.readUInt32BE(20);
        }
        const n = prompt === "one-image" ? 1 : Number(fields.num_images_per_prompt ?? 1);
        const png = encodePngRgb(w, h, () => Buffer.alloc(w * 3, 0x40));
        const seed = Number(fields.seed ?? 42);
        return sendJson(res, 200, {
          images: Array.from({ length: n }, (_, i) => ({
            url: toDataUri("image/png", png),
            seed: seed + i,
            nsfw: false,
          })),
        });
      }
      case "/audio-to-text": {
        const audio = fields.audio;
        if (!(audio instanceof Blob)) return httpError(res, 400, "audio required");
        return sendJson(res, 200, {
          text: " hello world",
          chunks: [{ timestamp: [0, 1.2], text: " hello world" }],
        });
      }
      case "/text-to-speech": {
        if (!fields.text) return httpError(res, 400, "Text input must be provided.");
        return sendJson(res, 200, {
          audio: { url: toDataUri("audio/wav", encodeWavPcm16(new Int16Array(800), 16000)) },
        });
      }
      case "/llm":
        return llm(fields, res, disconnects);
      default:
        return httpError(res, 404, "Not Found");
    }
  });
  return {
    ...server,
    requests,
    disconnects,
    get status() {
      return state.status;
    },
    set status(s) {
      state.status = s;
    },
  };
}

async function llm(
  body: Record<string, unknown>,
  res: ServerResponse,
  disconnects: DisconnectLog,
): Promise<void> {
  const max = Number(body.max_tokens ?? 256);
  const messages = body.messages as { content: string }[];
  const last = messages[messages.length - 1]?.content ?? "";
  const n = Math.min(max, 5);
  const usage = { prompt_tokens: 4, completion_tokens: n, total_tokens: 4 + n };
  const base = { id: "chatcmpl-air", model: String(body.model ?? ""), created: 1700000000 };
  if (!body.stream) {
    return sendJson(res, 200, {
      ...base,
      usage,
      choices: [
        {
          index: 0,
          finish_reason: "stop",
          message: { role: "assistant", content: Array.from({ length: n }, (_, i) => `a${i}`).join(" ") },
        },
      ],
    });
  }
  disconnects.watch(res, `llm:${last}`);
  res.writeHead(200, { "content-type": "text/event-stream" });
  const send = (obj: unknown) => res.write(`data: ${JSON.stringify(obj)}\n\n`);
  const count = last === "endless" ? max : n;
  for (let i = 0; i < count; i++) {
    if (last === "endless" && !(await pause(res, 10))) return;
    if (last === "error" && i === 2) {
      res.end(`data: ${JSON.stringify({ error: "CUDA out of memory" })}\n\n`);
      return;
    }
    send({
      ...base,
      usage: { prompt_tokens: 4, completion_tokens: i + 1, total_tokens: 5 + i },
      choices: [{ index: 0, finish_reason: "", delta: { role: "assistant", content: ` a${i}` } }],
    });
  }
  send({
    ...base,
    usage,
    choices: [{ index: 0, finish_reason: "stop", delta: { role: "assistant", content: "" } }],
  });
  res.end("data: [DONE]\n\n");
}
