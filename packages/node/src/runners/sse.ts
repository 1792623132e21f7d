// Server-sent events (the WHATWG "text/event-stream" format) parsing and formatting, as OpenAI
// compatible servers and ai-runner stream LLM output.

/** One dispatched event. `data` joins multi-line `data:` fields with "\n". */
export interface SseEvent {
  readonly event: string;
  readonly data: string;
  readonly id?: string;
  readonly retry?: number;
}

/**
 * Parses a byte stream into events. Handles CRLF, CR and LF line ends split across chunks,
 * multi-line data, comments (`: keep-alive`), a leading BOM, fields without a colon, and `retry`.
 * Unlike a browser it also dispatches a final event that lacks its closing blank line, since
 * servers do end streams with a bare `data: [DONE]`.
 *
 * @example
 * for await (const ev of parseSse(res.body!)) if (ev.data === "[DONE]") break;
 */
export async function* parseSse(source: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder("utf-8");
  const parser = new SseParser();
  for await (const bytes of source) yield* parser.push(decoder.decode(bytes, { stream: true }));
  yield* parser.push(decoder.decode());
  yield* parser.end();
}

/** Incremental SSE parser: push decoded text, get the events it completes. */
export class SseParser {
  private buffer = "";
  private started = false;
  private pendingCr = false;
  private data: string[] = [];
  private event = "";
  private id: string | undefined;
  private retry: number | undefined;

  /**
   * Feeds text, returns the events completed by it.
   *
   * @example
   * new SseParser().push("data: hi\n\n") // [{ event: "message", data: "hi" }]
   */
  push(text: string): SseEvent[] {
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    // A CR at the end of the previous chunk already ended a line: drop the LF that completes it.
    if (this.pendingCr && text.startsWith("\n")) text = text.slice(1);
    this.pendingCr = false;
    this.buffer += text;
    const out: SseEvent[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.line(this.buffer.slice(start, i), out);
      if (c === 13) {
        if (i + 1 < this.buffer.length) {
          if (this.buffer.charCodeAt(i + 1) === 10) i++;
        } else {
          this.pendingCr = true;
        }
      }
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }

  /**
   * Ends the stream: a trailing unterminated line and pending data become a last event.
   *
   * @example
   * parser.end() // [] when the stream ended cleanly
   */
  end(): SseEvent[] {
    const out: SseEvent[] = [];
    if (this.buffer.length > 0) this.line(this.buffer, out);
    this.buffer = "";
    this.line("", out);
    return out;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === "") {
      if (this.data.length > 0) {
        const ev: { event: string; data: string; id?: string; retry?: number } = {
          event: this.event || "message",
          data: this.data.join("\n"),
        };
        if (this.id !== undefined) ev.id = this.id;
        if (this.retry !== undefined) ev.retry = this.retry;
        out.push(ev);
      }
      this.data = [];
      this.event = "";
      return;
    }
    if (line.startsWith(":")) return; // comment, e.g. keep-alive
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "data":
        this.data.push(value);
        break;
      case "event":
        this.event = value;
        break;
      case "id":
        if (!value.includes("\0")) this.id = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) this.retry = Number(value);
        break;
      default: // unknown fields are ignored
    }
  }
}

/**
 * Formats one SSE event (`data` split on newlines into several `data:` lines).
 *
 * @example
 * formatSse(JSON.stringify(chunk)) // "data: {...}\n\n"
 */
export function formatSse(data: string, event?: string): string {
  const head = event ? `event: ${event}\n` : "";
  return `${head}${data
    .split(/\r\n|\r|\n/)
    .map((l) => `data: ${l}`)
    .join("\n")}\n\n`;
}
