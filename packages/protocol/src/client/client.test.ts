import { describe, expect, it } from "vitest";
import { utf8 } from "../bytes/hex.js";
import { Rational } from "../money/rational.js";
import {
  audioOutputContent,
  imageOutputContent,
  llmOutputContent,
  transcriptOutputContent,
} from "../persistent/contentHash.js";
import { makeQuote } from "../persistent/makeQuote.js";
import { openTicket } from "../persistent/ticketState.js";
import { ADDR } from "../persistent/testFixtures.js";
import { encodeBase64Std } from "../wire/base64.js";
import {
  LlmOutputCollector,
  capabilityForPath,
  observeJsonResponse,
  observeRequest,
  observeResponse,
} from "./observe.js";
import { checkSpendingPolicy } from "./policy.js";
import { ticketRecordFromJson, ticketRecordToJson, type TicketRecord } from "./records.js";
import { SseSplitter } from "./sse.js";
import { memoryStorage, webStorage, type WebStorageLike } from "./storage.js";

describe("SSE splitting", () => {
  it("splits on blank lines with any line ending, keeps raw text, across chunk boundaries", () => {
    const text =
      'data: {"a":1}\n\nevent: livepay-receipt\r\ndata: x\r\n\r\n: comment\ndata: a\ndata: b\r\rdata: [DONE]\n\n';
    for (const cut of [1, 3, 7, 13, 40]) {
      const p = new SseSplitter();
      const events = [];
      for (let i = 0; i < text.length; i += cut) events.push(...p.push(text.slice(i, i + cut)));
      events.push(...p.end());
      expect(events.map((e) => [e.event, e.data])).toEqual([
        [undefined, '{"a":1}'],
        ["livepay-receipt", "x"],
        [undefined, "a\nb"],
        [undefined, "[DONE]"],
      ]);
      expect(events.map((e) => e.raw).join("")).toBe(text);
    }
    const p = new SseSplitter();
    expect(p.push("data: tail")).toEqual([]);
    expect(p.end()).toEqual([{ event: undefined, data: "tail", raw: "data: tail" }]);
  });
});

describe("observations", () => {
  it("maps endpoints to pipelines", () => {
    expect(capabilityForPath("/v1/chat/completions")).toBe("llm");
    expect(capabilityForPath("/llm/")).toBe("llm");
    expect(capabilityForPath("/v1/images/generations")).toBe("text-to-image");
    expect(capabilityForPath("/v1/audio/speech")).toBe("text-to-speech");
    expect(capabilityForPath("/v1/models")).toBeUndefined();
  });

  it("LLM: streamed deltas and a whole message give the same content; the bound counts every byte", () => {
    const s = new LlmOutputCollector();
    for (const d of ["Hé", "llo", " 😀"])
      s.add({ choices: [{ index: 0, delta: { content: d }, finish_reason: null }] });
    s.add({ choices: [{ index: 0, delta: { reasoning_content: "hmm" }, finish_reason: "stop" }] });
    const m = new LlmOutputCollector();
    m.add({
      choices: [
        { index: 0, message: { content: "Héllo 😀", reasoning_content: "hmm" }, finish_reason: "stop" },
      ],
    });
    expect(s.observation()).toEqual(m.observation());
    expect(s.observation().outputContent).toEqual(
      llmOutputContent([{ text: "Héllo 😀", finishReason: "stop" }]),
    );
    expect(s.observation().observedUnits).toBe(BigInt(utf8("Héllo 😀").length + 3 + 1));
    const tools = observeJsonResponse(
      "llm",
      {},
      {
        choices: [
          {
            index: 0,
            message: { content: null, tool_calls: [{ function: { name: "f", arguments: '{"x":1}' } }] },
            finish_reason: "tool_calls",
          },
        ],
      },
    );
    expect(tools.observedUnits).toBe(1n + 7n + 1n);
    expect(observeJsonResponse("llm", {}, { nope: true }).observedUnits).toBe(0n);
  });

  it("images and text-to-speech", () => {
    const imgs = [new Uint8Array([1, 2, 3]), new Uint8Array([4])];
    const o = observeJsonResponse(
      "text-to-image",
      { size: "64x32", n: 2 },
      { data: imgs.map((b) => ({ b64_json: encodeBase64Std(b) })) },
    );
    expect(o.observedUnits).toBe(64n * 32n * 2n);
    expect(o.outputContent).toEqual(imageOutputContent(imgs));
    expect(observeJsonResponse("text-to-image", {}, { data: [{ url: "http://x" }] })).toEqual({
      observedUnits: 512n * 512n,
    });
    expect(observeRequest("text-to-speech", { input: "e\u0301!" })).toEqual({ observedUnits: 2n });
    expect(observeRequest("audio-to-text", {})).toEqual({});
  });

  it("binary speech, transcripts (JSON or text) and WAV durations the payer measures itself", () => {
    const audio = new Uint8Array([82, 73, 70, 70, 1, 2, 3]);
    expect(observeResponse("text-to-speech", { input: "Cafe\u0301" }, "audio/wav", audio)).toEqual({
      observedUnits: 4n,
      outputContent: audioOutputContent(audio),
    });
    // 8000 Hz mono 16-bit, 8001 frames: 1001 ms rounded up.
    const wav = new Uint8Array(44 + 8001 * 2);
    const v = new DataView(wav.buffer);
    wav.set(
      [..."RIFF"].map((c) => c.charCodeAt(0)),
      0,
    );
    v.setUint32(4, 36 + 8001 * 2, true);
    wav.set(
      [..."WAVEfmt "].map((c) => c.charCodeAt(0)),
      8,
    );
    v.setUint32(16, 16, true);
    v.setUint16(20, 1, true);
    v.setUint16(22, 1, true);
    v.setUint32(24, 8000, true);
    v.setUint32(28, 16000, true);
    v.setUint16(32, 2, true);
    v.setUint16(34, 16, true);
    wav.set(
      [..."data"].map((c) => c.charCodeAt(0)),
      36,
    );
    v.setUint32(40, 8001 * 2, true);
    const req = { model: "m", file: wav };
    expect(observeRequest("audio-to-text", req)).toEqual({ observedUnits: 1001n });
    const asJson = observeResponse("audio-to-text", req, "application/json", utf8('{"text":"hi there"}'));
    expect(asJson).toEqual({ observedUnits: 1001n, outputContent: transcriptOutputContent("hi there") });
    expect(observeResponse("audio-to-text", req, "text/plain; charset=utf-8", utf8("hi there"))).toEqual(
      asJson,
    );
    // Not WAV: nothing observed, the receipt is bounded by the quote only.
    expect(observeRequest("audio-to-text", { file: utf8("ID3 mp3") })).toEqual({});
    expect(observeResponse("llm", {}, "application/json", utf8("{not json"))).toEqual({ observedUnits: 0n });
  });
});

describe("storage and records", () => {
  it("memory and web storage hold JSON values and list by prefix", async () => {
    const items = new Map<string, string>();
    const fake: WebStorageLike = {
      get length() {
        return items.size;
      },
      key: (i) => [...items.keys()][i] ?? null,
      getItem: (k) => items.get(k) ?? null,
      setItem: (k, v) => void items.set(k, v),
      removeItem: (k) => void items.delete(k),
    };
    for (const st of [memoryStorage(), webStorage(fake)]) {
      await st.set("ticket/b", { x: "2" });
      await st.set("ticket/a", [1, null]);
      await st.set("quote/q", "v");
      expect(await st.get("quote/q")).toBe("v");
      expect(await st.list("ticket/")).toEqual([
        ["ticket/a", [1, null]],
        ["ticket/b", { x: "2" }],
      ]);
      const got = (await st.get("ticket/b")) as { x: string };
      got.x = "mutated";
      expect(await st.get("ticket/b")).toEqual({ x: "2" });
      await st.delete("ticket/a");
      expect(await st.get("ticket/a")).toBeUndefined();
    }
    expect([...items.keys()].every((k) => k.startsWith("livepay/"))).toBe(true);
  });

  it("ticket records round-trip through JSON, exact totals included", () => {
    const r: TicketRecord = {
      state: {
        ...openTicket({ payer: ADDR.payer, payee: ADDR.payee, ticketId: 5n, epoch: 2n }),
        chargedExact: Rational.of(1000n, 3n),
        cumulativeCharged: 334n,
        signedCumulative: 900n,
        signer: ADDR.payer,
        pendingQuoteHash: `0x${"ab".repeat(32)}`,
      },
      status: "suspended",
      pending: {
        quoteId: `0x${"01".repeat(32)}`,
        quoteHash: `0x${"ab".repeat(32)}`,
        origin: "http://o",
        maxCharge: 566n,
        approval: 900n,
        since: 5,
      },
      problem: "RECEIPT_MISSING",
    };
    expect(ticketRecordFromJson(JSON.parse(JSON.stringify(ticketRecordToJson(r))))).toEqual(r);
  });
});

describe("spending policy", () => {
  const quote = makeQuote({
    payee: ADDR.payee,
    payer: ADDR.payer,
    ticketId: 0n,
    quoteId: `0x${"01".repeat(32)}`,
    requestHash: `0x${"02".repeat(32)}`,
    capability: "llm",
    model: "m",
    price: Rational.of(5n, 2n),
    estUnits: 10n,
    maxUnits: 100n,
    expiry: 10n,
  });
  const ctx = { approvalIncrease: 250n, approvedLastDay: 0n };
  const code = (p: Parameters<typeof checkSpendingPolicy>[0], c = ctx) => {
    try {
      checkSpendingPolicy(p, quote, c);
      return "OK";
    } catch (e) {
      return (e as { code: string }).code;
    }
  };
  it("checks each limit, at its boundary", () => {
    expect(code({})).toBe("OK");
    expect(code({ maxPerRequest: 250n })).toBe("OK");
    expect(code({ maxPerRequest: 249n })).toBe("POLICY_MAX_PER_REQUEST");
    expect(code({ maxPerDay: 1000n }, { approvalIncrease: 250n, approvedLastDay: 750n })).toBe("OK");
    expect(code({ maxPerDay: 1000n }, { approvalIncrease: 250n, approvedLastDay: 751n })).toBe(
      "POLICY_MAX_PER_DAY",
    );
    expect(code({ maxPricePerUnit: { llm: "2.5" } })).toBe("OK");
    expect(code({ maxPricePerUnit: { llm: Rational.of(12n, 5n) } })).toBe("POLICY_PRICE_TOO_HIGH");
    expect(code({ allowedCapabilities: ["text-to-image"] })).toBe("POLICY_CAPABILITY_NOT_ALLOWED");
    expect(code({ allowedPayees: [ADDR.payee.toUpperCase().replace("0X", "0x")] })).toBe("OK");
  });
});
