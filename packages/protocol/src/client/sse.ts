/** One server-sent event: its name (undefined for the default "message"), data lines joined, raw text. */
export interface SseEvent {
  event: string | undefined;
  data: string;
  /** The event's text as received, including its terminating blank line. */
  raw: string;
}

/**
 * An incremental server-sent-events splitter (WHATWG EventSource framing: LF, CRLF or CR line ends,
 * events end at a blank line, `field: value`, comments start with `:`). It returns each complete event
 * with its raw text, so a proxy can forward events byte-faithfully and hold some back.
 * @example const p = new SseSplitter(); for (const ev of p.push(text)) console.log(ev.event, ev.data);
 */
export class SseSplitter {
  private buffer = "";

  /** Adds text; returns the events it completes. */
  push(text: string): SseEvent[] {
    this.buffer += text;
    const out: SseEvent[] = [];
    for (;;) {
      const m = /\r\n\r\n|\n\n|\r\r|\r\n\n|\n\r\n/.exec(this.buffer);
      // A lone trailing CR may be half of a CRLF: wait for more input before deciding.
      if (!m || (m[0] === "\r\r" && m.index + 2 === this.buffer.length)) break;
      const end = m.index + m[0].length;
      const raw = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end);
      out.push(parseEvent(raw));
    }
    return out;
  }

  /** What is left at the end of the stream (an unterminated event), as a final event if any. */
  end(): SseEvent[] {
    const rest = this.buffer;
    this.buffer = "";
    return rest.trim() === ""
      ? rest === ""
        ? []
        : [{ event: undefined, data: "", raw: rest }]
      : [parseEvent(rest)];
  }
}

function parseEvent(raw: string): SseEvent {
  let event: string | undefined;
  const data: string[] = [];
  for (const line of raw.split(/\r\n|\n|\r/)) {
    if (line === "" || line.startsWith(":")) continue;
    const i = line.indexOf(":");
    const field = i < 0 ? line : line.slice(0, i);
    let value = i < 0 ? "" : line.slice(i + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  return { event, data: data.join("\n"), raw };
}
