// Image edits, transcriptions and speech paid with persistent tickets on a real devnet (anvil) and a
// real orchestrator: the `openai` package through the SDK's fetch, straight to the orchestrator.
// Multipart bodies hash as the bytes sent; speech answers binary audio whose hash the SDK checks.
import {
  LIVEPAY_PAYER_HEADER,
  LIVEPAY_RECEIPT_HEADER,
  LIVEPAY_VOUCHER_HEADER,
  Rational,
  audioOutputContent,
  decodeReceiptHeader,
  paymentRequiredFromJson,
  imageOutputContent,
  saltedHash,
  transcriptOutputContent,
  ttsUnits,
  wavDuration,
  type Hex,
  type PrivateKey,
} from "@livepay/protocol";
import { createPayer, type Payer, type ReceiptRecord } from "@livepay/protocol/client";
import OpenAI, { toFile } from "openai";
import type { Address } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probeImageSize } from "../runners/imageSize.js";
import type { OrchestratorHandle } from "../orchestrator/startOrchestrator.js";
import { syntheticPng } from "../runners/synthetic.js";
import { encodeWavPcm16 } from "../runners/wav.js";
import { startPersistentNet, type PersistentNet } from "./testing/persistentNet.js";

const ETH = 10n ** 18n;
// Fractional prices (exact decimals), so every receipt exercises the ceil rule.
const PRICES = { edit: "7.5", whisper: "0.37", tts: "1000.3" };
const MODELS = { edit: "synthetic-edit", whisper: "synthetic-whisper", tts: "synthetic-tts" };
const SLOW_TTS = "synthetic-tts-slow"; // answers after 5 s: time to hang up

let net: PersistentNet;
let orch: OrchestratorHandle;
let broker: Address;
let chainId: number;

beforeAll(async () => {
  net = await startPersistentNet({
    name: "persistent-media",
    gateways: 2,
    models: [
      { pipeline: "image-to-image", model_id: MODELS.edit, runner: "synthetic", price_per_unit: PRICES.edit },
      {
        pipeline: "audio-to-text",
        model_id: MODELS.whisper,
        runner: "synthetic",
        price_per_unit: PRICES.whisper,
      },
      { pipeline: "text-to-speech", model_id: MODELS.tts, runner: "synthetic", price_per_unit: PRICES.tts },
      {
        pipeline: "text-to-speech",
        model_id: SLOW_TTS,
        runner: "synthetic",
        price_per_unit: PRICES.tts,
        latency_ms: 5000,
      },
    ],
  });
  ({ orch, broker, chainId } = net);
  for (const g of ["gateway-1", "gateway-2"]) {
    await net.send(net.account(g).privateKey!, "fundDepositAndReserve", [ETH / 10n, ETH], ETH / 10n + ETH);
  }
}, 60_000);

afterAll(async () => {
  await net?.stop();
});

/** A real WAV: a 440 Hz tone of `frames` frames. */
function tone(frames: number, rate: number, channels = 1): Buffer {
  const s = new Int16Array(frames * channels);
  for (let i = 0; i < s.length; i++) s[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate));
  return encodeWavPcm16(s, rate, channels);
}

/** A paid request as sent (voucher included) and the response as received, for replays. */
interface Sent {
  url: string;
  headers: Headers;
  body: BodyInit | undefined;
  response: Uint8Array;
  receipt: string | null;
}

describe("image edits, transcriptions and speech paid with persistent tickets", () => {
  let vouchers = 0;
  let onVoucher: (() => void) | undefined;
  let lastPaid: Sent | undefined;
  let payer: Payer;
  let openai: OpenAI;
  const payerAddr = (): Hex => net.account("gateway-1").address.toLowerCase() as Hex;
  const payee = (): Hex => orch.address.toLowerCase() as Hex;
  const store = () => orch.persistent!.store;
  const charged = () =>
    store()
      .tickets(payerAddr(), 0n)
      .reduce((a, t) => a + t.state.cumulativeCharged, 0n);

  beforeAll(() => {
    const recording: typeof fetch = async (input, init) => {
      const headers = new Headers(init?.headers);
      if (headers.has(LIVEPAY_VOUCHER_HEADER)) onVoucher?.();
      const res = await fetch(input, init);
      if (headers.has(LIVEPAY_VOUCHER_HEADER)) {
        vouchers++;
        lastPaid = {
          url: String(input),
          headers,
          body: init?.body ?? undefined,
          response: new Uint8Array(await res.clone().arrayBuffer()),
          receipt: res.headers.get(LIVEPAY_RECEIPT_HEADER),
        };
      }
      return res;
    };
    payer = createPayer({
      privateKey: net.account("gateway-1").privateKey! as PrivateKey,
      chainId,
      broker,
      fetch: recording,
    });
    openai = new OpenAI({ apiKey: "-", baseURL: `${orch.httpUrl}/v1`, fetch: payer.fetch, maxRetries: 0 });
  });

  /** Every receipt the payer verified, oldest first. */
  async function receipts(): Promise<ReceiptRecord[]> {
    const all: ReceiptRecord[] = [];
    for (const t of await payer.tickets()) all.push(...(await payer.receipts(payee(), t.state.ticketId)));
    return all.sort((a, b) => a.verifiedAt - b.verifiedAt);
  }

  /** Runs one paid call; checks it cost exactly one voucher and returns its verified receipt. */
  async function paidOnce<T>(call: () => Promise<T>): Promise<{ out: T; receipt: ReceiptRecord }> {
    const [v, n] = [vouchers, (await receipts()).length];
    const out = await call();
    expect(vouchers - v).toBe(1);
    const all = await receipts();
    expect(all).toHaveLength(n + 1);
    return { out, receipt: all.at(-1)! };
  }

  it("quotes what the request allows: w × h × n for an edit, the measured WAV duration for a transcription", async () => {
    const quoteOf = async (path: string, form: FormData) => {
      const req = new Request(`${orch.httpUrl}/v1${path}`, { method: "POST", body: form });
      const r = await fetch(req.url, {
        method: "POST",
        headers: { "content-type": req.headers.get("content-type")!, [LIVEPAY_PAYER_HEADER]: payerAddr() },
        body: new Uint8Array(await req.arrayBuffer()),
      });
      expect(r.status).toBe(402);
      return paymentRequiredFromJson(await r.json()).quote.quote;
    };
    const edit = new FormData();
    edit.set("image", new Blob([new Uint8Array(syntheticPng(20, 10, 1))], { type: "image/png" }), "a.png");
    edit.set("prompt", "x");
    edit.set("n", "3");
    edit.set("size", "20x10");
    edit.set("model", MODELS.edit);
    const q1 = await quoteOf("/images/edits", edit);
    expect([q1.capability, q1.unit, q1.maxUnits]).toEqual(["image-to-image", "pixel", 20n * 10n * 3n]);
    const audio = new FormData();
    audio.set("file", new Blob([new Uint8Array(tone(24_001, 48_000))]), "a.wav");
    audio.set("model", MODELS.whisper);
    const q2 = await quoteOf("/audio/transcriptions", audio);
    expect([q2.capability, q2.unit, q2.estUnits, q2.maxUnits]).toEqual(["audio-to-text", "ms", 501n, 501n]);
  });

  it("images.edit: units w × h × delivered, outputHash over the image files, one voucher each", async () => {
    const cases = [
      { w: 64, h: 48, n: 2, response_format: "b64_json" as const },
      { w: 32, h: 32, n: 1, response_format: "url" as const },
    ];
    for (const c of cases) {
      const image = await toFile(syntheticPng(c.w, c.h, 7), "in.png", { type: "image/png" });
      const { out, receipt } = await paidOnce(() =>
        openai.images.edit({
          model: MODELS.edit,
          image,
          prompt: "add a hat",
          n: c.n,
          size: `${c.w}x${c.h}`,
          response_format: c.response_format,
        }),
      );
      expect(out.data).toHaveLength(c.n);
      const files = out.data!.map((d) =>
        c.response_format === "b64_json"
          ? new Uint8Array(Buffer.from(d.b64_json!, "base64"))
          : new Uint8Array(Buffer.from(d.url!.slice(d.url!.indexOf(",") + 1), "base64")),
      );
      for (const f of files) expect(probeImageSize(f)).toEqual({ format: "png", width: c.w, height: c.h });
      const r = receipt.signed.receipt;
      expect(r.units).toBe(BigInt(c.w * c.h * c.n));
      expect(r.outputHash).toBe(saltedHash(receipt.signed.salt, imageOutputContent(files)));
    }
  }, 60_000);

  it("audio.transcriptions: units = the WAV's milliseconds rounded up, verified by the SDK", async () => {
    const cases = [
      { wav: tone(16_001, 16_000), ms: 1001n, response_format: "json" as const },
      { wav: tone(12_345, 44_100, 2), ms: 280n, response_format: "text" as const }, // 279.93… ms
      { wav: tone(8_000, 8_000), ms: 1000n, response_format: "verbose_json" as const },
    ];
    for (const c of cases) {
      expect(wavDuration(c.wav).durationMs).toBe(c.ms);
      const file = await toFile(c.wav, "speech.wav", { type: "audio/wav" });
      const { out, receipt } = await paidOnce(() =>
        openai.audio.transcriptions.create({
          model: MODELS.whisper,
          file,
          response_format: c.response_format,
        }),
      );
      const text = typeof out === "string" ? out : (out as { text: string }).text;
      expect(text.length).toBeGreaterThan(0);
      if (c.response_format === "verbose_json") {
        expect((out as unknown as { segments: unknown[] }).segments.length).toBeGreaterThan(0);
      }
      const r = receipt.signed.receipt;
      expect(r.units).toBe(c.ms);
      expect(r.outputHash).toBe(saltedHash(receipt.signed.salt, transcriptOutputContent(text)));
    }
  }, 60_000);

  it("audio.speech: binary WAV answer, units = NFC scalar values, outputHash over the audio bytes", async () => {
    const inputs = ["Cafe\u0301 au lait", "Hello!", "\u00e9"];
    for (const input of inputs) {
      const { out, receipt } = await paidOnce(() =>
        openai.audio.speech.create({ model: MODELS.tts, input, voice: "alloy", response_format: "wav" }),
      );
      expect(out.headers.get("content-type")).toBe("audio/wav");
      const audio = new Uint8Array(await out.arrayBuffer());
      const r = receipt.signed.receipt;
      expect(r.units).toBe(ttsUnits(input));
      // Synthetic speech lasts 50 ms per character: the audio itself says what was billed.
      expect(wavDuration(audio).durationMs).toBe(50n * r.units);
      expect(r.outputHash).toBe(saltedHash(receipt.signed.salt, audioOutputContent(audio)));
    }
    expect(ttsUnits(inputs[0]!)).toBe(12n); // "é" decomposed counts once
  }, 60_000);

  it("charges are ceil-consistent with the price, sum to the payee's books, and cost no transaction", async () => {
    const nonce = await net.client.getTransactionCount({ address: payerAddr() });
    const price: Record<string, Rational> = {
      "image-to-image": Rational.parse(PRICES.edit),
      "audio-to-text": Rational.parse(PRICES.whisper),
      "text-to-speech": Rational.parse(PRICES.tts),
    };
    let sum = 0n;
    for (const t of await payer.tickets()) {
      let exact = Rational.ZERO;
      for (const rec of await payer.receipts(payee(), t.state.ticketId)) {
        const r = rec.signed.receipt;
        const cap = (await capabilityOf(rec.quoteId)) as keyof typeof price;
        exact = exact.add(price[cap]!.mul(r.units));
        expect(r.cumulativeCharged).toBe(exact.ceil());
        sum += r.charge;
      }
    }
    expect(sum).toBeGreaterThan(0n);
    expect(charged()).toBe(sum);
    expect(await net.client.getTransactionCount({ address: payerAddr() })).toBe(nonce);
    expect(orch.persistent!.claimer.reports).toHaveLength(0);
  });

  /** The capability a quote was issued for (from the payee's store). */
  async function capabilityOf(quoteId: Hex): Promise<string> {
    const body = store().quote(quoteId);
    return (JSON.parse(body!) as { quote: { capability: string } }).quote.capability;
  }

  it("a retried quote id (same voucher) replays the identical binary body and receipt, no second charge", async () => {
    const calls: (() => Promise<unknown>)[] = [
      () => openai.audio.speech.create({ model: MODELS.tts, input: "replay me", voice: "alloy" }),
      async () =>
        openai.audio.transcriptions.create({
          model: MODELS.whisper,
          file: await toFile(tone(4_000, 16_000), "r.wav"),
        }),
    ];
    for (const call of calls) {
      await paidOnce(call);
      const sent = lastPaid!;
      const before = charged();
      const again = await fetch(sent.url, { method: "POST", headers: sent.headers, body: sent.body! });
      expect(again.status).toBe(200);
      expect(new Uint8Array(await again.arrayBuffer())).toEqual(sent.response);
      expect(again.headers.get(LIVEPAY_RECEIPT_HEADER)).toBe(sent.receipt);
      expect(decodeReceiptHeader(sent.receipt!).receipt.units).toBeGreaterThan(0n);
      expect(charged()).toBe(before);
    }
  }, 60_000);

  it("the SDK checks outputHash over the bytes it received: altered audio is caught and the payee blocked", async () => {
    let tamper = (b: Uint8Array) => b;
    const altering: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (!new Headers(init?.headers).has(LIVEPAY_VOUCHER_HEADER)) return res;
      const body = tamper(new Uint8Array(await res.arrayBuffer()));
      return new Response(body as BodyInit, { status: res.status, headers: res.headers });
    };
    const problems: string[] = [];
    const other = createPayer({
      privateKey: net.account("gateway-2").privateKey! as PrivateKey,
      chainId,
      broker,
      fetch: altering,
      onReceiptProblem: (e) => problems.push(e.code),
    });
    const client = new OpenAI({
      apiKey: "-",
      baseURL: `${orch.httpUrl}/v1`,
      fetch: other.fetch,
      maxRetries: 0,
    });
    // Untouched first: verified.
    const ok = await client.audio.speech.create({ model: MODELS.tts, input: "fine", voice: "alloy" });
    expect((await ok.arrayBuffer()).byteLength).toBeGreaterThan(44);
    expect(problems).toEqual([]);
    tamper = (b) => {
      const c = b.slice();
      c[c.length - 1] = c[c.length - 1]! ^ 1;
      return c;
    };
    await expect(
      client.audio.speech.create({ model: MODELS.tts, input: "changed", voice: "alloy" }),
    ).rejects.toMatchObject({ cause: { code: "RECEIPT_OUTPUT_MISMATCH" } }); // openai wraps fetch errors
    expect(problems).toEqual(["RECEIPT_OUTPUT_MISMATCH"]);
    expect(Object.values(await other.blockedPayees())).toEqual(["RECEIPT_OUTPUT_MISMATCH"]);
  }, 60_000);

  it("a client that hangs up mid-request: the payee stops, keeps a zero-unit receipt, the SDK adopts it", async () => {
    const hangUp = new AbortController();
    onVoucher = () => setTimeout(() => hangUp.abort(), 300);
    try {
      await expect(
        openai.audio.speech.create(
          { model: SLOW_TTS, input: "never heard", voice: "alloy" },
          { signal: hangUp.signal },
        ),
      ).rejects.toThrow();
    } finally {
      onVoucher = undefined;
    }
    const pending = (await payer.tickets()).find((t) => t.status === "suspended" && t.pending)!;
    expect(pending).toBeDefined();
    const quoteId = pending.pending!.quoteId;
    // The payee notices the closed connection, cancels the job and persists the receipt (bounded time).
    const deadline = Date.now() + 3000;
    while (!orch.persistent!.payee.receipt(quoteId) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const adopted = await payer.fetchReceipt(quoteId);
    expect(adopted.receipt.units).toBe(0n);
    expect(adopted.receipt.charge).toBe(0n);
    // The ticket goes on, and the books still agree.
    await paidOnce(() => openai.audio.speech.create({ model: MODELS.tts, input: "after", voice: "alloy" }));
    const sum = (await receipts()).reduce((a, r) => a + r.signed.receipt.charge, 0n);
    expect(charged()).toBe(sum);
    expect(store().inflight()).toHaveLength(0);
  }, 60_000);

  it("a malformed multipart body, a non-WAV file or a wrong size gets a clear 400 and changes nothing", async () => {
    const snapshot = () =>
      JSON.stringify(
        store()
          .tickets(payerAddr(), 0n)
          .map((t) => [String(t.state.ticketId), String(t.state.seq), String(t.state.cumulativeCharged)]),
      );
    const before = snapshot();
    const v = vouchers;
    const ticketsBefore = JSON.stringify(await payer.tickets(), (_k, x) =>
      typeof x === "bigint" ? String(x) : x,
    );

    for (const withVoucher of [false, true]) {
      const r = await fetch(`${orch.httpUrl}/v1/audio/transcriptions`, {
        method: "POST",
        headers: {
          "content-type": "multipart/form-data; boundary=zzz",
          [LIVEPAY_PAYER_HEADER]: payerAddr(),
          ...(withVoucher ? { [LIVEPAY_VOUCHER_HEADER]: "e30" } : {}),
        },
        body: "--zzz\r\nthis is not a form",
      });
      expect(r.status).toBe(400);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe("invalid_multipart");
    }
    const json = await fetch(`${orch.httpUrl}/v1/images/edits`, {
      method: "POST",
      headers: { "content-type": "application/json", [LIVEPAY_PAYER_HEADER]: payerAddr() },
      body: JSON.stringify({ model: MODELS.edit, prompt: "x" }),
    });
    expect(json.status).toBe(400);

    const mp3 = new Uint8Array([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 0, 0xff, 0xfb, 0x90, 0x64]);
    const notWav = openai.audio.transcriptions.create({
      model: MODELS.whisper,
      file: await toFile(mp3, "a.mp3", { type: "audio/mpeg" }),
    });
    await expect(notWav).rejects.toMatchObject({ status: 400, code: "unsupported_audio_format" });

    const wrongSize = openai.images.edit({
      model: MODELS.edit,
      image: await toFile(syntheticPng(40, 30, 1), "in.png", { type: "image/png" }),
      prompt: "x",
      size: "64x64",
    });
    await expect(wrongSize).rejects.toMatchObject({ status: 400 });
    const speechMp3 = openai.audio.speech.create({
      model: MODELS.tts,
      input: "hi",
      voice: "alloy",
      response_format: "mp3",
    });
    await expect(speechMp3).rejects.toMatchObject({ status: 400 });

    expect(vouchers).toBe(v);
    expect(snapshot()).toBe(before);
    expect(store().inflight()).toHaveLength(0);
    expect(JSON.stringify(await payer.tickets(), (_k, x) => (typeof x === "bigint" ? String(x) : x))).toBe(
      ticketsBefore,
    );
  }, 60_000);
});
