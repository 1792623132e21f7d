// The gateway end to end: a real devnet (anvil), three real livepay orchestrators (gRPC + HTTP,
// synthetic runners, different prices and stakes) registered on chain, and gateways driven over real
// HTTP by the `openai` npm package.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OrchestratorRegistryAbi, localClients } from "@livepay/contracts";
import { Rational } from "@livepay/protocol";
import OpenAI, { toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevnet, type Devnet } from "../chain/devnet.js";
import { sendContractTx } from "../chain/livepeerChain.js";
import { writeManifest } from "../chain/manifest.js";
import { runGateway } from "../cli/commands/gateway.js";
import { startOrchestrator, type OrchestratorHandle } from "../orchestrator/startOrchestrator.js";
import { readPng } from "../runners/png.js";
import { encodeWavPcm16, parseWav } from "../runners/wav.js";
import type { UsageRecord } from "../store/usage.js";
import { freshPostgresUrl, postgresSkipped } from "../../test/postgres.js";
import { startGateway, type RunningGateway } from "./startGateway.js";

const ETH = 10n ** 18n;
const LLM = "synthetic-llm";
const SD = "synthetic-sd";
// wei per token / per pixel, per orchestrator: o2 is the cheapest, o1 has the most stake (devnet: 300/200/100 ETH).
const LLM_PRICES = [5_000_000_000n, 1_000_000_000n, 2_000_000_000n];
const SD_PRICES = [3n, 2n, 4n];
const MAX_TOKENS = 16;
const ADMIN_TOKEN = "admin-token-for-tests-0123456789";

let dir: string;
let devnet: Devnet;
const orchs: OrchestratorHandle[] = [];
let gw: RunningGateway;
let gwB: RunningGateway;
let openai: OpenAI;
let apiKey: string;
let keyId: string;
const account = (name: string) => devnet.manifest.accounts.find((a) => a.name === name)!;

function client(key: string, base = gw.url): OpenAI {
  return new OpenAI({ apiKey: key, baseURL: `${base}/v1`, maxRetries: 0, timeout: 30_000 });
}

async function newKey(
  g: RunningGateway,
  credit: bigint,
  caps?: { perRequestWei?: bigint; perDayWei?: bigint },
) {
  return g.store.apiKeys.create("test", credit, caps);
}

async function lastUsage(g: RunningGateway, id: string): Promise<UsageRecord> {
  return (await g.store.usage.listByKey(id, { limit: 1 }))[0]!;
}

async function until(what: string, f: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function orchestratorConfig(i: number) {
  const models: Record<string, unknown>[] = [
    {
      pipeline: "llm",
      model_id: LLM,
      runner: "synthetic",
      price_per_unit: LLM_PRICES[i]!.toString(),
      capacity: 8,
    },
    {
      pipeline: "text-to-image",
      model_id: SD,
      runner: "synthetic",
      price_per_unit: SD_PRICES[i]!.toString(),
      capacity: 4,
    },
  ];
  if (i === 1) {
    models.push(
      { pipeline: "audio-to-text", model_id: "synthetic-whisper", runner: "synthetic", price_per_unit: "3" },
      { pipeline: "text-to-speech", model_id: "synthetic-tts", runner: "synthetic", price_per_unit: "500" },
      { pipeline: "embeddings", model_id: "synthetic-embed", runner: "synthetic", price_per_unit: "7" },
    );
  }
  return {
    privateKey: account(`orchestrator-${i + 1}`).privateKey!,
    chain: { manifest: devnet.manifest, pollIntervalMs: 100 },
    store: { path: join(dir, `orch-${i}.db`) },
    grpcPort: 0,
    httpPort: 0,
    tickets: { ev: "1000000000000" },
    logLevel: "silent",
    models,
  } as unknown as Parameters<typeof startOrchestrator>[0];
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "livepay-gw-"));
  devnet = await startDevnet({
    orchestrators: 3,
    gateways: 2,
    gatewayDeposit: ETH,
    gatewayReserve: ETH,
    blockTimeMs: 0,
  });
  // The devnet starts in round 0, and ticket params of round 0 take the sender's own round (spec
  // §3.1): at the first round change, params an orchestrator issued just before it saw the change
  // would not verify. Start from round 1, as any real chain is.
  await devnet.nextRound();
  for (let i = 0; i < 3; i++) orchs.push(await startOrchestrator(orchestratorConfig(i)));
  // Registry discovery: each orchestrator's on-chain service URI is its gRPC endpoint.
  await Promise.all(
    orchs.map(async (o, i) => {
      const c = await localClients(devnet.manifest.rpcUrl, account(`orchestrator-${i + 1}`).privateKey!);
      await sendContractTx(c.publicClient, c.walletClient, 20, {
        address: devnet.manifest.contracts.orchestratorRegistry,
        abi: OrchestratorRegistryAbi,
        functionName: "setServiceURI",
        args: [o.grpcUrl],
        label: "setServiceURI",
      });
    }),
  );
  gw = await startGateway({
    port: 0,
    chain: { manifest: devnet.manifest, account: "gateway-1", pollIntervalMs: 100 },
    store: { path: join(dir, "gateway.db") },
    adminToken: ADMIN_TOKEN,
    logLevel: "silent",
    funds: { warnDepositBelow: "2eth", warnReserveBelow: "0.5eth" },
  });
  // Stake-weighted only, with price caps: llm at most 3 gwei/token (excludes o1, which has the most stake).
  gwB = await startGateway({
    port: 0,
    chain: { manifest: devnet.manifest, account: "gateway-2", pollIntervalMs: 100 },
    store: { path: join(dir, "gateway-b.db") },
    orchestrators: orchs.map((o) => o.grpcUrl),
    selection: { weights: { price: 0, stake: 1, latency: 0, successRate: 0 } },
    maxPrice: {
      capabilities: [
        { pipeline: "llm", price_per_unit: "3000000000" },
        { pipeline: "text-to-image", model_id: SD, price_per_unit: "1" },
      ],
    },
    logLevel: "silent",
  });
  const created = await newKey(gw, ETH / 100n);
  apiKey = created.key;
  keyId = created.apiKey.id;
  openai = client(apiKey);
}, 120_000);

afterAll(async () => {
  await gw?.stop();
  await gwB?.stop();
  for (const o of orchs) await o.stop();
  await devnet?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("discovery and models", () => {
  it("finds the registered orchestrators on chain and lists their models", async () => {
    expect(
      gw.pool
        .all()
        .map((s) => s.uri)
        .sort(),
    ).toEqual(orchs.map((o) => o.grpcUrl).sort());
    const stakes = gw.pool.all().map((s) => s.stake);
    expect(stakes.every((s) => s > 0n)).toBe(true);
    const models = await openai.models.list();
    const ids = models.data.map((m) => m.id).sort();
    expect(ids).toEqual([LLM, "synthetic-embed", SD, "synthetic-tts", "synthetic-whisper"].sort());
  });

  it("refuses requests without a valid API key, OpenAI-style", async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: LLM, messages: [{ role: "user", content: "hi" }] }),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({
      error: { message: expect.any(String), type: "authentication_error", code: "missing_api_key" },
    });
    await expect(client("lp_not-a-key").models.list()).rejects.toMatchObject({
      status: 401,
      code: "invalid_api_key",
    });
  });
});

describe("paid requests through the openai package", () => {
  it("chat completion: served by the cheapest orchestrator, key charged units × price", async () => {
    const before = (await gw.store.apiKeys.get(keyId))!;
    const r = await openai.chat.completions.create({
      model: LLM,
      messages: [{ role: "user", content: "Say something" }],
      max_tokens: MAX_TOKENS,
    });
    expect(r.object).toBe("chat.completion");
    expect(r.model).toBe(LLM);
    expect(r.choices[0]!.message.content!.length).toBeGreaterThan(0);
    expect(r.usage!.completion_tokens).toBe(MAX_TOKENS);
    const u = await lastUsage(gw, keyId);
    expect(u).toMatchObject({
      pipeline: "llm",
      model: LLM,
      units: BigInt(MAX_TOKENS),
      orchestrator: orchs[1]!.grpcUrl,
      status: "ok",
    });
    expect(u.feeWei).toBe(BigInt(MAX_TOKENS) * LLM_PRICES[1]!);
    expect(u.ticketsSent).toBeGreaterThanOrEqual(1);
    expect(u.evSent.gt(0n)).toBe(true);
    const after = (await gw.store.apiKeys.get(keyId))!;
    expect(before.availableWei - after.availableWei).toBe(u.feeWei);
    expect(after.reservedWei).toBe(0n);
    expect(after.spentWei - before.spentWei).toBe(u.feeWei);
  });

  it("streams a chat completion as OpenAI chunks ending with usage", async () => {
    const stream = await openai.chat.completions.create({
      model: LLM,
      messages: [{ role: "user", content: "Stream please" }],
      max_tokens: 12,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let chunks = 0;
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const c of stream) {
      expect(c.object).toBe("chat.completion.chunk");
      text += c.choices[0]?.delta.content ?? "";
      if (c.choices[0]?.delta.content) chunks++;
      if (c.usage) usage = c.usage;
    }
    expect(text.length).toBeGreaterThan(0);
    expect(chunks).toBe(12);
    expect(usage?.completion_tokens).toBe(12);
    const u = await lastUsage(gw, keyId);
    expect(u).toMatchObject({ units: 12n, feeWei: 12n * LLM_PRICES[1]!, status: "ok" });
  });

  it("generates an image of the requested size", async () => {
    const r = await openai.images.generate({
      model: SD,
      prompt: "a red square",
      size: "64x48" as "256x256",
      n: 2,
      response_format: "b64_json",
    });
    expect(r.data).toHaveLength(2);
    const png = readPng(Buffer.from(r.data![0]!.b64_json!, "base64"));
    expect([png.width, png.height]).toEqual([64, 48]);
    const u = await lastUsage(gw, keyId);
    expect(u).toMatchObject({
      pipeline: "text-to-image",
      units: 64n * 48n * 2n,
      feeWei: 64n * 48n * 2n * SD_PRICES[1]!,
      orchestrator: orchs[1]!.grpcUrl,
    });
  });

  it("transcribes audio, speaks text and embeds (billed in ms, Unicode scalars, tokens)", async () => {
    const wav = encodeWavPcm16(new Int16Array(16_000 * 1.5), 16_000);
    const t = await openai.audio.transcriptions.create({
      model: "synthetic-whisper",
      file: await toFile(wav, "a.wav"),
    });
    expect(typeof t.text).toBe("string");
    expect(await lastUsage(gw, keyId)).toMatchObject({
      pipeline: "audio-to-text",
      units: 1500n,
      feeWei: 4500n,
    });

    const speech = await openai.audio.speech.create({
      model: "synthetic-tts",
      input: "héllo 🙂",
      voice: "alloy",
      response_format: "wav",
    });
    expect(parseWav(new Uint8Array(await speech.arrayBuffer())).durationMs).toBeGreaterThan(0n);
    expect(await lastUsage(gw, keyId)).toMatchObject({
      pipeline: "text-to-speech",
      units: 7n,
      feeWei: 3500n,
    });

    const e = await openai.embeddings.create({ model: "synthetic-embed", input: ["hello world", "again"] });
    expect(e.data).toHaveLength(2);
    const u = await lastUsage(gw, keyId);
    expect(u.pipeline).toBe("embeddings");
    expect(u.feeWei).toBe(u.units * 7n);
  });

  it("passes Livepeer AI routes through (/text-to-image, /llm)", async () => {
    const res = await fetch(`${gw.url}/text-to-image`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({ model_id: SD, prompt: "blue", width: 32, height: 32 }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { images: { url: string }[] };
    expect(body.images[0]!.url.startsWith("data:image/png;base64,")).toBe(true);
    expect(await lastUsage(gw, keyId)).toMatchObject({ units: 1024n, feeWei: 2048n });

    const form = new FormData();
    form.append("audio", new Blob([new Uint8Array(encodeWavPcm16(new Int16Array(1600), 16_000))]), "a.wav");
    const att = await fetch(`${gw.url}/audio-to-text`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}` },
      body: form,
    });
    expect(att.status).toBe(200);
    expect(((await att.json()) as { chunks: unknown[] }).chunks).toBeInstanceOf(Array);
    expect(await lastUsage(gw, keyId)).toMatchObject({
      pipeline: "audio-to-text",
      model: "synthetic-whisper",
      units: 100n,
    });

    const llm = await fetch(`${gw.url}/llm`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({ model: LLM, messages: [{ role: "user", content: "x" }], max_tokens: 5 }),
    });
    expect(llm.status).toBe(200);
    expect(((await llm.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens).toBe(5);
  });
});

describe("tickets", () => {
  it("pays concurrent requests on one key without nonce or balance races", async () => {
    const k = await newKey(gw, ETH / 100n);
    const c = client(k.key);
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        c.chat.completions.create({
          model: LLM,
          messages: [{ role: "user", content: `parallel ${i}` }],
          max_tokens: 3 + (i % 3),
        }),
      ),
    );
    expect(results.map((r) => r.usage!.completion_tokens)).toEqual(
      Array.from({ length: 12 }, (_, i) => 3 + (i % 3)),
    );
    const after = (await gw.store.apiKeys.get(k.apiKey.id))!;
    expect(after.reservedWei).toBe(0n);
    const records = await gw.store.usage.listByKey(k.apiKey.id, { limit: 100 });
    expect(records).toHaveLength(12);
    expect(after.spentWei).toBe(records.reduce((s, u) => s + u.feeWei, 0n));
  });

  it("flow to the orchestrator, whose balance is the EV sent minus the fees of what it served", async () => {
    const sender = gw.address;
    const all = (
      await Promise.all(
        (await gw.store.apiKeys.list()).map((k) => gw.store.usage.listByKey(k.id, { limit: 1000 })),
      )
    ).flat();
    const usage = all.filter((u) => u.orchestrator === orchs[1]!.grpcUrl && u.pipeline === "llm");
    expect(usage.length).toBeGreaterThanOrEqual(3);
    const ev = usage.reduce((s, u) => s.add(u.evSent), Rational.ZERO);
    const fees = usage.reduce((s, u) => s + u.feeWei, 0n);
    expect(usage.reduce((n, u) => n + u.ticketsSent, 0)).toBeGreaterThanOrEqual(1);
    const balance = await orchs[1]!.balance(sender, `33_${LLM}`);
    expect(balance.eq(ev.sub(fees))).toBe(true);
    expect(balance.gt(0n)).toBe(true);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/livepay_gateway_tickets_sent_total\{orchestrator="[^"]+"\} [1-9]/);
    expect(metrics).toMatch(/livepay_gateway_payment_work_seconds_count [1-9]/);
    expect(metrics).toMatch(/livepay_gateway_payment_commit_seconds_count\{step="balance"\} [1-9]/);
  });

  it("refreshes ticket params once they expire", async () => {
    const before = await gw.metrics.sessionRefreshes.get();
    const count = (v: typeof before) =>
      v.values.filter((x) => x.labels.reason !== "new").reduce((s, x) => s + x.value, 0);
    const head = BigInt(((await (await fetch(`${gw.url}/healthz`)).json()) as { l1_block: string }).l1_block);
    await devnet.mine(45);
    await until("the gateway sees the new blocks", async () => {
      const h = (await (await fetch(`${gw.url}/healthz`)).json()) as { l1_block: string };
      return BigInt(h.l1_block) >= head + 45n;
    });
    const r = await openai.chat.completions.create({
      model: LLM,
      messages: [{ role: "user", content: "again" }],
      max_tokens: 4,
    });
    expect(r.usage!.completion_tokens).toBe(4);
    expect(count(await gw.metrics.sessionRefreshes.get())).toBeGreaterThan(count(before));
    // New params come with a new auth session, whose balance starts empty (spec §3.4): tickets again.
    expect((await lastUsage(gw, keyId)).ticketsSent).toBeGreaterThanOrEqual(1);
  });

  it("warns when its own deposit is below the threshold", async () => {
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toContain('livepay_gateway_funds_low{kind="deposit"} 1');
    expect(metrics).toContain('livepay_gateway_funds_low{kind="reserve"} 0');
    expect(metrics).toMatch(/livepay_gateway_deposit_wei \d/);
  });
});

describe("credit, caps, idempotency", () => {
  it("answers 402 for a key without credit and for one that cannot cover the maximum cost", async () => {
    const empty = await newKey(gw, 0n);
    const err = await client(empty.key)
      .chat.completions.create({ model: LLM, messages: [{ role: "user", content: "hi" }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(err).toMatchObject({ status: 402, code: "insufficient_credit", type: "insufficient_quota" });

    const little = await newKey(gw, 1000n);
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${little.key}` },
      body: JSON.stringify({ model: LLM, messages: [{ role: "user", content: "hi" }], max_tokens: 10 }),
    });
    expect(res.status).toBe(402);
    const body = (await res.json()) as { error: { message: string; type: string; code: string } };
    expect(body.error).toMatchObject({ type: "insufficient_quota", code: "insufficient_credit" });
    expect(body.error.message).toContain(`${10n * LLM_PRICES[1]!} wei`);
    expect((await gw.store.apiKeys.get(little.apiKey.id))!.availableWei).toBe(1000n);
  });

  it("answers 429 over a per-request cap and over a daily cap", async () => {
    const perRequest = await newKey(gw, ETH, { perRequestWei: 5n * LLM_PRICES[1]! });
    const ok = await client(perRequest.key).chat.completions.create({
      model: LLM,
      messages: [{ role: "user", content: "a" }],
      max_tokens: 5,
    });
    expect(ok.usage!.completion_tokens).toBe(5);
    const over = await client(perRequest.key)
      .chat.completions.create({ model: LLM, messages: [{ role: "user", content: "a" }], max_tokens: 6 })
      .catch((e: unknown) => e);
    expect(over).toMatchObject({ status: 429, code: "spending_cap_exceeded", type: "rate_limit_error" });

    const daily = await newKey(gw, ETH, { perDayWei: 8n * LLM_PRICES[1]! });
    const c = client(daily.key);
    await c.chat.completions.create({
      model: LLM,
      messages: [{ role: "user", content: "a" }],
      max_tokens: 5,
    });
    const second = await c.chat.completions
      .create({ model: LLM, messages: [{ role: "user", content: "a" }], max_tokens: 5 })
      .catch((e: unknown) => e);
    expect(second).toMatchObject({ status: 429, code: "spending_cap_exceeded" });
    expect((second as Error).message).toContain("daily");
  });

  it("replays the stored response for a repeated Idempotency-Key and refuses a different body (409)", async () => {
    const k = await newKey(gw, ETH / 1000n);
    const send = (content: string) =>
      fetch(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${k.key}`,
          "idempotency-key": "req-1",
        },
        body: JSON.stringify({ model: LLM, messages: [{ role: "user", content }], max_tokens: 6 }),
      });
    const a = await send("same");
    const aBody = await a.text();
    expect(a.status).toBe(200);
    const spent = (await gw.store.apiKeys.get(k.apiKey.id))!.spentWei;
    expect(spent).toBe(6n * LLM_PRICES[1]!);
    const b = await send("same");
    expect(b.status).toBe(200);
    expect(b.headers.get("idempotent-replayed")).toBe("true");
    expect(await b.text()).toBe(aBody);
    expect((await gw.store.apiKeys.get(k.apiKey.id))!.spentWei).toBe(spent);
    expect(await gw.store.usage.listByKey(k.apiKey.id)).toHaveLength(1);
    const c = await send("different");
    expect(c.status).toBe(409);
    expect(((await c.json()) as { error: { code: string } }).error.code).toBe("idempotency_conflict");
  });

  it("keeps a usage record per request and shows it on /v1/account", async () => {
    const res = await fetch(`${gw.url}/v1/account`, { headers: { authorization: `Bearer ${apiKey}` } });
    const acct = (await res.json()) as {
      spent_wei: string;
      usage: { fee_wei: string; orchestrator: string; tickets_sent: number; ev_sent_wei: string }[];
    };
    const records = await gw.store.usage.listByKey(keyId, { limit: 100 });
    expect(records.length).toBe(acct.usage.length < 20 ? acct.usage.length : records.length);
    expect(BigInt(acct.spent_wei)).toBe(records.reduce((s, u) => s + u.feeWei, 0n));
    for (const r of records) {
      expect(r.keyId).toBe(keyId);
      expect(r.orchestrator).toBeDefined();
      expect(r.units).toBeGreaterThan(0n);
    }
  });

  it("creates keys through the admin endpoint (token required)", async () => {
    const denied = await fetch(`${gw.url}/admin/keys`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(denied.status).toBe(401);
    const res = await fetch(`${gw.url}/admin/keys`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ name: "admin-made", credit: "0.001eth" }),
    });
    expect(res.status).toBe(201);
    const made = (await res.json()) as { key: string; available_wei: string };
    expect(made.available_wei).toBe((ETH / 1000n).toString());
    const r = await client(made.key).chat.completions.create({
      model: LLM,
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 2,
    });
    expect(r.usage!.completion_tokens).toBe(2);
  });
});

describe.skipIf(postgresSkipped())("PostgreSQL store", () => {
  it("serves, charges and replays with its keys, usage and nonces in PostgreSQL", async () => {
    const pg = await startGateway({
      port: 0,
      chain: { manifest: devnet.manifest, account: "gateway-2", pollIntervalMs: 100 },
      store: { url: await freshPostgresUrl() },
      logLevel: "silent",
    });
    try {
      expect(pg.store.dialect).toBe("postgres");
      const k = await newKey(pg, ETH / 1000n);
      const c = client(k.key, pg.url);
      const r = await c.chat.completions.create({
        model: LLM,
        messages: [{ role: "user", content: "pg" }],
        max_tokens: 7,
      });
      expect(r.usage!.completion_tokens).toBe(7);
      let n = 0;
      for await (const ch of await c.chat.completions.create({
        model: LLM,
        messages: [{ role: "user", content: "pg" }],
        max_tokens: 4,
        stream: true,
      })) {
        if (ch.choices[0]?.delta.content) n++;
      }
      expect(n).toBe(4);
      const records = await pg.store.usage.listByKey(k.apiKey.id);
      expect(records.map((u) => u.units).sort((a, b) => Number(a - b))).toEqual([4n, 7n]);
      expect(records.every((u) => u.orchestrator === orchs[1]!.grpcUrl)).toBe(true);
      expect((await pg.store.apiKeys.get(k.apiKey.id))!.spentWei).toBe(11n * LLM_PRICES[1]!);

      const send = () =>
        fetch(`${pg.url}/v1/chat/completions`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            authorization: `Bearer ${k.key}`,
            "idempotency-key": "pg-1",
          },
          body: JSON.stringify({ model: LLM, messages: [{ role: "user", content: "once" }], max_tokens: 2 }),
        });
      const first = await (await send()).text();
      const again = await send();
      expect(again.headers.get("idempotent-replayed")).toBe("true");
      expect(await again.text()).toBe(first);
      expect(await pg.store.usage.listByKey(k.apiKey.id)).toHaveLength(3);
      // Tickets were sent, so their nonces were reserved in PostgreSQL first.
      expect(records.reduce((t, u) => t + u.ticketsSent, 0)).toBeGreaterThanOrEqual(1);
    } finally {
      await pg.stop();
    }
  });
});

describe("livepay gateway --config", () => {
  it("starts from a config file, serves, and stops on the signal", async () => {
    const manifestPath = join(dir, "devnet.json");
    await writeManifest(manifestPath, devnet.manifest);
    const cfg = join(dir, "gateway-cli.json");
    await writeFile(
      cfg,
      JSON.stringify({
        port: 0,
        chain: { manifest: manifestPath, account: "gateway-1" },
        store: { path: join(dir, "cli.db") },
        logLevel: "silent",
      }),
    );
    let out = "";
    const io = { stdout: (t: string) => void (out += t), stderr: () => undefined, readStdin: async () => "" };
    const stop = new AbortController();
    const running = runGateway(["--config", cfg], io, stop.signal);
    await until("the gateway to listen", async () => out.includes("listening on"));
    const url = /listening on (\S+)/.exec(out)![1]!;
    const health = (await (await fetch(`${url}/healthz`)).json()) as { ok: boolean; orchestrators: number };
    expect(health).toMatchObject({ ok: true, orchestrators: 3 });
    stop.abort();
    expect(await running).toBe(0);
  });
});

describe("selection", () => {
  it("filters orchestrators above the max price (stake-weighted gateway skips the dearest, most-staked one)", async () => {
    const k = await newKey(gwB, ETH / 100n);
    const c = client(k.key, gwB.url);
    for (let i = 0; i < 3; i++) {
      await c.chat.completions.create({
        model: LLM,
        messages: [{ role: "user", content: `q${i}` }],
        max_tokens: 3,
      });
      // Of o2 (200 ETH stake) and o3 (100 ETH) under the 3 gwei cap, stake picks o2; o1 (5 gwei) never serves.
      expect((await lastUsage(gwB, k.apiKey.id)).orchestrator).toBe(orchs[1]!.grpcUrl);
    }
    const err = await c.images.generate({ model: SD, prompt: "x", size: "256x256" }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 503, code: "no_orchestrator" });
    expect((err as Error).message).toContain("max price");
    expect((await gwB.store.apiKeys.get(k.apiKey.id))!.reservedWei).toBe(0n);
  });

  it("fails over to another orchestrator when the chosen one is killed", async () => {
    const before = await gw.metrics.failovers.get();
    await orchs[1]!.stop();
    const r = await openai.chat.completions.create({
      model: LLM,
      messages: [{ role: "user", content: "still there?" }],
      max_tokens: 4,
    });
    expect(r.usage!.completion_tokens).toBe(4);
    const u = await lastUsage(gw, keyId);
    expect(u.orchestrator).toBe(orchs[2]!.grpcUrl); // the next cheapest
    expect(u.feeWei).toBe(4n * LLM_PRICES[2]!);
    const total = (v: typeof before) => v.values.reduce((s, x) => s + x.value, 0);
    expect(total(await gw.metrics.failovers.get())).toBe(total(before) + 1);
    // A streamed request fails over too (nothing was sent to the client yet).
    const stream = await openai.chat.completions.create({
      model: LLM,
      messages: [{ role: "user", content: "s" }],
      max_tokens: 3,
      stream: true,
    });
    let n = 0;
    for await (const c of stream) if (c.choices[0]?.delta.content) n++;
    expect(n).toBe(3);
  });
});
