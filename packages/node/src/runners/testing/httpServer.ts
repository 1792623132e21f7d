// Minimal helpers for the fake upstream servers used by the runner tests (real HTTP on port 0).
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void | Promise<void>;

export interface TestServer {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/**
 * Starts an HTTP server on a free port; `close` drops open connections so tests never hang.
 *
 * @example
 * const s = await listen((req, res) => res.end("ok")); await s.close();
 */
export async function listen(handler: Handler): Promise<TestServer> {
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => {
      Promise.resolve(handler(req, res, Buffer.concat(parts))).catch((e: unknown) => {
        if (!res.headersSent) {
          res.statusCode = 500;
          res.end(JSON.stringify({ error: { message: String(e) } }));
        } else res.destroy();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Sends a JSON answer. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** Parses a multipart body with the platform's own parser. */
export async function readForm(req: IncomingMessage, body: Buffer): Promise<FormData> {
  return new Response(new Uint8Array(body), {
    headers: { "content-type": req.headers["content-type"] ?? "" },
  }).formData();
}

/** Resolves after `ms` unless the response closes first (then resolves false). */
export function pause(res: ServerResponse, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (res.destroyed) return resolve(false);
    const t = setTimeout(() => {
      res.off("close", onClose);
      resolve(true);
    }, ms);
    const onClose = () => {
      clearTimeout(t);
      resolve(false);
    };
    res.once("close", onClose);
  });
}

/** Tracks responses the client closed before the server finished them, by tag (the behaviour). */
export class DisconnectLog {
  count = 0;
  private waiters: { tag: string; resolve: () => void }[] = [];

  watch(res: ServerResponse, tag: string): void {
    res.once("close", () => {
      if (!res.writableEnded) {
        this.count++;
        const matched = this.waiters.filter((w) => w.tag === tag);
        this.waiters = this.waiters.filter((w) => w.tag !== tag);
        for (const w of matched) w.resolve();
      }
    });
  }

  /** Resolves at the next early disconnect of a response watched with `tag`. */
  next(tag: string): Promise<void> {
    return new Promise((resolve) => this.waiters.push({ tag, resolve }));
  }
}
