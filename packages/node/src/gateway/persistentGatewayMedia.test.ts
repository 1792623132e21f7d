// Persistent tickets through the gateway beyond chat, on a real devnet (anvil), a real orchestrator
// whose payee serves the OpenAI media routes (synthetic runners) and real gateways driven by the
// `openai` package: images (JSON), image edits and transcriptions (multipart, forwarded byte for
// byte), speech (binary audio out), in gateway-funded mode and in relay (self-custody) mode.
import { join } from "node:path";
import {
  LIVEPAY_PAYER_HEADER,
  LIVEPAY_RECEIPT_HEADER,
  LIVEPAY_VOUCHER_HEADER,
  imageOutputContent,
  paymentRequiredFromJson,
  saltedHash,
  ttsUnits,
  type Hex,
  type PrivateKey,
} from "@livepay/protocol";
import { createPayer, type Payer, type ReceiptRecord } from "@livepay/protocol/client";
import OpenAI, { toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOrchestrator, type OrchestratorHandle } from "../orchestrator/startOrchestrator.js";
import { startPersistentNet, type PersistentNet } from "../persistent/testing/persistentNet.js";
import { encodePngRgb, readPng } from "../runners/png.js";
import { encodeWavPcm16 } from "../runners/wav.js";
import { startGateway, type RunningGateway } from "./startGateway.js";

const ETH = 10n ** 18n;
const PRICES = { image: 3_001n, edit: 2_003n, whisper: 7n, tts: 100_003n };
const MODELS = {
  image: "synthetic-image",
  edit: "synthetic-edit",
  whisper: "synthetic-whisper",
  tts: "synthetic-tts",
};
const FUNDED_FEE = 1_000n;
const RELAY_FEE = 500n;

/** Models only `plain` offers: an orchestrator without persistent tickets. */
const PLAIN = { tts: "plain-tts", edit: "plain-edit", ttsPrice: 500n };

let net: PersistentNet;
let plain: OrchestratorHandle;
let funded: RunningGateway;
let relay: RunningGateway;

/** What the orchestrator's persistent books say a payer was charged (all its tickets). */
function chargedBy(payer: string): bigint {
  return net.orch
    .persistent!.store.tickets(payer.toLowerCase() as Hex, 0n)
    .reduce((a, t) => a + t.state.cumulativeCharged, 0n);
}

/** The orchestrator's ticket state for a payer, comparable across time (no voucher, no charge = equal). */
function books(payer: string): string {
  return JSON.stringify(
    net.orch.persistent!.store.tickets(payer.toLowerCase() as Hex, 0n).map((t) => ({
      id: String(t.state.ticketId),
      signed: String(t.state.signedCumulative),
      charged: String(t.state.cumulativeCharged),
      seq: String(t.state.seq),
    })),
  );
}

/** Every receipt a payer verified, oldest first. */
async function verified(payer: Payer): Promise<ReceiptRecord[]> {
  const out: ReceiptRecord[] = [];
  for (const t of await payer.tickets()) out.push(...(await payer.receipts(t.state.payee, t.state.ticketId)));
  return out.sort(
    (a, b) => a.verifiedAt - b.verifiedAt || Number(a.signed.receipt.seq - b.signed.receipt.seq),
  );
}

function png(width: number, height: number): Buffer {
  return encodePngRgb(width, height, (y) => new Uint8Array(width * 3).fill(y * 7));
}

/** `ms` milliseconds of a 16 kHz mono tone. */
function wav(ms: number): Buffer {
  const n = (16 * ms) | 0;
  const s = new Int16Array(n);
  for (let i = 0; i < n; i++) s[i] = Math.round(8000 * Math.sin(i / 5));
  return encodeWavPcm16(s, 16_000);
}

function decodeImages(data: { b64_json?: string; url?: string }[]): Uint8Array[] {
  return data.map((d) =>
    d.b64_json !== undefined
      ? new Uint8Array(Buffer.from(d.b64_json, "base64"))
      : new Uint8Array(Buffer.from(d.url!.slice(d.url!.indexOf(",") + 1), "base64")),
  );
}

beforeAll(async () => {
  const model = (pipeline: string, model_id: string, price: bigint) => ({
    pipeline,
    model_id,
    runner: "synthetic",
    price_per_unit: price.toString(),
    capacity: 4,
  });
  net = await startPersistentNet({
    name: "gw-media",
    gateways: 3,
    models: [
      model("text-to-image", MODELS.image, PRICES.image),
      model("image-to-image", MODELS.edit, PRICES.edit),
      model("audio-to-text", MODELS.whisper, PRICES.whisper),
      model("text-to-speech", MODELS.tts, PRICES.tts),
    ] as never,
    // The gateways price candidates with GetOrchestrator, which needs a TicketBroker deposit.
    devnet: { orchestrators: 2, gatewayDeposit: ETH, gatewayReserve: ETH },
  });
  plain = await startOrchestrator({
    privateKey: net.account("orchestrator-2").privateKey!,
    chain: { manifest: net.devnet.manifest, pollIntervalMs: 100 },
    store: { path: join(net.dir, "plain.db") },
    grpcPort: 0,
    httpPort: 0,
    logLevel: "silent",
    redemption: { enabled: false },
    models: [
      model("text-to-speech", PLAIN.tts, PLAIN.ttsPrice),
      model("image-to-image", PLAIN.edit, PRICES.edit),
    ] as never,
  });
  const fund = (name: string) =>
    net.send(net.account(name).privateKey!, "fundDepositAndReserve", [ETH / 10n, ETH], ETH / 10n + ETH);
  await fund("gateway-1"); // the funded gateway's own deposit
  await fund("gateway-2"); // the self-custody client's deposit
  const common = { port: 0, orchestrators: [net.orch.grpcUrl, plain.grpcUrl], logLevel: "silent" };
  funded = await startGateway({
    ...common,
    chain: { manifest: net.devnet.manifest, account: "gateway-1", pollIntervalMs: 100 },
    store: { path: join(net.dir, "funded.db") },
    persistent: { mode: "gateway", feeWei: FUNDED_FEE.toString(), policy: { maxPerRequest: "0.01eth" } },
  });
  relay = await startGateway({
    ...common,
    chain: { manifest: net.devnet.manifest, account: "gateway-3", pollIntervalMs: 100 },
    store: { path: join(net.dir, "relay.db") },
    persistent: { mode: "relay", feeWei: RELAY_FEE.toString() },
  });
}, 120_000);

afterAll(async () => {
  await funded?.stop();
  await relay?.stop();
  await plain?.stop();
  await net?.stop();
});

/** The self-custody client's payer (gateway-2's deposit), one record for every relay test. */
let clientPayer: Payer;
let clientVouchers = 0;

/** A self-custody app of the relay: the client's payer and a new API key. */
async function selfCustody(
  name: string,
): Promise<{ payer: Payer; openai: OpenAI; keyId: string; vouchers: () => number }> {
  clientPayer ??= createPayer({
    privateKey: net.account("gateway-2").privateKey! as PrivateKey,
    chainId: net.chainId,
    broker: net.broker,
    fetch: (input, init) => {
      if (new Headers(init?.headers).has(LIVEPAY_VOUCHER_HEADER)) clientVouchers++;
      return fetch(input, init);
    },
  });
  const { key, apiKey } = await relay.store.apiKeys.create(name, 10n ** 9n);
  const openai = new OpenAI({
    apiKey: key,
    baseURL: `${relay.url}/v1`,
    fetch: clientPayer.fetch,
    maxRetries: 0,
  });
  const start = clientVouchers;
  return { payer: clientPayer, openai, keyId: apiKey.id, vouchers: () => clientVouchers - start };
}

const IMAGE_CASES = [
  { size: "64x48", n: 2, response_format: "b64_json" as const },
  { size: "17x5", n: 3, response_format: "url" as const },
];

describe("images through a gateway-funded gateway", () => {
  it("images.generate: the gateway's payer verifies each receipt; the key pays exactly charge + fee", async () => {
    const { key, apiKey } = await funded.store.apiKeys.create("images", ETH / 100n);
    const openai = new OpenAI({ apiKey: key, baseURL: `${funded.url}/v1`, maxRetries: 0, timeout: 30_000 });
    const gw = funded.address;
    const chargedBefore = chargedBy(gw);
    const payer = funded.persistent!.payer!;
    const receiptsBefore = (await verified(payer)).length;

    for (const [i, c] of IMAGE_CASES.entries()) {
      const res = await openai.images.generate({ model: MODELS.image, prompt: `funded ${i}`, ...c });
      const [w, h] = c.size.split("x").map(Number) as [number, number];
      const files = decodeImages(res.data!);
      expect(files).toHaveLength(c.n);
      for (const f of files) expect(readPng(f)).toMatchObject({ width: w, height: h });
      // The receipt the gateway's payer verified for this request: units w × h × n, outputHash over the files.
      const last = (await verified(payer)).at(-1)!;
      expect(last.signed.receipt.units).toBe(BigInt(w * h * c.n));
      expect(last.signed.receipt.charge).toBe(BigInt(w * h * c.n) * PRICES.image);
      expect(last.signed.receipt.outputHash).toBe(saltedHash(last.signed.salt, imageOutputContent(files)));
    }
    expect((await verified(payer)).length - receiptsBefore).toBe(IMAGE_CASES.length);

    const usage = (await funded.store.usage.listByKey(apiKey.id, { limit: 10 })).reverse();
    expect(usage).toHaveLength(IMAGE_CASES.length);
    let sum = 0n;
    for (const [i, u] of usage.entries()) {
      const seen = funded.persistent!.receipts.get(u.requestId as Hex)!;
      const c = IMAGE_CASES[i]!;
      const [w, h] = c.size.split("x").map(BigInt) as [bigint, bigint];
      expect(seen).toMatchObject({ pipeline: "text-to-image", units: w * h * BigInt(c.n) });
      expect(u).toMatchObject({ status: "ok", pipeline: "text-to-image", ticketsSent: 0, units: seen.units });
      expect(u.feeWei).toBe(seen.charge + FUNDED_FEE); // the receipt's charge, plus the explicit fee line
      expect(u.gatewayFeeWei).toBe(FUNDED_FEE);
      sum += seen.charge;
    }
    const k = (await funded.store.apiKeys.get(apiKey.id))!;
    expect(k.spentWei).toBe(sum + BigInt(IMAGE_CASES.length) * FUNDED_FEE);
    expect(k.reservedWei).toBe(0n);
    expect(chargedBy(gw) - chargedBefore).toBe(sum); // the orchestrator's books agree
    // Image estimates are exact (w × h × n): the accuracy figure for this pipeline stays at 1.
    const uri = funded.persistent!.receipts.get(usage[0]!.requestId as Hex)!.orchestrator;
    expect(funded.persistent!.accuracyOf(uri, "text-to-image")).toMatchObject({ ratio: 1, score: 1 });
    expect(funded.persistent!.accuracyOf(uri, "llm")).toBeUndefined();
  }, 60_000);
});

describe("images through a relay gateway", () => {
  it("images.generate: the client's SDK pays and verifies; the relay never signs and bills only its fee", async () => {
    const { payer, openai, keyId, vouchers } = await selfCustody("relay images");
    const before = chargedBy(payer.address);
    const receiptsBefore = (await verified(payer)).length;
    for (const [i, c] of IMAGE_CASES.entries()) {
      const res = await openai.images.generate({ model: MODELS.image, prompt: `relayed ${i}`, ...c });
      const [w, h] = c.size.split("x").map(Number) as [number, number];
      const files = decodeImages(res.data!);
      for (const f of files) expect(readPng(f)).toMatchObject({ width: w, height: h });
      const last = (await verified(payer)).at(-1)!;
      expect(last.signed.receipt.units).toBe(BigInt(w * h * c.n));
      expect(last.signed.receipt.charge).toBe(BigInt(w * h * c.n) * PRICES.image);
      expect(last.signed.receipt.outputHash).toBe(saltedHash(last.signed.salt, imageOutputContent(files)));
    }
    expect(vouchers()).toBe(IMAGE_CASES.length); // one client signature per request
    const receipts = (await verified(payer)).slice(receiptsBefore);
    expect(receipts).toHaveLength(IMAGE_CASES.length);
    const sum = receipts.reduce((a, r) => a + r.signed.receipt.charge, 0n);
    expect(chargedBy(payer.address) - before).toBe(sum);
    expect(await payer.blockedPayees()).toEqual({});
    // The relay holds no payer and was never charged; the key paid the explicit fee per paid request.
    expect(relay.persistent!.payer).toBeUndefined();
    expect(chargedBy(relay.address)).toBe(0n);
    const k = (await relay.store.apiKeys.get(keyId))!;
    expect(k.spentWei).toBe(BigInt(IMAGE_CASES.length) * RELAY_FEE);
    expect(k.reservedWei).toBe(0n);
    const usage = await relay.store.usage.listByKey(keyId, { limit: 10 });
    expect(usage.map((u) => [u.status, u.pipeline, u.feeWei, u.gatewayFeeWei])).toEqual(
      IMAGE_CASES.map(() => ["relayed", "text-to-image", RELAY_FEE, RELAY_FEE]),
    );
  }, 60_000);

  it("the quote comes back untouched: maxCharge is the payee's w × h × n × price, the fee is not in it", async () => {
    const { key } = await relay.store.apiKeys.create("quote", 10n ** 6n);
    const res = await fetch(`${relay.url}/v1/images/generations`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${key}`,
        "content-type": "application/json",
        [LIVEPAY_PAYER_HEADER]: net.account("gateway-2").address,
      },
      body: JSON.stringify({ model: MODELS.image, prompt: "q", size: "40x30", n: 3 }),
    });
    expect(res.status).toBe(402);
    const { quote } = paymentRequiredFromJson(await res.json());
    expect(quote.quote.capability).toBe("text-to-image");
    expect(quote.quote.maxUnits).toBe(40n * 30n * 3n);
    expect(quote.quote.priceNum * 1n).toBe(PRICES.image * quote.quote.priceDen);
    expect(quote.quote.maxCharge).toBe(40n * 30n * 3n * PRICES.image);
  }, 30_000);
});

describe("bad multipart bodies", () => {
  const garbage = {
    "content-type": "multipart/form-data; boundary=----livepay-test",
    body: '------livepay-test\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\nRIFF',
  };
  /** A well-formed form without the file the route needs. */
  async function noFile(): Promise<{ "content-type": string; body: ArrayBuffer }> {
    const fd = new FormData();
    fd.set("model", MODELS.whisper);
    const r = new Request("http://x", { method: "POST", body: fd });
    return { "content-type": r.headers.get("content-type")!, body: await r.arrayBuffer() };
  }

  for (const mode of ["gateway", "relay"] as const) {
    it(`${mode} mode: a clear 400, no quote, no voucher, no charge`, async () => {
      const gw = mode === "gateway" ? funded : relay;
      const { key, apiKey } = await gw.store.apiKeys.create(`bad ${mode}`, ETH / 100n);
      const payerAddr = mode === "gateway" ? funded.address : net.account("gateway-2").address;
      const booksBefore = books(payerAddr);
      const gwReceiptsBefore = mode === "gateway" ? (await verified(funded.persistent!.payer!)).length : 0;
      const send = async (route: string, b: { "content-type": string; body: BodyInit }) => {
        const res = await fetch(`${gw.url}${route}`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${key}`,
            "content-type": b["content-type"],
            ...(mode === "relay" ? { [LIVEPAY_PAYER_HEADER]: payerAddr } : {}),
          },
          body: b.body,
        });
        return {
          status: res.status,
          body: (await res.json()) as { error: { code: string; message: string } },
        };
      };
      for (const route of ["/v1/audio/transcriptions", "/v1/images/edits"]) {
        const r = await send(route, garbage);
        expect(r.status).toBe(400);
        expect(r.body.error).toMatchObject({
          code: "invalid_request",
          message: "malformed multipart/form-data body",
        });
      }
      const nf = await noFile();
      const r1 = await send("/v1/audio/transcriptions", nf);
      expect(r1.status).toBe(400);
      expect(r1.body.error.message).toMatch(/file is required/);
      const r2 = await send("/v1/images/edits", nf);
      expect(r2.status).toBe(400);
      expect(r2.body.error.message).toMatch(/image is required/);
      // Well-formed, but the payee refuses it before quoting (the output size is the input's).
      const fd = new FormData();
      fd.set("model", MODELS.edit);
      fd.set("prompt", "p");
      fd.set("size", "64x64");
      fd.set("image", new Blob([new Uint8Array(png(8, 8))], { type: "image/png" }), "in.png");
      const req = new Request("http://x", { method: "POST", body: fd });
      const r3 = await send("/v1/images/edits", {
        "content-type": req.headers.get("content-type")!,
        body: await req.arrayBuffer(),
      });
      expect(r3.status).toBe(400);
      expect(r3.body.error.message).toMatch(/size must be the input image's size 8x8/);

      expect(books(payerAddr)).toBe(booksBefore); // the payee saw no voucher, charged nothing
      if (mode === "gateway")
        expect((await verified(funded.persistent!.payer!)).length).toBe(gwReceiptsBefore);
      const k = (await gw.store.apiKeys.get(apiKey.id))!;
      expect([k.spentWei, k.reservedWei]).toEqual([0n, 0n]);
      expect(await gw.store.usage.listByKey(apiKey.id)).toEqual([]);
    }, 30_000);
  }
});

describe("image edits, transcriptions and speech", () => {
  const EDIT = { width: 32, height: 24, n: 2 };
  const AUDIO_MS = 1_250;
  const SPEECH = "Héllo from the gateway"; // NFC scalars are the units

  async function runAll(openai: OpenAI): Promise<{ speechType: string | null; speechReceipt: boolean }> {
    const edit = await openai.images.edit({
      model: MODELS.edit,
      image: await toFile(png(EDIT.width, EDIT.height), "in.png", { type: "image/png" }),
      prompt: "make it blue",
      size: `${EDIT.width}x${EDIT.height}` as never,
      n: EDIT.n,
      response_format: "b64_json",
    });
    const files = decodeImages(edit.data!);
    expect(files).toHaveLength(EDIT.n);
    for (const f of files) expect(readPng(f)).toMatchObject({ width: EDIT.width, height: EDIT.height });

    const t = await openai.audio.transcriptions.create({
      model: MODELS.whisper,
      file: await toFile(wav(AUDIO_MS), "speech.wav", { type: "audio/wav" }),
    });
    expect(typeof t.text).toBe("string");

    const speech = await openai.audio.speech.create({
      model: MODELS.tts,
      input: SPEECH,
      voice: "alloy",
      response_format: "wav",
    });
    const audio = Buffer.from(await speech.arrayBuffer());
    expect(audio.subarray(0, 4).toString("latin1")).toBe("RIFF");
    return {
      speechType: speech.headers.get("content-type"),
      speechReceipt: speech.headers.has(LIVEPAY_RECEIPT_HEADER),
    };
  }

  const expectedUnits = [BigInt(EDIT.width * EDIT.height * EDIT.n), BigInt(AUDIO_MS), ttsUnits(SPEECH)];
  const expectedCharges = [
    expectedUnits[0]! * PRICES.edit,
    expectedUnits[1]! * PRICES.whisper,
    expectedUnits[2]! * PRICES.tts,
  ];

  it("gateway mode: each paid by the gateway's key; the key pays exactly each receipt's charge + fee", async () => {
    const { key, apiKey } = await funded.store.apiKeys.create("media", ETH / 100n);
    const openai = new OpenAI({ apiKey: key, baseURL: `${funded.url}/v1`, maxRetries: 0, timeout: 30_000 });
    const before = chargedBy(funded.address);
    const r = await runAll(openai);
    expect(r.speechType).toMatch(/^audio\/wav/);

    const usage = (await funded.store.usage.listByKey(apiKey.id, { limit: 10 })).reverse();
    expect(usage.map((u) => u.pipeline)).toEqual(["image-to-image", "audio-to-text", "text-to-speech"]);
    let sum = 0n;
    for (const [i, u] of usage.entries()) {
      const seen = funded.persistent!.receipts.get(u.requestId as Hex)!;
      expect(seen.units).toBe(expectedUnits[i]);
      expect(seen.charge).toBe(expectedCharges[i]);
      expect(u).toMatchObject({ status: "ok", units: seen.units, feeWei: seen.charge + FUNDED_FEE });
      sum += seen.charge;
    }
    const k = (await funded.store.apiKeys.get(apiKey.id))!;
    expect(k.spentWei).toBe(sum + 3n * FUNDED_FEE);
    expect(k.reservedWei).toBe(0n);
    expect(chargedBy(funded.address) - before).toBe(sum);
  }, 60_000);

  it("relay mode: multipart forwarded byte for byte, binary audio and its receipt passed through", async () => {
    const { payer, openai, keyId, vouchers } = await selfCustody("relay media");
    const before = (await verified(payer)).length;
    const charged = chargedBy(payer.address);
    const r = await runAll(openai);
    expect(r.speechType).toMatch(/^audio\/wav/);
    expect(r.speechReceipt).toBe(true);
    expect(vouchers()).toBe(3);
    // The client's SDK verified all three (request hashes over the multipart bytes it sent included).
    const receipts = (await verified(payer)).slice(before);
    expect(receipts.map((x) => x.signed.receipt.units)).toEqual(expectedUnits);
    expect(receipts.map((x) => x.signed.receipt.charge)).toEqual(expectedCharges);
    expect(await payer.blockedPayees()).toEqual({});
    expect(chargedBy(payer.address) - charged).toBe(expectedCharges.reduce((a, b) => a + b, 0n));
    expect(chargedBy(relay.address)).toBe(0n);
    const k = (await relay.store.apiKeys.get(keyId))!;
    expect(k.spentWei).toBe(3n * RELAY_FEE);
    const usage = (await relay.store.usage.listByKey(keyId, { limit: 10 })).reverse();
    expect(usage.map((u) => [u.pipeline, u.status, u.units])).toEqual([
      ["image-to-image", "relayed", expectedUnits[0]],
      ["audio-to-text", "relayed", expectedUnits[1]],
      ["text-to-speech", "relayed", expectedUnits[2]],
    ]);
  }, 60_000);
});

describe("routes no persistent payee serves", () => {
  it("gateway mode pays them with Livepeer tickets; relay mode and persistent-only routes answer 503", async () => {
    const { key, apiKey } = await funded.store.apiKeys.create("plain", ETH / 100n);
    const openai = new OpenAI({ apiKey: key, baseURL: `${funded.url}/v1`, maxRetries: 0, timeout: 30_000 });
    const speech = await openai.audio.speech.create({
      model: PLAIN.tts,
      input: "plain tickets",
      voice: "alloy",
      response_format: "wav",
    });
    expect(
      Buffer.from(await speech.arrayBuffer())
        .subarray(0, 4)
        .toString("latin1"),
    ).toBe("RIFF");
    const [u] = await funded.store.usage.listByKey(apiKey.id, { limit: 1 });
    expect(u!.ticketsSent).toBeGreaterThan(0); // Livepeer tickets, as with persistent mode off
    expect(u!.feeWei).toBe(ttsUnits("plain tickets") * PLAIN.ttsPrice);

    // An edit has no Livepeer-ticket path on the gateway: no persistent payee for the model → 503.
    await expect(
      openai.images.edit({
        model: PLAIN.edit,
        image: await toFile(png(8, 8), "in.png", { type: "image/png" }),
        prompt: "p",
        size: "8x8" as never,
      }),
    ).rejects.toMatchObject({ status: 503, code: "no_orchestrator" });

    // Relay: the client's SDK names the payee it holds tickets with (409 when it cannot be reached);
    // a client that names none gets the 503.
    const { openai: client } = await selfCustody("relay plain");
    await expect(
      client.audio.speech.create({ model: PLAIN.tts, input: "x", voice: "alloy", response_format: "wav" }),
    ).rejects.toMatchObject({ status: 409, code: "payee_unavailable" });
    const { key: relayKey } = await relay.store.apiKeys.create("relay plain raw", 10n ** 6n);
    const raw = await fetch(`${relay.url}/v1/audio/speech`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${relayKey}`,
        "content-type": "application/json",
        [LIVEPAY_PAYER_HEADER]: net.account("gateway-2").address,
      },
      body: JSON.stringify({ model: PLAIN.tts, input: "x", voice: "alloy", response_format: "wav" }),
    });
    expect(raw.status).toBe(503);
    expect(((await raw.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: "no_orchestrator",
      message: expect.stringMatching(/accepts persistent tickets on \/v1\/audio\/speech/),
    });
  }, 60_000);
});
