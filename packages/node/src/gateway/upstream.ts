// HTTP calls from the gateway to orchestrators' AI routes, on node:http/https so that TLS can skip
// certificate verification (orchestrators use self-signed certificates, spec §4.2) and so that the
// response body is a stream the gateway reads incrementally (SSE).
import http from "node:http";
import https from "node:https";
import type { IncomingMessage } from "node:http";
import { LivepayError } from "@livepay/protocol";

/** An orchestrator call that failed without an HTTP answer. */
export class UpstreamError extends LivepayError {
  /** False when the request certainly never reached the orchestrator (connection refused, DNS). */
  readonly delivered: boolean;
  constructor(code: string, message: string, delivered: boolean, details?: Record<string, unknown>) {
    super(code, message, details);
    this.delivered = delivered;
  }
}

/** An orchestrator's answer: status and headers arrived; the body is still to be read. */
export interface UpstreamResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: IncomingMessage;
}

// Keep-alive agents: one TCP/TLS connection per orchestrator is reused across requests.
const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 256, rejectUnauthorized: false });

const NOT_DELIVERED = new Set(["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);

/**
 * POSTs `body` and resolves when the response headers arrive. `signal` aborts the whole exchange
 * (the body stream too); `headersTimeoutMs` bounds the wait for the headers.
 * @example const res = await postUpstream(url, { "content-type": "application/json" }, body, { signal, headersTimeoutMs: 30_000 })
 */
export function postUpstream(
  url: string,
  headers: Record<string, string>,
  body: Buffer,
  opts: { signal: AbortSignal; headersTimeoutMs: number },
): Promise<UpstreamResponse> {
  return new Promise((resolve, reject) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      reject(new UpstreamError("UPSTREAM_URL", `invalid orchestrator URL ${url}`, false));
      return;
    }
    const isHttps = target.protocol === "https:";
    const req = (isHttps ? https : http).request(target, {
      method: "POST",
      agent: isHttps ? httpsAgent : httpAgent,
      headers: { ...headers, "content-length": String(body.length) },
      signal: opts.signal,
    });
    const timer = setTimeout(() => {
      req.destroy(
        new UpstreamError(
          "UPSTREAM_TIMEOUT",
          `no answer from ${target.host} in ${opts.headersTimeoutMs} ms`,
          true,
        ),
      );
    }, opts.headersTimeoutMs);
    req.on("response", (res) => {
      clearTimeout(timer);
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
    });
    req.on("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e instanceof UpstreamError) return reject(e);
      if (e.name === "AbortError")
        return reject(new UpstreamError("UPSTREAM_ABORTED", "request aborted", true));
      const delivered = !NOT_DELIVERED.has(e.code ?? "");
      reject(
        new UpstreamError("UPSTREAM_UNREACHABLE", `${target.host}: ${e.code ?? e.message}`, delivered, {
          errno: e.code,
        }),
      );
    });
    req.end(body);
  });
}

/**
 * Reads a whole response body, refusing more than `limit` bytes.
 * @example const bytes = await readBody(res.body, 64 << 20)
 */
export async function readBody(body: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      body.destroy();
      throw new UpstreamError("UPSTREAM_TOO_LARGE", `orchestrator response exceeds ${limit} bytes`, true);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * The error message an orchestrator put in its body: JSON `{error: {message}}`, `{error: "..."}`,
 * `{detail: ...}`, or the plain text (go-livepeer answers payment errors as text).
 * @example upstreamErrorMessage(Buffer.from('{"error":{"message":"TicketParams expired"}}')) // "TicketParams expired"
 */
export function upstreamErrorMessage(body: Buffer): string {
  const text = body.toString("utf8").slice(0, 2000);
  try {
    const j = JSON.parse(text) as Record<string, unknown>;
    const e = j.error;
    if (typeof e === "string") return e;
    if (e && typeof e === "object" && typeof (e as { message?: unknown }).message === "string") {
      return (e as { message: string }).message;
    }
    const d = j.detail;
    if (typeof d === "string") return d;
    if (d && typeof d === "object" && typeof (d as { msg?: unknown }).msg === "string")
      return (d as { msg: string }).msg;
  } catch {
    // not JSON: plain text
  }
  return text.trim();
}
