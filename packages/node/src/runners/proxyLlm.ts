// LLM proxying shared by the openai and ai-runner engines: both speak OpenAI-shaped JSON and
// OpenAI-style SSE (`data: {chunk}` … `data: [DONE]`), ai-runner with a few differences
// (no `object` field, `finish_reason: ""` while running, `data: {"error": "..."}` on failure).
import type { LlmProgress } from "./engine.js";
import { RunnerError } from "./errors.js";
import { countTextTokens } from "./units.js";
import type { UpstreamCall } from "./upstream.js";
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionChunkChoice,
  ChatCompletionChoice,
  TokenUsage,
} from "./types.js";

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function malformed(what: string, body?: unknown): RunnerError {
  const details = body === undefined ? {} : { body: JSON.stringify(body).slice(0, 200) };
  return new RunnerError("UPSTREAM_ERROR", `unexpected ${what} from upstream`, { details });
}

/** A usage object with integer counts, or undefined. */
export function readUsage(v: unknown): TokenUsage | undefined {
  if (!isObj(v)) return undefined;
  const c = v.completion_tokens;
  if (typeof c !== "number" || !Number.isSafeInteger(c) || c < 0) return undefined;
  const p = typeof v.prompt_tokens === "number" ? v.prompt_tokens : 0;
  const t = typeof v.total_tokens === "number" ? v.total_tokens : p + c;
  return { ...v, prompt_tokens: p, completion_tokens: c, total_tokens: t };
}

function finishReason(v: unknown): string | null {
  return typeof v === "string" && v !== "" ? v : null;
}

/** An error carried in a stream event or a 200 body (`{"error": ...}`), if any. */
function embeddedError(j: Obj): RunnerError | undefined {
  const e = j.error;
  if (e === undefined || e === null) return undefined;
  const msg =
    typeof e === "string" ? e : isObj(e) && typeof e.message === "string" ? e.message : JSON.stringify(e);
  return new RunnerError("UPSTREAM_ERROR", `upstream error: ${msg}`);
}

/**
 * Normalises a non-streamed completion and records its usage in `progress` (counting content
 * pieces, marked estimated, when the upstream sent no usage).
 *
 * @example
 * const completion = completionFromJson(await call.readJson(res), "m", progress);
 */
export function completionFromJson(j: unknown, model: string, progress: LlmProgress): ChatCompletion {
  if (!isObj(j)) throw malformed("completion", j);
  const err = embeddedError(j);
  if (err) throw err;
  if (!Array.isArray(j.choices) || j.choices.length === 0) throw malformed("completion (no choices)", j);
  const choices: ChatCompletionChoice[] = j.choices.map((c: unknown, i: number) => {
    if (!isObj(c) || !isObj(c.message)) throw malformed("completion choice", c);
    const m = c.message;
    const content = typeof m.content === "string" ? m.content : null;
    return {
      ...c,
      index: typeof c.index === "number" ? c.index : i,
      message: { ...m, role: typeof m.role === "string" ? m.role : "assistant", content },
      finish_reason: finishReason(c.finish_reason),
    };
  });
  const usage = readUsage(j.usage);
  progress.finishReason = choices[0]!.finish_reason;
  if (usage) {
    progress.usage = usage;
  } else {
    progress.exact = false;
    progress.tokens = choices.reduce((n, c) => {
      const r = typeof c.message.reasoning_content === "string" ? c.message.reasoning_content : "";
      return n + countTextTokens((c.message.content ?? "") + r);
    }, 0);
  }
  const out: Obj = {
    ...j,
    id: typeof j.id === "string" ? j.id : "chatcmpl-upstream",
    object: "chat.completion",
    created: typeof j.created === "number" ? j.created : Math.floor(Date.now() / 1000),
    model,
    choices,
  };
  if (usage) out.usage = usage;
  else delete out.usage;
  return out as ChatCompletion;
}

function hasOutput(delta: Obj): boolean {
  for (const k of ["content", "reasoning_content", "reasoning"]) {
    const v = delta[k];
    if (typeof v === "string" && v.length > 0) return true;
  }
  return Array.isArray(delta.tool_calls) && delta.tool_calls.length > 0;
}

/**
 * Turns an upstream SSE response into normalised chunks, updating `progress`: one token per
 * chunk carrying output (content, reasoning or tool calls) per choice, replaced by the upstream's
 * `usage` when it sends one. A stream that ends without `[DONE]` or a finish_reason failed.
 *
 * @example
 * for await (const chunk of chatChunks(call, res, "m", progress)) send(chunk);
 */
export async function* chatChunks(
  call: UpstreamCall,
  res: Response,
  model: string,
  progress: LlmProgress,
): AsyncGenerator<ChatCompletionChunk> {
  progress.exact = false;
  let sawDone = false;
  let sawFinish = false;
  try {
    for await (const ev of call.events(res)) {
      const data = ev.data.trim();
      if (data === "[DONE]") {
        sawDone = true;
        break;
      }
      if (data === "") continue;
      let j: unknown;
      try {
        j = JSON.parse(data);
      } catch {
        throw new RunnerError("UPSTREAM_ERROR", "malformed JSON in upstream stream", {
          details: { data: data.slice(0, 200) },
        });
      }
      if (!isObj(j)) throw malformed("stream event", j);
      const err = embeddedError(j);
      if (err) throw err;
      const usage = readUsage(j.usage);
      if (usage) progress.usage = usage;
      if (!Array.isArray(j.choices) || j.choices.length === 0) continue; // usage-only or keep-alive object
      const choices: ChatCompletionChunkChoice[] = j.choices.map((c: unknown, i: number) => {
        if (!isObj(c)) throw malformed("stream choice", c);
        // ai-runner's final non-streamed-style chunk may carry `message` instead of `delta`.
        const delta = isObj(c.delta) ? c.delta : isObj(c.message) ? c.message : {};
        if (hasOutput(delta)) progress.tokens++;
        const fr = finishReason(c.finish_reason);
        if (fr) {
          progress.finishReason = fr;
          sawFinish = true;
        }
        const out: Obj = { ...c, index: typeof c.index === "number" ? c.index : i, delta, finish_reason: fr };
        delete out.message;
        return out as ChatCompletionChunkChoice;
      });
      const chunk: Obj = {
        ...j,
        id: typeof j.id === "string" ? j.id : "chatcmpl-upstream",
        object: "chat.completion.chunk",
        created: typeof j.created === "number" ? j.created : Math.floor(Date.now() / 1000),
        model,
        choices,
      };
      delete chunk.usage;
      yield chunk as ChatCompletionChunk;
    }
    if (!sawDone && !sawFinish)
      throw new RunnerError("UPSTREAM_ERROR", "upstream stream ended before completion");
  } finally {
    call.dispose();
  }
}

/** Checks the upstream answered with an event stream. */
export function expectEventStream(res: Response): void {
  const type = res.headers.get("content-type") ?? "";
  if (!type.toLowerCase().includes("text/event-stream")) {
    void res.body?.cancel().catch(() => undefined);
    throw new RunnerError("UPSTREAM_ERROR", `expected an event stream from upstream, got "${type}"`);
  }
}
