// Gateway restart continuity in gateway-funded persistent mode, on a real devnet (anvil) with a real
// orchestrator: requests through the `openai` package, the gateway stops (cleanly, or a gateway CLI
// child process is killed with SIGKILL), a new gateway starts on the same store, more requests. The
// payer must continue the same ticket from its stored record: cumulative amounts keep growing, the
// receipt chain links across the restart, the API key pays exactly the receipts (+ the explicit fee
// line), and the orchestrator's claim is paid exactly the sum of the charges.
import type { ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ZERO_HASH, voucherContext, type Hex } from "@livepay/protocol";
import {
  quoteRecordFromJson,
  ticketRecordFromJson,
  voucherRecordFromJson,
  type ReceiptRecord,
  type TicketRecord,
} from "@livepay/protocol/client";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnCli } from "../../test/cliProcess.js";
import { freshPostgresUrl, postgresSkipped } from "../../test/postgres.js";
import type { DevnetManifest } from "../chain/manifest.js";
import { startPersistentNet, type PersistentNet } from "../persistent/testing/persistentNet.js";
import { openStore, type Store } from "../store/openStore.js";
import { gatewayPayerNamespace, storePayerStorage } from "./persistentStorage.js";
import type { GatewayConfigInput } from "./config.js";
import { startGateway, type RunningGateway } from "./startGateway.js";

const ETH = 10n ** 18n;
const MODEL = "synthetic-llm";
const PRICE = 1_000_000_007n;
const FEE = 1000n;
const CREDIT = ETH / 100n;
const BEFORE = 3; // requests before the restart
const AFTER = 3; // and after

let net: PersistentNet;

beforeAll(async () => {
  net = await startPersistentNet({
    name: "gw-restart",
    gateways: 3,
    // The gateways' Livepeer ticket funds: orchestrator discovery (GetOrchestrator) checks them.
    devnet: { gatewayDeposit: ETH, gatewayReserve: ETH },
    models: [
      {
        pipeline: "llm",
        model_id: MODEL,
        runner: "synthetic",
        price_per_unit: PRICE.toString(),
        capacity: 8,
      },
    ],
  });
  await net.devnet.nextRound();
  // Each variant pays from its own gateway account, so their tickets never meet.
  for (const g of ["gateway-1", "gateway-2", "gateway-3"]) {
    await net.send(net.account(g).privateKey!, "fundDepositAndReserve", [ETH / 10n, ETH], ETH / 10n + ETH);
  }
}, 120_000);

afterAll(async () => {
  await net?.stop();
});

type StoreLocation = { path: string } | { url: string };

function gatewayConfig(
  account: string,
  store: StoreLocation,
  manifest: string | DevnetManifest,
): GatewayConfigInput {
  return {
    port: 0,
    orchestrators: [net.orch.grpcUrl],
    logLevel: "silent",
    chain: { manifest, account, pollIntervalMs: 100 },
    store,
    persistent: { mode: "gateway", feeWei: FEE.toString(), policy: { maxPerRequest: "0.01eth" } },
  };
}

/** The payer namespace persistentGateway.ts uses for the gateway's own payer. */
function payerNamespace(address: string): string {
  return gatewayPayerNamespace(net.chainId, net.broker, address);
}

/** Sends `n` chat requests (every third one streamed) and checks each got an answer. */
async function chat(baseUrl: string, apiKey: string, n: number, tag: string): Promise<void> {
  const openai = new OpenAI({ apiKey, baseURL: `${baseUrl}/v1`, maxRetries: 0, timeout: 30_000 });
  for (let i = 0; i < n; i++) {
    const messages = [{ role: "user" as const, content: `${tag} request ${i}` }];
    if (i % 3 === 2) {
      const stream = await openai.chat.completions.create({
        model: MODEL,
        messages,
        max_tokens: 12,
        stream: true,
      });
      let text = "";
      for await (const c of stream) text += c.choices[0]?.delta?.content ?? "";
      expect(text.length).toBeGreaterThan(0);
    } else {
      const r = await openai.chat.completions.create({ model: MODEL, messages, max_tokens: 10 + i });
      expect(typeof r.choices[0]?.message.content).toBe("string");
    }
  }
}

/** The ticket records as a store holds them (what a restarted payer will load). */
async function storedTickets(store: Store, ns: string): Promise<TicketRecord[]> {
  return (await storePayerStorage(store, ns).list("ticket/")).map(([, v]) => ticketRecordFromJson(v));
}

const stateOf = (t: TicketRecord) => ({
  status: t.status,
  ticketId: t.state.ticketId,
  signedCumulative: t.state.signedCumulative,
  cumulativeCharged: t.state.cumulativeCharged,
  seq: t.state.seq,
  lastReceiptHash: t.state.lastReceiptHash,
});

/** Starts the gateway CLI from source (tsx) as a child process and waits until it listens. */
async function spawnGatewayCli(
  dir: string,
  account: string,
  store: { path: string },
): Promise<{ child: ChildProcess; url: string; exited: Promise<void> }> {
  const manifestPath = join(dir, "devnet.json");
  await writeFile(manifestPath, JSON.stringify(net.devnet.manifest));
  const cfgPath = join(dir, `${account}.json`);
  await writeFile(
    cfgPath,
    JSON.stringify({ ...gatewayConfig(account, store, manifestPath), logLevel: "info" }),
  );
  const cli = await spawnCli(dir, ["gateway", "--config", cfgPath]);
  const { url } = await cli.waitForLog<{ url: string }>("gateway listening");
  return { child: cli.child, url, exited: cli.exited };
}

/**
 * One restart scenario. `first` runs the gateway before the restart and stops it (cleanly or not);
 * then a new in-process gateway opens the same store and everything is checked.
 */
async function restartScenario(
  account: string,
  store: StoreLocation,
  first: (apiKey: string) => Promise<void>,
): Promise<void> {
  const payerAddr = net.account(account).address.toLowerCase() as Hex;
  const ns = payerNamespace(payerAddr);
  // The API key is created in the store before any gateway runs.
  const setup = await openStore(store);
  const { key, apiKey } = await setup.apiKeys.create(`restart ${account}`, CREDIT);
  await setup.close();

  await first(key);

  // What the stopped gateway left on disk: one ticket (requests were sequential), open, BEFORE receipts.
  const disk = await openStore(store);
  const before = await storedTickets(disk, ns);
  await disk.close();
  expect(before).toHaveLength(1);
  expect(before[0]!.status).toBe("open");
  expect(before[0]!.state.seq).toBe(BigInt(BEFORE));
  const payee = before[0]!.state.payee;
  const ticketId = before[0]!.state.ticketId;
  // The payee agrees with the stored record.
  const payeeBefore = net.orch.persistent!.store.ticket(payerAddr, 0n, ticketId)!;
  expect(payeeBefore.state.cumulativeCharged).toBe(before[0]!.state.cumulativeCharged);
  expect(payeeBefore.voucher!.cumulativeAmount).toBe(before[0]!.state.signedCumulative);

  const gw: RunningGateway = await startGateway(gatewayConfig(account, store, net.devnet.manifest));
  try {
    // The new gateway's payer starts from the stored record, before talking to anyone.
    expect((await gw.persistent!.payer!.tickets()).map(stateOf)).toEqual(before.map(stateOf));

    await chat(gw.url, key, AFTER, "after");

    // Still one ticket, the same one, continued: AFTER more receipts.
    const after = await gw.persistent!.payer!.tickets();
    expect(after.map((t) => [t.state.ticketId, t.status])).toEqual([[ticketId, "open"]]);
    const t = after[0]!.state;
    expect(t.seq).toBe(BigInt(BEFORE + AFTER));
    expect(t.cumulativeCharged).toBeGreaterThan(before[0]!.state.cumulativeCharged);
    expect(t.signedCumulative).toBeGreaterThan(before[0]!.state.signedCumulative);

    // The receipt chain continues across the restart: seq 1..n, each linking the previous receipt's hash.
    const receipts: ReceiptRecord[] = await gw.persistent!.payer!.receipts(payee, ticketId);
    expect(receipts.map((r) => r.signed.receipt.seq)).toEqual(
      Array.from({ length: BEFORE + AFTER }, (_, i) => BigInt(i + 1)),
    );
    let prevHash: Hex = ZERO_HASH;
    let cumulative = 0n;
    for (const r of receipts) {
      expect(r.signed.receipt.prevReceiptHash).toBe(prevHash);
      cumulative += r.signed.receipt.charge;
      expect(r.signed.receipt.cumulativeCharged).toBe(cumulative);
      prevHash = r.hash;
    }
    expect(prevHash).toBe(t.lastReceiptHash);
    expect(cumulative).toBe(t.cumulativeCharged);

    // Every voucher, in request order, acknowledges the previous receipt (the first one after the
    // restart the last one before it) and never goes below an earlier cumulative amount.
    const storage = storePayerStorage(gw.store, ns);
    const usage = (await gw.store.usage.listByKey(apiKey.id, { limit: 100 })).reverse();
    expect(usage).toHaveLength(BEFORE + AFTER);
    expect(usage.every((u) => u.status === "ok")).toBe(true);
    let lastVoucher = 0n;
    for (const [i, u] of usage.entries()) {
      const v = voucherRecordFromJson((await storage.get(`voucher/${u.requestId}`))!).voucher;
      const q = quoteRecordFromJson((await storage.get(`quote/${u.requestId}`))!);
      expect(v.ticketId).toBe(ticketId);
      expect(v.context).toBe(voucherContext(q.hash, i === 0 ? ZERO_HASH : receipts[i - 1]!.hash));
      expect(receipts[i]!.quoteId).toBe(u.requestId);
      expect(v.cumulativeAmount).toBeGreaterThanOrEqual(lastVoucher);
      expect(v.cumulativeAmount).toBeGreaterThanOrEqual(receipts[i]!.signed.receipt.cumulativeCharged);
      lastVoucher = v.cumulativeAmount;
      expect(u.feeWei).toBe(receipts[i]!.signed.receipt.charge + FEE);
    }
    expect(lastVoucher).toBe(t.signedCumulative);

    // The API key paid exactly the receipts plus the fee line; nothing left reserved.
    const k = (await gw.store.apiKeys.get(apiKey.id))!;
    const n = BigInt(BEFORE + AFTER);
    expect(k.spentWei).toBe(cumulative + n * FEE);
    expect(k.reservedWei).toBe(0n);
    expect(k.availableWei).toBe(CREDIT - cumulative - n * FEE);

    // The payee's books agree, and a claim pays exactly the sum of the charges.
    const row = net.orch.persistent!.store.ticket(payerAddr, 0n, ticketId)!;
    expect(row.state.cumulativeCharged).toBe(cumulative);
    expect(row.voucher!.cumulativeAmount).toBe(t.signedCumulative);
    const balanceBefore = await net.client.getBalance({ address: net.orch.address as Hex });
    const report = (await net.orch.persistent!.claimNow())!;
    expect(report.outcomes.map((o) => [o.payer.toLowerCase(), o.ticketId])).toEqual([[payerAddr, ticketId]]);
    expect(report.paid).toBe(cumulative);
    const tx = await net.client.getTransactionReceipt({ hash: report.hash });
    const balanceAfter = await net.client.getBalance({ address: net.orch.address as Hex });
    expect(balanceAfter - balanceBefore + tx.gasUsed * tx.effectiveGasPrice).toBe(cumulative);
  } finally {
    await gw.stop();
  }
}

describe("gateway-funded persistent tickets across a gateway restart", () => {
  it("clean stop, then a new gateway on the same SQLite store continues the ticket and its receipt chain", async () => {
    const store = { path: join(net.dir, "clean.db") };
    await restartScenario("gateway-1", store, async (key) => {
      const gw = await startGateway(gatewayConfig("gateway-1", store, net.devnet.manifest));
      try {
        await chat(gw.url, key, BEFORE, "before");
      } finally {
        await gw.stop();
      }
    });
  }, 120_000);

  it("kill -9 of a gateway CLI process, then a new gateway on the same SQLite store continues", async () => {
    const store = { path: join(net.dir, "killed.db") };
    await restartScenario("gateway-2", store, async (key) => {
      const { child, url, exited } = await spawnGatewayCli(net.dir, "gateway-2", store);
      try {
        await chat(url, key, BEFORE, "before");
        child.kill("SIGKILL");
        await exited;
        expect(child.signalCode).toBe("SIGKILL");
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      }
    });
  }, 150_000);

  it.skipIf(postgresSkipped())(
    "clean stop, then a new gateway on the same PostgreSQL store continues",
    async () => {
      const store = { url: await freshPostgresUrl() };
      await restartScenario("gateway-3", store, async (key) => {
        const gw = await startGateway(gatewayConfig("gateway-3", store, net.devnet.manifest));
        try {
          await chat(gw.url, key, BEFORE, "before");
        } finally {
          await gw.stop();
        }
      });
    },
    120_000,
  );
});
