// HTTP calls to an upstream inference server (OpenAI-compatible or ai-runner) with timeouts,
// cancellation and typed errors. Every failure becomes a RunnerError:
//   caller aborted → CANCELLED; no answer in time → UPSTREAM_TIMEOUT; unreachable, 5xx, garbage →
//   UPSTREAM_ERROR; 400/413/415/422 → BAD_REQUEST with the upstream's message; 429/503 → CAPACITY.
import { RunnerError } from "./errors.js";
import { parseSse } from "./sse.js";
import type { SseEvent } from "./sse.js";

/** Largest non-streamed upstream body read (images as data URIs can be big). */
export const MAX_UPSTREAM_BODY = 256 * 1024 * 1024;

export interface UpstreamOptions {
  /** Server root, e.g. "http://127.0.0.1:8000". */
  readonly baseUrl: string;
  /** Bearer token sent as `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** Time allowed for the answer (non-streamed) or for each wait on a stream (headers, chunks). */
  readonly timeoutMs: number;
}

export interface UpstreamRequest {
  readonly method: "GET" | "POST";
  readonly path: string;
  readonly json?: unknown;
  readonly form?: FormData;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * One upstream exchange: owns an AbortController fed by the caller's signal and by a timer, so
 * that whichever fires first closes the connection (the upstream sees it close and can stop).
 */
export class UpstreamCall {
  private readonly controller = new AbortController();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private why: "timeout" | "cancelled" | undefined;
  private readonly onAbort = () => this.abort("cancelled");

  constructor(
    private readonly opts: UpstreamOptions,
    private readonly callerSignal?: AbortSignal,
  ) {
    if (callerSignal?.aborted) this.abort("cancelled");
    else callerSignal?.addEventListener("abort", this.onAbort, { once: true });
  }

  /** The signal every fetch and body read of this call uses. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Why the call was aborted, if it was. */
  get reason(): "timeout" | "cancelled" | undefined {
    return this.why;
  }

  /** Aborts the exchange; the connection is closed. */
  abort(why: "timeout" | "cancelled"): void {
    if (this.why) return;
    this.why = why;
    this.disarm();
    this.controller.abort(
      new RunnerError(why === "timeout" ? "UPSTREAM_TIMEOUT" : "CANCELLED", `upstream call ${why}`),
    );
  }

  /** (Re)starts the timeout clock. */
  arm(ms = this.opts.timeoutMs): void {
    this.disarm();
    this.timer = setTimeout(() => this.abort("timeout"), ms);
  }

  disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Stops the clock and detaches from the caller's signal (call when the exchange is over). */
  dispose(): void {
    this.disarm();
    this.callerSignal?.removeEventListener("abort", this.onAbort);
  }

  /**
   * Sends the request and waits for response headers (timed). Non-2xx answers become typed errors.
   *
   * @example
   * const res = await call.send({ method: "POST", path: "/v1/chat/completions", json: body });
   */
  async send(req: UpstreamRequest): Promise<Response> {
    const url = joinUrl(this.opts.baseUrl, req.path);
    const headers: Record<string, string> = { accept: "application/json, text/event-stream", ...req.headers };
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
    let body: string | FormData | undefined;
    if (req.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(req.json);
    } else if (req.form) {
      body = req.form; // fetch sets the multipart boundary
    }
    this.arm();
    let res: Response;
    try {
      res = await fetch(url, { method: req.method, headers, body, signal: this.signal, redirect: "error" });
    } catch (e) {
      throw this.toError(e, `cannot reach upstream ${url}`);
    }
    if (!res.ok) {
      const text = await this.readText(res, 64 * 1024).catch(() => "");
      throw upstreamStatusError(res.status, text, url);
    }
    return res;
  }

  /**
   * Reads a whole body as text (timed, size-capped).
   *
   * @example
   * const text = await call.readText(res);
   */
  async readText(res: Response, maxBytes = MAX_UPSTREAM_BODY): Promise<string> {
    return Buffer.from(await this.readBytes(res, maxBytes)).toString("utf8");
  }

  /**
   * Reads a whole body as bytes (timed, size-capped).
   *
   * @example
   * const wav = await call.readBytes(res);
   */
  async readBytes(res: Response, maxBytes = MAX_UPSTREAM_BODY): Promise<Uint8Array> {
    const declared = Number(res.headers.get("content-length") ?? "0");
    if (declared > maxBytes)
      throw new RunnerError("UPSTREAM_ERROR", "upstream response too large", {
        details: { bytes: declared },
      });
    if (!res.body) return new Uint8Array(0);
    const reader = res.body.getReader();
    const parts: Uint8Array[] = [];
    let total = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.length;
        if (total > maxBytes)
          throw new RunnerError("UPSTREAM_ERROR", "upstream response too large", {
            details: { bytes: total },
          });
        parts.push(value);
      }
    } catch (e) {
      await reader.cancel().catch(() => undefined);
      throw this.toError(e, "upstream response body failed");
    }
    return Buffer.concat(parts);
  }

  /**
   * Reads a whole body as JSON; malformed JSON is an UPSTREAM_ERROR.
   *
   * @example
   * const completion = await call.readJson(res);
   */
  async readJson(res: Response): Promise<unknown> {
    const text = await this.readText(res);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new RunnerError("UPSTREAM_ERROR", "malformed JSON from upstream", {
        details: { body: text.slice(0, 200) },
      });
    }
  }

  /**
   * The body as SSE events; each wait for bytes is timed (an upstream gone silent mid-stream is
   * an UPSTREAM_TIMEOUT). Stopping the iteration early closes the connection.
   *
   * @example
   * for await (const ev of call.events(res)) console.log(ev.data);
   */
  async *events(res: Response): AsyncGenerator<SseEvent> {
    if (!res.body) throw new RunnerError("UPSTREAM_ERROR", "upstream stream has no body");
    const reader = res.body.getReader();
    try {
      yield* parseSse(this.timedReads(reader));
    } finally {
      // Closing early (consumer stopped, error, cancel) must close the socket, not drain it.
      if (!this.why) this.controller.abort(new RunnerError("CANCELLED", "stream closed"));
      await reader.cancel().catch(() => undefined);
    }
  }

  /** The reader's chunks, each wait for one timed. */
  private async *timedReads(reader: ReadableStreamDefaultReader<Uint8Array>): AsyncGenerator<Uint8Array> {
    for (;;) {
      this.arm();
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch (e) {
        throw this.toError(e, "upstream stream failed");
      } finally {
        this.disarm();
      }
      if (r.done) return;
      yield r.value;
    }
  }

  /** Maps a fetch/stream failure to a RunnerError, using why the call was aborted. */
  toError(e: unknown, message: string): RunnerError {
    if (this.why === "timeout")
      return new RunnerError("UPSTREAM_TIMEOUT", "upstream did not answer in time", {
        details: { timeoutMs: this.opts.timeoutMs },
      });
    if (this.why === "cancelled") return new RunnerError("CANCELLED", "cancelled by the caller");
    if (e instanceof RunnerError) return e;
    const cause = e instanceof Error && e.cause instanceof Error ? e.cause.message : undefined;
    return new RunnerError("UPSTREAM_ERROR", message, { details: cause ? { cause } : {}, cause: e });
  }
}

/**
 * Joins a base URL and a path without doubling slashes.
 *
 * @example
 * joinUrl("http://h:1/", "/v1/models") // "http://h:1/v1/models"
 */
export function joinUrl(base: string, path: string): string {
  return base.replace(/\/+$/, "") + "/" + path.replace(/^\/+/, "");
}

/** Extracts a human message from common error bodies: OpenAI, FastAPI/ai-runner, plain text. */
export function upstreamMessage(text: string): string | undefined {
  try {
    const j = JSON.parse(text) as unknown;
    if (typeof j === "object" && j !== null) {
      const o = j as Record<string, unknown>;
      const err = o.error;
      if (typeof err === "string") return err;
      if (
        typeof err === "object" &&
        err !== null &&
        typeof (err as Record<string, unknown>).message === "string"
      ) {
        return (err as Record<string, string>).message;
      }
      const detail = o.detail;
      if (typeof detail === "string") return detail;
      if (
        typeof detail === "object" &&
        detail !== null &&
        typeof (detail as Record<string, unknown>).msg === "string"
      ) {
        return (detail as Record<string, string>).msg;
      }
      if (Array.isArray(detail)) {
        return detail
          .map((d: unknown) =>
            typeof d === "object" && d !== null
              ? String((d as Record<string, unknown>).msg ?? "")
              : String(d),
          )
          .filter(Boolean)
          .join("; ");
      }
      if (typeof o.message === "string") return o.message;
    }
  } catch {
    // not JSON
  }
  const t = text.trim();
  return t ? t.slice(0, 300) : undefined;
}

/**
 * The RunnerError for a non-2xx upstream status.
 *
 * @example
 * upstreamStatusError(500, '{"detail":{"msg":"boom"}}', url).code // "UPSTREAM_ERROR"
 */
export function upstreamStatusError(status: number, body: string, url: string): RunnerError {
  const msg = upstreamMessage(body);
  const details = { upstreamStatus: status, url };
  if (status === 400 || status === 413 || status === 415 || status === 422) {
    return new RunnerError("BAD_REQUEST", msg ?? `upstream rejected the request (${status})`, {
      status: status === 422 ? 400 : status,
      details,
    });
  }
  if (status === 429 || status === 503) {
    return new RunnerError("CAPACITY", msg ?? `upstream is busy (${status})`, { details });
  }
  if (status === 408 || status === 504) {
    return new RunnerError("UPSTREAM_TIMEOUT", msg ?? `upstream timed out (${status})`, { details });
  }
  return new RunnerError("UPSTREAM_ERROR", `upstream error ${status}${msg ? `: ${msg}` : ""}`, { details });
}
