// Persistent tickets through the gateway on a real devnet (anvil), two real orchestrators with
// `persistent` enabled and real gateways driven by the `openai` package: gateway-funded mode (the
// gateway's key pays, API keys are charged the receipts) and relay mode (the client's SDK pays).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PersistentTicketBrokerAbi } from "@livepay/contracts";
import { LIVEPAY_PAYEE_HEADER, LIVEPAY_PAYER_HEADER, type Hex, type PrivateKey } from "@livepay/protocol";
import { createPayer } from "@livepay/protocol/client";
import OpenAI from "openai";
import { createPublicClient, createWalletClient, http, type Address, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevnet, type Devnet } from "../chain/devnet.js";
import { startOrchestrator, type OrchestratorHandle } from "../orchestrator/startOrchestrator.js";
import { startGateway, type RunningGateway } from "./startGateway.js";

const ETH = 10n ** 18n;
const MODEL = "synthetic-llm";
const PRICES = [1_000_000_007n, 3_000_000_011n];
const FUNDED_FEE = 1000n;
const RELAY_FEE = 500n;

let dir: string;
let devnet: Devnet;
let client: PublicClient;
let broker: Address;
const orchs: OrchestratorHandle[] = [];
let funded: RunningGateway;
let relay: RunningGateway;
const account = (name: string) => devnet.manifest.accounts.find((a) => a.name === name)!;

async function fund(name: string): Promise<void> {
  const wallet = createWalletClient({
    account: privateKeyToAccount(account(name).privateKey! as Hex),
    transport: http(devnet.manifest.rpcUrl, { retryCount: 0 }),
    chain: client.chain,
  });
  const hash = await wallet.writeContract({
    address: broker,
    abi: PersistentTicketBrokerAbi,
    functionName: "fundDepositAndReserve",
    args: [ETH / 10n, ETH],
    value: ETH / 10n + ETH,
  } as never);
  expect((await client.waitForTransactionReceipt({ hash, pollingInterval: 50 })).status).toBe("success");
}

/** What an orchestrator's persistent books say a payer was charged. */
function chargedBy(payer: string): bigint {
  let total = 0n;
  for (const o of orchs)
    for (const t of o.persistent!.store.tickets(payer.toLowerCase() as Hex, 0n))
      total += t.state.cumulativeCharged;
  return total;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "livepay-gw-persistent-"));
  devnet = await startDevnet({
    orchestrators: 2,
    gateways: 3,
    gatewayDeposit: ETH,
    gatewayReserve: ETH,
    blockTimeMs: 0,
  });
  await devnet.nextRound();
  broker = devnet.manifest.contracts.persistentTicketBroker!;
  client = createPublicClient({ transport: http(devnet.manifest.rpcUrl, { retryCount: 0 }) });
  for (let i = 0; i < 2; i++) {
    orchs.push(
      await startOrchestrator({
        privateKey: account(`orchestrator-${i + 1}`).privateKey!,
        chain: { manifest: devnet.manifest, pollIntervalMs: 100 },
        store: { path: join(dir, `orch-${i}.db`) },
        grpcPort: 0,
        httpPort: 0,
        logLevel: "silent",
        redemption: { enabled: false },
        models: [
          {
            pipeline: "llm",
            model_id: MODEL,
            runner: "synthetic",
            price_per_unit: PRICES[i]!.toString(),
            capacity: 8,
          },
        ],
        persistent: { enabled: true, store: join(dir, `persistent-${i}.db`), claimPollMs: 0 },
      } as unknown as Parameters<typeof startOrchestrator>[0]),
    );
  }
  await fund("gateway-1"); // the funded gateway's own deposit
  await fund("gateway-2"); // the self-custody client's deposit
  const common = {
    port: 0,
    orchestrators: orchs.map((o) => o.grpcUrl),
    logLevel: "silent",
  };
  funded = await startGateway({
    ...common,
    chain: { manifest: devnet.manifest, account: "gateway-1", pollIntervalMs: 100 },
    store: { path: join(dir, "funded.db") },
    persistent: { mode: "gateway", feeWei: FUNDED_FEE.toString(), policy: { maxPerRequest: "0.01eth" } },
  });
  relay = await startGateway({
    ...common,
    chain: { manifest: devnet.manifest, account: "gateway-3", pollIntervalMs: 100 },
    store: { path: join(dir, "relay.db") },
    persistent: { mode: "relay", feeWei: RELAY_FEE.toString() },
  });
}, 120_000);

afterAll(async () => {
  await funded?.stop();
  await relay?.stop();
  for (const o of orchs) await o.stop();
  await devnet?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("gateway-funded persistent tickets", () => {
  it("pays a chat completion and a streamed one with persistent tickets; the key pays the receipts + fee", async () => {
    const { key, apiKey } = await funded.store.apiKeys.create("app", ETH / 100n);
    const openai = new OpenAI({ apiKey: key, baseURL: `${funded.url}/v1`, maxRetries: 0, timeout: 30_000 });
    const gatewayAddr = funded.address;
    expect(chargedBy(gatewayAddr)).toBe(0n);

    const r = await openai.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "hello there" }],
      max_tokens: 24,
    });
    expect(typeof r.choices[0]?.message.content).toBe("string");
    expect(r.model).toBe(MODEL);

    const stream = await openai.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "stream please" }],
      max_tokens: 16,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usageTokens: number | undefined;
    for await (const c of stream) {
      text += c.choices[0]?.delta?.content ?? "";
      if (c.usage) usageTokens = c.usage.completion_tokens;
    }
    expect(text.length).toBeGreaterThan(0);

    const usage = (await funded.store.usage.listByKey(apiKey.id, { limit: 10 })).reverse();
    expect(usage).toHaveLength(2);
    const receipts = usage.map((u) => funded.persistent!.receipts.get(u.requestId as Hex)!);
    expect(receipts.every((x) => x !== undefined && x.charge > 0n)).toBe(true);
    expect(usageTokens).toBe(Number(receipts[1]!.units));
    for (const [i, u] of usage.entries()) {
      expect(u.status).toBe("ok");
      expect(u.ticketsSent).toBe(0); // no Livepeer tickets
      expect(u.evSent.sign()).toBe(0);
      expect(u.units).toBe(receipts[i]!.units);
      expect(u.feeWei).toBe(receipts[i]!.charge + FUNDED_FEE);
    }
    const sumCharges = receipts.reduce((a, x) => a + x.charge, 0n);
    // The key paid exactly the receipts plus the explicit fee line, nothing reserved is left open.
    const after = (await funded.store.apiKeys.get(apiKey.id))!;
    expect(after.spentWei).toBe(sumCharges + 2n * FUNDED_FEE);
    expect(after.reservedWei).toBe(0n);
    expect(after.availableWei).toBe(ETH / 100n - sumCharges - 2n * FUNDED_FEE);
    // The orchestrators' books agree: the gateway's key was charged exactly the receipts.
    expect(chargedBy(gatewayAddr)).toBe(sumCharges);
    // The gateway's own payer verified both receipts; no Livepeer ticket was sent.
    const verified = await funded.persistent!.payer!.tickets();
    expect(verified.reduce((a, t) => a + t.state.cumulativeCharged, 0n)).toBe(sumCharges);
    const metrics = await (await fetch(`${funded.url}/metrics`)).text();
    expect(metrics).not.toMatch(/^livepay_gateway_tickets_sent_total\{/m);
  }, 60_000);

  it("refuses a key that cannot cover the quote's maxCharge + fee, charging nothing", async () => {
    const { key, apiKey } = await funded.store.apiKeys.create("poor", 1000n);
    const openai = new OpenAI({ apiKey: key, baseURL: `${funded.url}/v1`, maxRetries: 0 });
    await expect(
      openai.chat.completions.create({
        model: MODEL,
        messages: [{ role: "user", content: "hi" }],
        max_tokens: 8,
      }),
    ).rejects.toMatchObject({ status: 402, code: "insufficient_credit" });
    const k = (await funded.store.apiKeys.get(apiKey.id))!;
    expect(k.spentWei).toBe(0n);
    expect(k.reservedWei).toBe(0n);
  }, 30_000);

  it("estimate accuracy: the moving average of receipt units / quote estUnits updates per receipt", async () => {
    const { key } = await funded.store.apiKeys.create("acc", ETH / 100n);
    const openai = new OpenAI({ apiKey: key, baseURL: `${funded.url}/v1`, maxRetries: 0 });
    const uri = [...funded.persistent!.receipts.values()][0]!.orchestrator;
    const before = funded.persistent!.accuracyOf(uri, "llm")!;
    expect(before.samples).toBeGreaterThanOrEqual(2);
    // A stop sequence ends the answer early: actual well under the estimate.
    await openai.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "short" }],
      max_tokens: 64,
      stop: ["e"],
    });
    const last = [...funded.persistent!.receipts.values()].at(-1)!;
    const after = funded.persistent!.accuracyOf(last.orchestrator, "llm")!;
    expect(after.samples).toBe(before.samples + 1);
    const r = Number((last.units * 1_000_000n) / last.estUnits!) / 1e6;
    expect(after.ratio).toBeCloseTo(before.ratio + 0.2 * (r - before.ratio), 9);
    expect(after.score).toBeCloseTo(Math.min(after.ratio, 1 / after.ratio), 12);
  }, 30_000);
});

describe("relay (self-custody) persistent tickets", () => {
  it("relays quotes, the client's vouchers and receipts untouched; the key pays only the gateway fee", async () => {
    const { key, apiKey } = await relay.store.apiKeys.create("self-custody app", 10n ** 6n);
    const payerKey = account("gateway-2").privateKey! as PrivateKey;
    const payer = createPayer({ privateKey: payerKey, chainId: devnet.manifest.chainId, broker });
    const openai = new OpenAI({ apiKey: key, baseURL: `${relay.url}/v1`, fetch: payer.fetch, maxRetries: 0 });

    const r = await openai.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "relay me" }],
      max_tokens: 20,
    });
    expect(typeof r.choices[0]?.message.content).toBe("string");
    const stream = await openai.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "relay a stream" }],
      max_tokens: 12,
      stream: true,
    });
    let text = "";
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? "";
    expect(text.length).toBeGreaterThan(0);

    // The client verified both receipts end to end (payee signature, chain, charge ≤ quote).
    let sum = 0n;
    let count = 0;
    for (const t of await payer.tickets()) {
      expect(t.status).toBe("open");
      for (const rec of await payer.receipts(t.state.payee, t.state.ticketId)) {
        sum += rec.signed.receipt.charge;
        count++;
      }
    }
    expect(count).toBe(2);
    expect(sum).toBeGreaterThan(0n);
    expect(chargedBy(payer.address)).toBe(sum);
    expect(await payer.blockedPayees()).toEqual({});
    // The gateway's key holder paid the explicit fee only, once per paid request.
    const k = (await relay.store.apiKeys.get(apiKey.id))!;
    expect(k.spentWei).toBe(2n * RELAY_FEE);
    expect(k.reservedWei).toBe(0n);
    const usage = await relay.store.usage.listByKey(apiKey.id, { limit: 10 });
    expect(usage.map((u) => u.status)).toEqual(["relayed", "relayed"]);
    // The relay never paid: its own account has no persistent ticket with the orchestrators.
    expect(chargedBy(relay.address)).toBe(0n);
    // Accuracy is fed from relayed receipts too.
    expect(relay.persistent!.accuracy.all().reduce((a, [, f]) => a + f.samples, 0)).toBe(2);
  }, 60_000);

  it("routes to the Livepay-Payee asked for, or answers 409 payee_unavailable", async () => {
    const { key } = await relay.store.apiKeys.create("payee", 10n ** 6n);
    const body = JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "x" }], max_tokens: 8 });
    const ask = (payee: string) =>
      fetch(`${relay.url}/v1/chat/completions`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${key}`,
          "content-type": "application/json",
          [LIVEPAY_PAYER_HEADER]: account("gateway-2").address,
          [LIVEPAY_PAYEE_HEADER]: payee,
        },
        body,
      });
    const missing = await ask(`0x${"ab".repeat(20)}`);
    expect(missing.status).toBe(409);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe("payee_unavailable");
    for (const o of orchs) {
      const res = await ask(o.address);
      expect(res.status).toBe(402);
      const q = (await res.json()) as { quote: { payee: string } };
      expect(q.quote.payee).toBe(o.address.toLowerCase());
    }
  }, 30_000);
});
