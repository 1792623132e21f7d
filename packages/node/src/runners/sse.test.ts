import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatSse, parseSse, SseParser } from "./sse.js";
import type { SseEvent } from "./sse.js";

async function parseChunks(chunks: Uint8Array[]): Promise<SseEvent[]> {
  async function* src() {
    for (const c of chunks) yield c;
  }
  const out: SseEvent[] = [];
  for await (const ev of parseSse(src())) out.push(ev);
  return out;
}

const STREAM =
  "\uFEFF: keep-alive\r\n\r\n" +
  "data: first\n\n" +
  "event: delta\r\ndata: line one\r\ndata: line two\r\nid: 7\r\nretry: 1500\r\n\r\n" +
  "data\n\n" + // field with no colon: empty data line
  "data:no-space\rdata:  two-spaces\r\r" +
  "ignored: field\n: comment\n\n" + // no data: no event
  "data: é ü 漢字 🙂\n\n" +
  "data: [DONE]"; // no trailing blank line

const EXPECTED: SseEvent[] = [
  { event: "message", data: "first" },
  { event: "delta", data: "line one\nline two", id: "7", retry: 1500 },
  { event: "message", data: "", id: "7", retry: 1500 },
  { event: "message", data: "no-space\n two-spaces", id: "7", retry: 1500 },
  { event: "message", data: "é ü 漢字 🙂", id: "7", retry: 1500 },
  { event: "message", data: "[DONE]", id: "7", retry: 1500 },
];

describe("SSE parser", () => {
  it("parses comments, CRLF/CR/LF, multi-line data, id/retry and a final unterminated event", async () => {
    expect(await parseChunks([Buffer.from(STREAM)])).toEqual(EXPECTED);
  });

  it("gives the same events byte by byte (UTF-8 and CRLF split across chunks)", async () => {
    const bytes = Buffer.from(STREAM);
    expect(await parseChunks([...bytes].map((b) => Uint8Array.of(b)))).toEqual(EXPECTED);
  });

  it("gives the same events for any chunking (property)", async () => {
    const bytes = Buffer.from(STREAM);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 20 }),
        async (cuts) => {
          const points = [...new Set(cuts)].sort((a, b) => a - b);
          const chunks: Uint8Array[] = [];
          let prev = 0;
          for (const p of [...points, bytes.length]) {
            chunks.push(bytes.subarray(prev, p));
            prev = p;
          }
          expect(await parseChunks(chunks)).toEqual(EXPECTED);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("round-trips formatSse, including multi-line data", () => {
    const p = new SseParser();
    const events = p.push(formatSse('{\n "a": 1\n}') + formatSse("x", "done"));
    expect(events).toEqual([
      { event: "message", data: '{\n "a": 1\n}' },
      { event: "done", data: "x" },
    ]);
    expect(p.end()).toEqual([]);
  });
});
