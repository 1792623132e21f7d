// The orchestrator end to end: a real devnet (anvil), a real orchestrator (gRPC + HTTP on free
// ports, SQLite in a temp dir), and a paying client built from @livepay/protocol.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import {
  PAYMENT_HEADER,
  Rational,
  SEGMENT_HEADER,
  encodePaymentHeader,
  encodeSegmentHeader,
  ticketEV,
  type Hex,
  type OrchestratorInfo,
} from "@livepay/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnCli } from "../../test/cliProcess.js";
import { connectChain } from "../chain/connect.js";
import { startDevnet, type Devnet } from "../chain/devnet.js";
import type { DevnetAccount } from "../chain/manifest.js";
import type { LivepeerChain } from "../chain/livepeerChain.js";
import { jobCapabilities, manifestIdFor } from "../net/capabilities.js";
import type { OrchestratorConfigInput } from "./config.js";
import { FEE_HEADER, UNITS_HEADER } from "./httpServer.js";
import { OrchestratorRpc } from "../net/orchestratorRpc.js";
import { startOrchestrator, type OrchestratorHandle } from "./startOrchestrator.js";
import { PayingClient } from "./testing/payingClient.js";
import { encodePngRgb } from "../runners/png.js";
import type { Pipeline } from "../runners/types.js";
import { encodeWavPcm16 } from "../runners/wav.js";
import { freshPostgresUrl, postgresSkipped } from "../../test/postgres.js";

const ETH = 10n ** 18n;
const EV = 10n ** 15n; // 0.001 ETH: face values must beat 350,000 gas × ~1 gwei to be worth redeeming
const LLM = "synthetic-llm";
const SD = "synthetic-sd";
const LLM_PRICE = 2_000_000_000_000n; // wei per token
const SD_PRICE = Rational.of(3n, 2n); // 1.5 wei per pixel
const LLM_MID = manifestIdFor("llm", LLM);
const SD_MID = manifestIdFor("text-to-image", SD);

let dir: string;
let devnet: Devnet;
let chain: LivepeerChain;
let payee: DevnetAccount;
let orch: OrchestratorHandle;
let g1: PayingClient;
let g2: PayingClient;
const account = (name: string) => devnet.manifest.accounts.find((a) => a.name === name)!;

function config(over: Partial<OrchestratorConfigInput> = {}): OrchestratorConfigInput {
  return {
    privateKey: account("user-1").privateKey!,
    recipient: payee.address,
    chain: { manifest: devnet.manifest, pollIntervalMs: 100 },
    store: { path: join(dir, "orchestrator.db") },
    grpcPort: 0,
    httpPort: 0,
    // Face value just above the EV: every ticket wins (probability 1 − 1e-15), so redemption is observable.
    tickets: { ev: EV.toString(), maxFaceValue: (EV + 1n).toString() },
    logLevel: "silent",
    models: [
      {
        pipeline: "llm",
        model_id: LLM,
        runner: "synthetic",
        price_per_unit: LLM_PRICE.toString(),
        capacity: 4,
        tokens_per_second: 400,
      },
      {
        pipeline: "text-to-image",
        model_id: SD,
        runner: "synthetic",
        price_per_unit: "3",
        pixels_per_unit: 2,
      },
      { pipeline: "image-to-image", model_id: "synthetic-i2i", runner: "synthetic", price_per_unit: "2" },
      {
        pipeline: "audio-to-text",
        model_id: "synthetic-whisper",
        runner: "synthetic",
        price_per_unit: "0.000000001",
        currency: "eth",
      },
      { pipeline: "text-to-speech", model_id: "synthetic-tts", runner: "synthetic", price_per_unit: "500" },
      { pipeline: "embeddings", model_id: "synthetic-embed", runner: "synthetic", price_per_unit: "7" },
    ],
    ...over,
  };
}

async function post(url: string, body: unknown, headers: Record<string, string>): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

async function until<T>(what: string, f: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "livepay-orch-"));
  devnet = await startDevnet({
    orchestrators: 1,
    gateways: 2,
    gatewayDeposit: ETH,
    gatewayReserve: ETH,
    blockTimeMs: 0,
  });
  payee = account("orchestrator-1");
  chain = await connectChain({ network: "devnet", manifest: devnet.manifest });
  orch = await startOrchestrator(config());
  g1 = new PayingClient(account("gateway-1").privateKey!, chain);
  g2 = new PayingClient(account("gateway-2").privateKey!, chain);
});

afterAll(async () => {
  g1?.close();
  g2?.close();
  await orch?.stop();
  await devnet?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("GetOrchestrator (gRPC)", () => {
  it("prices the requested model and issues ticket params, an auth token and capabilities", async () => {
    const head = await chain.roundsBlockNumber();
    const info = await g1.info(orch.grpcUrl, jobCapabilities("llm", LLM));
    expect(info.transcoder).toBe(orch.httpUrl);
    expect(info.address).toBe(account("user-1").address.toLowerCase());
    expect(info.priceInfo).toMatchObject({ pricePerUnit: LLM_PRICE, pixelsPerUnit: 1n });
    const p = info.ticketParams!;
    expect(p.recipient).toBe(payee.address.toLowerCase());
    expect(p.faceValue).toBe(EV + 1n);
    expect(ticketEV(p.faceValue, p.winProb).gte(EV)).toBe(true);
    expect(p.expirationBlock).toBeGreaterThanOrEqual(head + 40n);
    expect(p.expirationBlock).toBeLessThanOrEqual(head + 41n);
    expect(p.expirationParams?.creationRound).toBe(await chain.lastInitializedRound());
    const now = BigInt(Math.floor(Date.now() / 1000));
    expect(info.authToken!.expiration - now).toBeGreaterThan(1790n);
    expect(info.capabilities!.constraints!.perCapability.get(33)!.models.has(LLM)).toBe(true);
    expect(info.capabilities!.capacities.get(27)).toBe(1);
    expect(info.capabilitiesPrices).toEqual([]);
  });

  it("lists exact per-model prices when no capabilities are asked for", async () => {
    const info = await g1.info(orch.grpcUrl);
    expect(info.capabilitiesPrices).toEqual([
      { pricePerUnit: 3n, pixelsPerUnit: 2n, capability: 27, constraint: SD },
      { pricePerUnit: 2n, pixelsPerUnit: 1n, capability: 28, constraint: "synthetic-i2i" },
      { pricePerUnit: 10n ** 9n, pixelsPerUnit: 1n, capability: 31, constraint: "synthetic-whisper" },
      { pricePerUnit: LLM_PRICE, pixelsPerUnit: 1n, capability: 33, constraint: LLM },
      { pricePerUnit: 500n, pixelsPerUnit: 1n, capability: 36, constraint: "synthetic-tts" },
      { pricePerUnit: 7n, pixelsPerUnit: 1n, capability: 38, constraint: "synthetic-embed" },
    ]);
    expect(info.priceInfo).toMatchObject({ pricePerUnit: 0n, pixelsPerUnit: 1n });
  });

  it("refuses a request whose signature is not the sender's", async () => {
    const other = account("gateway-2");
    // Signed with another key than the sender's; the gRPC status is the client error's cause.
    const rpc = new OrchestratorRpc({ sender: account("gateway-1").address, privateKey: other.privateKey! });
    const err = await rpc
      .getOrchestrator(orch.grpcUrl)
      .catch((e: unknown) => (e as Error).cause as { code: number; details: string })
      .finally(() => rpc.close());
    expect(err).toMatchObject({
      code: status.PERMISSION_DENIED,
      details: "invalid orchestrator request signature",
    });
  });
});

describe("paid AI requests", () => {
  let llmInfo: OrchestratorInfo;
  let ev: Rational;
  let llmBalance: Rational;

  it("LLM: credits exactly the EV of the tickets and debits completion tokens × price", async () => {
    llmInfo = await g1.info(orch.grpcUrl, jobCapabilities("llm", LLM));
    ev = g1.ev(llmInfo);
    const paid = await g1.pay(llmInfo, LLM_MID, Rational.of(40n * LLM_PRICE));
    expect(paid.batch!.senderParams).toHaveLength(1);
    const res = await post(
      `${orch.httpUrl}/llm`,
      { model: LLM, messages: [{ role: "user", content: "hi" }], max_tokens: 40 },
      paid.headers,
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { usage: { completion_tokens: number }; choices: unknown[] };
    expect(body.usage.completion_tokens).toBe(40);
    expect(res.headers.get(UNITS_HEADER)).toBe("40");
    expect(res.headers.get(FEE_HEADER)).toBe(`${40n * LLM_PRICE}/1`);
    llmBalance = await orch.balance(g1.address, LLM_MID);
    expect(llmBalance.eq(ev.sub(40n * LLM_PRICE))).toBe(true);
  });

  it("LLM: several tickets for a large request; a ticket-less payment spends existing credit", async () => {
    const before = await orch.balance(g1.address, LLM_MID);
    const paid = await g1.pay(llmInfo, LLM_MID, Rational.of(700n * LLM_PRICE)); // 1.4e15 wei: 2 tickets
    expect(paid.batch!.senderParams).toHaveLength(2);
    const res = await post(
      `${orch.httpUrl}/llm`,
      { model: LLM, messages: [{ role: "user", content: "tell me more" }], max_tokens: 700 },
      paid.headers,
    );
    expect(res.status).toBe(200);
    expect(res.headers.get(UNITS_HEADER)).toBe("700");
    const mid = before.add(ev.mul(2n)).sub(700n * LLM_PRICE);
    expect((await orch.balance(g1.address, LLM_MID)).eq(mid)).toBe(true);

    const free = await g1.pay(llmInfo, LLM_MID, Rational.ZERO, { tickets: 0 });
    const res2 = await post(
      `${orch.httpUrl}/llm`,
      { model: LLM, messages: [{ role: "user", content: "x" }], max_tokens: 10 },
      free.headers,
    );
    expect(res2.status).toBe(200);
    llmBalance = await orch.balance(g1.address, LLM_MID);
    expect(llmBalance.eq(mid.sub(10n * LLM_PRICE))).toBe(true);
  });

  it("text-to-image: debits width × height × images × 3/2 wei exactly", async () => {
    const info = await g1.info(orch.grpcUrl, jobCapabilities("text-to-image", SD));
    expect(info.priceInfo).toMatchObject({ pricePerUnit: 3n, pixelsPerUnit: 2n });
    const paid = await g1.pay(info, SD_MID, SD_PRICE.mul(64n * 48n));
    const res = await post(
      `${orch.httpUrl}/text-to-image`,
      { model_id: SD, prompt: "a cat", width: 64, height: 48 },
      paid.headers,
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { images: { url: string }[] };
    expect(body.images).toHaveLength(1);
    expect(body.images[0]!.url.startsWith("data:image/png;base64,")).toBe(true);
    expect(res.headers.get(UNITS_HEADER)).toBe("3072");
    const balance = await orch.balance(g1.address, SD_MID);
    expect(balance.eq(g1.ev(info).sub(SD_PRICE.mul(3072n)))).toBe(true);
  });

  it("image-to-image and audio-to-text (multipart), text-to-speech and embeddings (JSON): debit units × price", async () => {
    const cases: {
      pipeline: Pipeline;
      model: string;
      price: Rational;
      units: bigint;
      request: () => RequestInit;
    }[] = [
      {
        pipeline: "image-to-image",
        model: "synthetic-i2i",
        price: Rational.of(2n),
        units: 40n * 30n,
        request: () => {
          const form = new FormData();
          const png = encodePngRgb(40, 30, () => new Uint8Array(40 * 3));
          form.set("image", new Blob([new Uint8Array(png)], { type: "image/png" }), "in.png");
          form.set("prompt", "make it blue");
          form.set("model_id", "synthetic-i2i");
          return { body: form };
        },
      },
      {
        pipeline: "audio-to-text",
        model: "synthetic-whisper",
        price: Rational.of(10n ** 9n),
        units: 1500n, // 24,000 samples at 16 kHz
        request: () => {
          const form = new FormData();
          const wav = encodeWavPcm16(new Int16Array(24_000), 16_000);
          form.set("audio", new Blob([new Uint8Array(wav)], { type: "audio/wav" }), "in.wav");
          form.set("model_id", "synthetic-whisper");
          return { body: form };
        },
      },
      {
        pipeline: "text-to-speech",
        model: "synthetic-tts",
        price: Rational.of(500n),
        units: 6n, // "héllo!" in NFC: 6 scalar values
        request: () => ({
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model_id: "synthetic-tts", text: "he\u0301llo!" }),
        }),
      },
      {
        pipeline: "embeddings",
        model: "synthetic-embed",
        price: Rational.of(7n),
        units: 3n,
        request: () => ({
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: "synthetic-embed", input: "one two three" }),
        }),
      },
    ];
    for (const c of cases) {
      const mid = manifestIdFor(c.pipeline, c.model);
      const info = await g1.info(orch.grpcUrl, jobCapabilities(c.pipeline, c.model));
      const paid = await g1.pay(info, mid, c.price.mul(c.units));
      const req = c.request();
      const res = await fetch(`${orch.httpUrl}/${c.pipeline}`, {
        method: "POST",
        ...req,
        headers: { ...(req.headers as Record<string, string> | undefined), ...paid.headers },
      });
      expect(res.status, `${c.pipeline}: ${await res.clone().text()}`).toBe(200);
      expect(res.headers.get(UNITS_HEADER), c.pipeline).toBe(c.units.toString());
      const tickets = BigInt(paid.batch!.senderParams.length);
      expect(
        (await orch.balance(g1.address, mid)).eq(g1.ev(info).mul(tickets).sub(c.price.mul(c.units))),
        c.pipeline,
      ).toBe(true);
    }
  });

  it("LLM stream cut by the client: debits only the tokens produced", async () => {
    const before = await orch.balance(g1.address, LLM_MID);
    const paid = await g1.pay(llmInfo, LLM_MID, Rational.of(400n * LLM_PRICE));
    const credited = before.add(ev);
    const abort = new AbortController();
    const res = await fetch(`${orch.httpUrl}/llm`, {
      method: "POST",
      headers: { "content-type": "application/json", ...paid.headers },
      body: JSON.stringify({
        model: LLM,
        messages: [{ role: "user", content: "stream" }],
        max_tokens: 400,
        stream: true,
      }),
      signal: abort.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const reader = res.body!.getReader();
    let text = "";
    while ((text.match(/^data: \{/gm) ?? []).length < 8) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    abort.abort();
    await reader.cancel().catch(() => undefined);
    const after = await until("the stream's debit", async () => {
      const b = await orch.balance(g1.address, LLM_MID);
      return b.lt(credited) ? b : undefined;
    });
    const units = credited.sub(after).div(LLM_PRICE);
    expect(units.isInteger()).toBe(true);
    expect(units.num).toBeGreaterThanOrEqual(8n);
    expect(units.num).toBeLessThan(400n);
    llmBalance = after;
  });

  it("a streamed LLM response that completes ends with usage and [DONE]", async () => {
    const before = await orch.balance(g1.address, LLM_MID);
    const paid = await g1.pay(llmInfo, LLM_MID, Rational.of(12n * LLM_PRICE));
    const res = await post(
      `${orch.httpUrl}/llm`,
      { model: LLM, messages: [{ role: "user", content: "s" }], max_tokens: 12, stream: true },
      paid.headers,
    );
    const text = await res.text();
    expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true);
    expect(text).toContain(`: livepay units=12 fee=${12n * LLM_PRICE}/1`);
    llmBalance = await orch.balance(g1.address, LLM_MID);
    expect(llmBalance.eq(before.add(ev).sub(12n * LLM_PRICE))).toBe(true);
  });

  it("forged or malformed headers get 4xx and change no balance and queue nothing", async () => {
    const queued = (await orch.winningTickets()).length;
    const balance = await orch.balance(g1.address, LLM_MID);
    const body = { model: LLM, messages: [{ role: "user", content: "x" }], max_tokens: 10 };
    const url = `${orch.httpUrl}/llm`;
    const fresh = () => g1.pay(llmInfo, LLM_MID, Rational.of(10n * LLM_PRICE));
    const errorOf = async (r: Response) =>
      ((await r.json()) as { error: { code: string; message: string } }).error;

    // Undecodable payment header: 402.
    let p = await fresh();
    let r = await post(url, body, { ...p.headers, [PAYMENT_HEADER]: "not base64!" });
    expect(r.status).toBe(402);
    expect((await errorOf(r)).code).toBe("payment_required");

    // Over the 64 KiB header cap: refused before decoding, 402.
    r = await post(url, body, { ...p.headers, [PAYMENT_HEADER]: "A".repeat(70_000) });
    expect(r.status).toBe(402);
    expect((await errorOf(r)).message).toMatch(/longer than 65536 characters/);

    // A ticket signature that is not the sender's: 400 with go-livepeer's message.
    p = await fresh();
    const sig = p.payment.ticketSenderParams[0]!.sig;
    const badSig = `${sig.slice(0, 10)}${sig[10] === "0" ? "1" : "0"}${sig.slice(11)}` as Hex;
    const forged = {
      ...p.payment,
      ticketSenderParams: [{ senderNonce: p.payment.ticketSenderParams[0]!.senderNonce, sig: badSig }],
    };
    r = await post(url, body, { ...p.headers, [PAYMENT_HEADER]: encodePaymentHeader(forged) });
    expect(r.status).toBe(400);
    expect(await errorOf(r)).toMatchObject({ code: "payment_invalid", message: "invalid ticket signature" });

    // A face value the orchestrator did not issue: recipientRand no longer matches.
    p = await fresh();
    const inflated = {
      ...p.payment,
      ticketParams: { ...p.payment.ticketParams!, faceValue: p.payment.ticketParams!.faceValue * 2n },
    };
    r = await post(url, body, { ...p.headers, [PAYMENT_HEADER]: encodePaymentHeader(inflated) });
    expect(r.status).toBe(400);
    expect((await errorOf(r)).message).toBe("invalid recipientRand for ticket recipientRandHash");

    // A lower expected price than advertised: also bound into recipientRand.
    p = await fresh();
    const cheaper = { ...p.payment, expectedPrice: { ...p.payment.expectedPrice!, pricePerUnit: 1n } };
    r = await post(url, body, { ...p.headers, [PAYMENT_HEADER]: encodePaymentHeader(cheaper) });
    expect(r.status).toBe(400);

    // Segment credentials signed by someone else: 403.
    p = await g1.pay(llmInfo, LLM_MID, Rational.of(10n * LLM_PRICE), {
      signKey: account("gateway-2").privateKey!,
    });
    r = await post(url, body, p.headers);
    expect(r.status).toBe(403);
    expect((await errorOf(r)).code).toBe("segment_invalid");

    // A forged auth token: 403 "invalid auth token".
    p = await fresh();
    const seg = {
      ...p.segData,
      authToken: { ...p.segData.authToken!, token: `0x${"11".repeat(32)}` as Hex },
    };
    const { signSegData } = await import("@livepay/protocol");
    const segHeader = encodeSegmentHeader({
      ...seg,
      sig: signSegData(seg, account("gateway-1").privateKey!),
    });
    r = await post(url, body, { ...p.headers, [SEGMENT_HEADER]: segHeader });
    expect(r.status).toBe(403);
    expect(await errorOf(r)).toMatchObject({ code: "auth_token_invalid", message: "invalid auth token" });

    // No Authorization: 401.
    p = await fresh();
    r = await post(url, body, {
      [PAYMENT_HEADER]: p.headers[PAYMENT_HEADER]!,
      [SEGMENT_HEADER]: p.headers[SEGMENT_HEADER]!,
    });
    expect(r.status).toBe(401);

    expect((await orch.balance(g1.address, LLM_MID)).eq(balance)).toBe(true);
    expect(await orch.winningTickets()).toHaveLength(queued);
  });

  it("a replayed payment is refused (nonces already seen) and credits nothing", async () => {
    const paid = await g1.pay(llmInfo, LLM_MID, Rational.of(5n * LLM_PRICE));
    const body = { model: LLM, messages: [{ role: "user", content: "x" }], max_tokens: 5 };
    expect((await post(`${orch.httpUrl}/llm`, body, paid.headers)).status).toBe(200);
    const balance = await orch.balance(g1.address, LLM_MID);
    const r = await post(`${orch.httpUrl}/llm`, body, paid.headers);
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(
      /^invalid ticket senderNonce: already seen sender=0x[0-9a-fA-F]{40} nonce=\d+$/,
    );
    expect((await orch.balance(g1.address, LLM_MID)).eq(balance)).toBe(true);
  });

  it("402 insufficient_balance when the balance does not cover the job's maximum at the orchestrator's price", async () => {
    // A payer with no credit and a ticket-less payment.
    const info = await g2.info(orch.grpcUrl, jobCapabilities("llm", LLM));
    const p = await g2.pay(info, LLM_MID, Rational.ZERO, { tickets: 0 });
    const r = await post(
      `${orch.httpUrl}/llm`,
      { model: LLM, messages: [{ role: "user", content: "x" }], max_tokens: 100 },
      p.headers,
    );
    expect(r.status).toBe(402);
    expect(await r.json()).toEqual({
      error: {
        code: "insufficient_balance",
        message: expect.stringContaining("insufficient balance") as string,
        required: `${100n * LLM_PRICE}/1`,
        balance: "0/1",
      },
    });
    // Credit exists, but less than this request's maximum (256 tokens by default).
    const p2 = await g2.pay(info, LLM_MID, Rational.of(EV), { tickets: 1 });
    const r2 = await post(
      `${orch.httpUrl}/llm`,
      { model: LLM, messages: [{ role: "user", content: "x" }], max_tokens: 1000 },
      p2.headers,
    );
    expect(r2.status).toBe(402);
    // The ticket was still credited: the payer keeps it for later requests.
    expect((await orch.balance(g2.address, LLM_MID)).eq(g2.ev(info))).toBe(true);
  });

  it("unknown model: 400 and nothing processed", async () => {
    const p = await g1.pay(llmInfo, LLM_MID, Rational.of(5n * LLM_PRICE));
    const r = await post(
      `${orch.httpUrl}/llm`,
      { model: "nope", messages: [{ role: "user", content: "x" }] },
      p.headers,
    );
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe("model_not_found");
  });

  it("GET /health and /metrics", async () => {
    expect(await (await fetch(`${orch.httpUrl}/health`)).json()).toEqual({ status: "OK" });
    const metrics = await (await fetch(`${orch.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/^livepay_orchestrator_tickets_received_total \d+/m);
    expect(metrics).toMatch(/^livepay_orchestrator_winning_tickets_total [1-9]\d*/m);
    expect(metrics).toMatch(/^livepay_orchestrator_balance_debits_total [1-9]\d*/m);
    expect(metrics).toMatch(/^livepay_orchestrator_payment_work_seconds_count [1-9]\d*/m);
    expect(metrics).toMatch(/^livepay_orchestrator_payment_commit_seconds_count [1-9]\d*/m);
  });
});

describe("redemption", () => {
  it("redeems every queued winner on chain once its params expire; the payee receives the face values", async () => {
    const queued = await orch.winningTickets();
    expect(queued.length).toBeGreaterThanOrEqual(5);
    expect(queued.every((t) => t.status === "pending")).toBe(true);
    const before = await chain.balanceOf(payee.address);
    const from = await chain.blockNumber();
    await orch.redeemNow();
    expect((await orch.winningTickets()).every((t) => t.status === "pending")).toBe(true); // params not expired yet

    await devnet.mine(42);
    const done = await until(
      "all winners redeemed",
      async () => {
        await orch.redeemNow();
        const all = await orch.winningTickets();
        return all.every((t) => t.status === "redeemed") ? all : undefined;
      },
      40_000,
    );
    for (const t of done) expect(await chain.usedTickets(t.hash)).toBe(true);
    const faceValues = done.reduce((s, t) => s + t.faceValue, 0n);
    const transfers = (await chain.getBrokerEvents(from + 1n, await chain.blockNumber())).filter(
      (e) => e.name === "WinningTicketTransfer",
    );
    expect(transfers.reduce((s, e) => s + (e as { amount: bigint }).amount, 0n)).toBe(faceValues);
    // The payee is not the account that sends the redemptions, so it pays no gas: exact.
    expect((await chain.balanceOf(payee.address)) - before).toBe(faceValues);
    const metrics = await (await fetch(`${orch.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^livepay_orchestrator_tickets_redeemed_total ${done.length}$`, "m"));
  });
});

describe.skipIf(postgresSkipped())("PostgreSQL store", () => {
  it("runs the same paid request flow on PostgreSQL", async () => {
    const pg = await startOrchestrator(
      config({ privateKey: account("user-3").privateKey!, store: { url: await freshPostgresUrl() } }),
    );
    try {
      const info = await g2.info(pg.grpcUrl, jobCapabilities("llm", LLM));
      const paid = await g2.pay(info, LLM_MID, Rational.of(30n * LLM_PRICE));
      const res = await post(
        `${pg.httpUrl}/llm`,
        { model: LLM, messages: [{ role: "user", content: "pg" }], max_tokens: 30 },
        paid.headers,
      );
      expect(res.status).toBe(200);
      expect((await pg.balance(g2.address, LLM_MID)).eq(g2.ev(info).sub(30n * LLM_PRICE))).toBe(true);
      expect(await pg.winningTickets()).toHaveLength(1);
      const replay = await post(
        `${pg.httpUrl}/llm`,
        { model: LLM, messages: [{ role: "user", content: "pg" }], max_tokens: 30 },
        paid.headers,
      );
      expect(replay.status).toBe(400);
    } finally {
      await pg.stop();
    }
  });
});

describe("restart", () => {
  it("a killed orchestrator process, restarted on the same store, keeps balances, params, nonces and redeems its winner", async () => {
    const dbPath = join(dir, "restart.db");
    const cfg = config({
      privateKey: account("user-2").privateKey!,
      store: { path: dbPath },
      logLevel: "info",
    });
    const manifestPath = join(dir, "devnet.json");
    await writeFile(manifestPath, JSON.stringify(devnet.manifest));
    const cfgPath = join(dir, "orchestrator.json");
    await writeFile(
      cfgPath,
      JSON.stringify({ ...cfg, chain: { manifest: manifestPath, pollIntervalMs: 100 } }),
    );
    // The CLI from source (tsx, with @livepay/* mapped to their sources), as its own process.
    const proc = await spawnCli(dir, ["orchestrator", "--config", cfgPath]);
    const { child, exited } = proc;
    let restarted: OrchestratorHandle | undefined;
    try {
      const listening = await proc.waitForLog<{ grpcUrl: string; httpUrl: string }>(
        "orchestrator listening",
        30_000,
      );
      const info = await g1.info(listening.grpcUrl, jobCapabilities("llm", LLM));
      const first = await g1.pay(info, LLM_MID, Rational.of(20n * LLM_PRICE));
      const body = { model: LLM, messages: [{ role: "user", content: "before the crash" }], max_tokens: 20 };
      expect((await post(`${listening.httpUrl}/llm`, body, first.headers)).status).toBe(200);

      child.kill("SIGKILL");
      await exited;

      restarted = await startOrchestrator(
        config({ privateKey: account("user-2").privateKey!, store: { path: dbPath } }),
      );
      const ev = g1.ev(info);
      expect((await restarted.balance(g1.address, LLM_MID)).eq(ev.sub(20n * LLM_PRICE))).toBe(true);
      const queued = await restarted.winningTickets();
      expect(queued).toHaveLength(1);
      expect(queued[0]!.status).toBe("pending");

      // The params issued before the crash are still honoured (persisted HMAC secret)...
      const second = await g1.pay(info, LLM_MID, Rational.of(20n * LLM_PRICE));
      expect((await post(`${restarted.httpUrl}/llm`, body, second.headers)).status).toBe(200);
      // ...and the tickets paid before the crash cannot be replayed (persisted nonces).
      const replay = await post(`${restarted.httpUrl}/llm`, body, first.headers);
      expect(replay.status).toBe(400);
      expect((await restarted.balance(g1.address, LLM_MID)).eq(ev.mul(2n).sub(40n * LLM_PRICE))).toBe(true);

      const before = await chain.balanceOf(payee.address);
      await devnet.mine(42);
      const done = await until(
        "the queued winners redeemed",
        async () => {
          await restarted!.redeemNow();
          const all = await restarted!.winningTickets();
          return all.length === 2 && all.every((t) => t.status === "redeemed") ? all : undefined;
        },
        40_000,
      );
      expect(done[0]!.hash).toBe(queued[0]!.hash);
      expect((await chain.balanceOf(payee.address)) - before).toBe(done[0]!.faceValue + done[1]!.faceValue);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await restarted?.stop();
    }
  });
});

describe("redemption gas checks and expiry", () => {
  it("keeps a winner queued while its face value does not cover the redemption gas, and fails it once expired", async () => {
    // Face values priced at 1 wei of gas, redemption budgeted at 1e7 gas: at the RPC's ~1 gwei the
    // transaction would cost ~1e16 wei, more than the ticket pays (1e15) but less than the sender holds.
    const o = await startOrchestrator(
      config({
        privateKey: account("user-4").privateKey!,
        store: { path: join(dir, "gas.db") },
        tickets: {
          ev: EV.toString(),
          maxFaceValue: (EV + 1n).toString(),
          redeemGas: "10000000",
          gasPrice: "1",
        },
      }),
    );
    try {
      const info = await g2.info(o.grpcUrl, jobCapabilities("llm", LLM));
      const paid = await g2.pay(info, LLM_MID, Rational.of(10n * LLM_PRICE));
      const res = await post(
        `${o.httpUrl}/llm`,
        { model: LLM, messages: [{ role: "user", content: "x" }], max_tokens: 10 },
        paid.headers,
      );
      expect(res.status).toBe(200);
      await devnet.mine(42);
      const retried = await until("a failed redemption attempt", async () => {
        await o.redeemNow();
        const [t] = await o.winningTickets();
        return t && t.attempts > 0 ? t : undefined;
      });
      expect(retried).toMatchObject({
        status: "pending",
        lastError: "insufficient ticket face value for redeem tx cost",
      });
      expect(await chain.usedTickets(retried.hash)).toBe(false);

      await devnet.nextRound();
      await devnet.nextRound();
      const expired = await until("the ticket to expire", async () => {
        await o.redeemNow();
        const [t] = await o.winningTickets();
        return t?.status === "failed" ? t : undefined;
      });
      expect(expired.lastError).toBe("ticket is expired");
      expect(await chain.usedTickets(expired.hash)).toBe(false);
    } finally {
      await o.stop();
    }
  });
});

describe("a winner redeemed by someone else (or by a run killed after sending)", () => {
  it("is found in the logs and marked redeemed with that transaction", async () => {
    const o = await startOrchestrator(
      config({
        privateKey: account("user-5").privateKey!,
        store: { path: join(dir, "used.db") },
        redemption: { enabled: false },
      }),
    );
    try {
      const info = await g2.info(o.grpcUrl, jobCapabilities("llm", LLM));
      const paid = await g2.pay(info, LLM_MID, Rational.of(10n * LLM_PRICE));
      const body = { model: LLM, messages: [{ role: "user", content: "x" }], max_tokens: 10 };
      expect((await post(`${o.httpUrl}/llm`, body, paid.headers)).status).toBe(200);
      const [t] = await o.winningTickets();
      await devnet.mine(42);
      const other = await connectChain({
        network: "devnet",
        manifest: devnet.manifest,
        privateKey: account("user-6").privateKey!,
      });
      const tx = await other.redeemWinningTicket(t!, t!.sig, t!.recipientRand);
      const after = await until("the ticket marked", async () => {
        await o.redeemNow();
        const [x] = await o.winningTickets();
        return x?.status !== "pending" ? x : undefined;
      });
      expect(after).toMatchObject({ status: "redeemed", txHash: tx.hash, attempts: 0 });
    } finally {
      await o.stop();
    }
  });
});
