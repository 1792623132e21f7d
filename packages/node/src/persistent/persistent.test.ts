// Persistent tickets end to end on a real devnet (anvil) and a real orchestrator with `persistent`
// enabled, paid by the SDK's fetch through the `openai` package.
import { writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import {
  LIVEPAY_PAYER_HEADER,
  LIVEPAY_VOUCHER_HEADER,
  encodeVoucherHeader,
  paymentRequiredFromJson,
  persistentDomain,
  signVoucher,
  voucherContext,
  type Hex,
  type PrivateKey,
} from "@livepay/protocol";
import { createPayer, memoryStorage, type Payer } from "@livepay/protocol/client";
import OpenAI from "openai";
import type { Address, PublicClient } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Devnet } from "../chain/devnet.js";
import { spawnCli } from "../../test/cliProcess.js";
import { startPersistentNet, type PersistentNet } from "./testing/persistentNet.js";
import { startOrchestrator, type OrchestratorHandle } from "../orchestrator/startOrchestrator.js";
import { ticketCommand } from "../cli/commands/ticket.js";

const ETH = 10n ** 18n;
const PRICE = 1_000_000_007n; // wei per token
const MODEL = "synthetic-llm";
const DEPOSIT = ETH / 10n;
const RESERVE = ETH;

let net: PersistentNet;
let dir: string;
let devnet: Devnet;
let orch: OrchestratorHandle;
let client: PublicClient;
let broker: Address;
let chainId: number;
const account = (name: string) => net.account(name);
const send = (key: string | PrivateKey, functionName: string, args: unknown[], value = 0n) =>
  net.send(key, functionName, args, value);

beforeAll(async () => {
  net = await startPersistentNet({
    name: "persistent",
    gateways: 5,
    models: [
      {
        pipeline: "llm",
        model_id: MODEL,
        runner: "synthetic",
        price_per_unit: PRICE.toString(),
        capacity: 16,
      },
    ],
  });
  ({ dir, devnet, orch, client, broker, chainId } = net);
}, 60_000);

afterAll(async () => {
  await net?.stop();
});

function openaiFor(payer: Payer): OpenAI {
  return new OpenAI({ apiKey: "-", baseURL: `${orch.httpUrl}/v1`, fetch: payer.fetch, maxRetries: 0 });
}

describe("persistent tickets on the orchestrator", () => {
  it("100 LLM requests: one signature each, no transaction, one batched claim, exact refunds", async () => {
    const key = account("gateway-1").privateKey! as Hex;
    const payerAddr = account("gateway-1").address.toLowerCase() as Hex;
    const payee = orch.address.toLowerCase() as Hex;
    const fundGas = await send(key, "fundDepositAndReserve", [DEPOSIT, RESERVE], DEPOSIT + RESERVE);

    let vouchers = 0;
    const counting: typeof fetch = (input, init) => {
      const h = new Headers(init?.headers);
      if (h.has(LIVEPAY_VOUCHER_HEADER)) vouchers++;
      return fetch(input, init);
    };
    const payer = createPayer({ privateKey: key as PrivateKey, chainId, broker, fetch: counting });
    const openai = openaiFor(payer);
    const nonceBefore = await client.getTransactionCount({ address: payerAddr });

    let sumMaxTokens = 0n;
    for (let i = 0; i < 100; i++) {
      const max_tokens = 4 + ((i * 37) % 90);
      sumMaxTokens += BigInt(max_tokens);
      const messages = [{ role: "user" as const, content: `request ${i}: tell me something` }];
      if (i % 5 === 0) {
        const stream = await openai.chat.completions.create({
          model: MODEL,
          messages,
          max_tokens,
          stream: true,
        });
        let text = "";
        for await (const c of stream) text += c.choices[0]?.delta?.content ?? "";
        expect(text.length).toBeGreaterThan(0);
      } else {
        // Half of them stop early (a stop sequence): actual cost below the quote's maximum.
        const stop = i % 2 === 1 ? { stop: ["e"] } : {};
        const r = await openai.chat.completions.create({ model: MODEL, messages, max_tokens, ...stop });
        expect(typeof r.choices[0]?.message.content).toBe("string");
      }
    }
    expect(vouchers).toBe(100);
    expect(await client.getTransactionCount({ address: payerAddr })).toBe(nonceBefore);

    // Total charged (orchestrator's books) == sum of the receipts the payer verified.
    let sumReceipts = 0n;
    let sumUnits = 0n;
    let receiptCount = 0;
    for (const t of await payer.tickets()) {
      for (const r of await payer.receipts(payee, t.state.ticketId)) {
        sumReceipts += r.signed.receipt.charge;
        sumUnits += r.signed.receipt.units;
        receiptCount++;
      }
    }
    expect(receiptCount).toBe(100);
    expect(sumUnits).toBeLessThan(sumMaxTokens);
    const charged = orch
      .persistent!.store.tickets(payerAddr, 0n)
      .reduce((a, t) => a + t.state.cumulativeCharged, 0n);
    expect(charged).toBe(sumReceipts);
    expect(sumReceipts).toBeGreaterThan(0n);
    expect(orch.persistent!.claimer.reports).toHaveLength(0);

    // Settlement: everything in ONE claimBatch.
    const payeeBefore = await client.getBalance({ address: orch.address });
    const report = (await orch.persistent!.claimNow())!;
    expect(report).toBeDefined();
    expect(orch.persistent!.claimer.reports).toHaveLength(1);
    expect(report.paid).toBe(sumReceipts);
    const tx = await client.getTransactionReceipt({ hash: report.hash });
    const payeeAfter = await client.getBalance({ address: orch.address });
    expect(payeeAfter - payeeBefore + tx.gasUsed * tx.effectiveGasPrice).toBe(sumReceipts);
    expect(await orch.persistent!.claimNow()).toBeUndefined(); // nothing left: no second claim

    // Payer: unlock, wait, withdraw: deposit + reserve − charges back (its own gas aside).
    const before = await client.getBalance({ address: payerAddr });
    let gas = await send(key, "unlock", []);
    for (let i = 0; i < devnet.manifest.params.unlockPeriod; i++) await devnet.nextRound();
    gas += await send(key, "withdraw", []);
    const after = await client.getBalance({ address: payerAddr });
    expect(after - before + gas).toBe(DEPOSIT + RESERVE - sumReceipts);
    expect(fundGas).toBeGreaterThan(0n);
  }, 110_000);
});

describe("voucher admission over HTTP", () => {
  const body = { model: MODEL, messages: [{ role: "user", content: "hi" }], max_tokens: 16 };
  async function quote(payer: Hex): Promise<ReturnType<typeof paymentRequiredFromJson>> {
    const r = await fetch(`${orch.httpUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", [LIVEPAY_PAYER_HEADER]: payer },
      body: JSON.stringify(body),
    });
    expect(r.status).toBe(402);
    return paymentRequiredFromJson(await r.json());
  }
  async function pay(payer: Hex, envelope: Parameters<typeof encodeVoucherHeader>[0]): Promise<Response> {
    return fetch(`${orch.httpUrl}/v1/chat/completions`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        [LIVEPAY_PAYER_HEADER]: payer,
        [LIVEPAY_VOUCHER_HEADER]: encodeVoucherHeader(envelope),
      },
      body: JSON.stringify(body),
    });
  }

  it("rejects forged, replayed, cross-payee and old-epoch vouchers; refuses beyond the reserve with the needed reserve", async () => {
    const key = account("gateway-2").privateKey! as PrivateKey;
    const payer = account("gateway-2").address.toLowerCase() as Hex;
    const payee = orch.address.toLowerCase() as Hex;
    const domain = persistentDomain(chainId, broker);
    await send(key, "fundDepositAndReserve", [DEPOSIT, RESERVE], DEPOSIT + RESERVE);

    const signed = async (over: { payee?: Hex; epoch?: bigint; key?: PrivateKey; quoteId?: Hex } = {}) => {
      const pr = await quote(payer);
      const q = pr.quote.quote;
      const { quoteHash } = await import("@livepay/protocol");
      const voucher = {
        payer,
        payee: over.payee ?? payee,
        ticketId: q.ticketId,
        epoch: over.epoch ?? 0n,
        cumulativeAmount: pr.ticket.cumulativeCharged + q.maxCharge,
        context: voucherContext(quoteHash(domain, q), pr.ticket.lastReceiptHash),
      };
      const { signature } = signVoucher(domain, voucher, over.key ?? key);
      return { quoteId: over.quoteId ?? q.quoteId, voucher, signature };
    };
    const codeOf = async (r: Response) => ((await r.json()) as { error: { code: string } }).error.code;

    // A good one first: 200 with a receipt.
    const good = await signed();
    const ok = await pay(payer, good);
    expect(ok.status).toBe(200);
    const receipt = ok.headers.get("livepay-receipt");
    expect(receipt).toBeTruthy();
    // Replayed as-is: the same receipt, no second charge.
    const again = await pay(payer, good);
    expect(again.status).toBe(200);
    expect(again.headers.get("livepay-receipt")).toBe(receipt);
    // Replayed onto a new quote: its context names the old quote.
    const fresh = await quote(payer);
    const replay = await pay(payer, { ...good, quoteId: fresh.quote.quote.quoteId });
    expect(replay.status).toBe(402);
    expect(await codeOf(replay)).toBe("VOUCHER_CONTEXT_MISMATCH");

    const forged = await pay(payer, await signed({ key: account("gateway-3").privateKey! as PrivateKey }));
    expect(forged.status).toBe(402);
    expect(await codeOf(forged)).toMatch(/^VOUCHER_SIGNER/);
    const cross = await pay(
      payer,
      await signed({ payee: account("gateway-3").address.toLowerCase() as Hex }),
    );
    expect(cross.status).toBe(402);
    expect(await codeOf(cross)).toBe("VOUCHER_TICKET_MISMATCH");
    const oldEpoch = await pay(payer, await signed({ epoch: 1n }));
    expect(oldEpoch.status).toBe(402);
    expect(await codeOf(oldEpoch)).toBe("VOUCHER_TICKET_MISMATCH");

    // A payer whose reserve allocation cannot cover one request maximum.
    const poorKey = account("gateway-3").privateKey! as PrivateKey;
    const poor = account("gateway-3").address.toLowerCase() as Hex;
    await send(poorKey, "fundDepositAndReserve", [ETH / 10n, 1000n], ETH / 10n + 1000n);
    const pr = await quote(poor);
    const { quoteHash } = await import("@livepay/protocol");
    const v = {
      payer: poor,
      payee,
      ticketId: pr.quote.quote.ticketId,
      epoch: 0n,
      cumulativeAmount: pr.quote.quote.maxCharge,
      context: voucherContext(quoteHash(domain, pr.quote.quote), pr.ticket.lastReceiptHash),
    };
    const res = await pay(poor, {
      quoteId: pr.quote.quote.quoteId,
      voucher: v,
      signature: signVoucher(domain, v, poorKey).signature,
    });
    expect(res.status).toBe(402);
    const b = (await res.json()) as {
      error: { code: string };
      reserve: { needed: string; allocation: string };
    };
    expect(b.error.code).toBe("insufficient_reserve");
    expect(BigInt(b.reserve.needed)).toBeGreaterThan(1000n);
    expect(BigInt(b.reserve.needed)).toBeGreaterThanOrEqual(pr.quote.quote.maxCharge);
  }, 60_000);

  it("concurrent requests use several tickets", async () => {
    const key = account("gateway-4").privateKey! as PrivateKey;
    await send(key, "fundDepositAndReserve", [DEPOSIT, RESERVE], DEPOSIT + RESERVE);
    const payer = createPayer({ privateKey: key, chainId, broker });
    const openai = openaiFor(payer);
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        openai.chat.completions.create({
          model: MODEL,
          messages: [{ role: "user", content: `parallel ${i}` }],
          max_tokens: 64,
        }),
      ),
    );
    const used = (await payer.tickets()).filter((t) => t.state.seq > 0n);
    expect(used.length).toBeGreaterThan(1);
  }, 30_000);
});

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe("kill -9 of the orchestrator mid-request", () => {
  it("loses no voucher and charges nothing twice", async () => {
    const key = account("gateway-5").privateKey! as PrivateKey;
    const payerAddr = account("gateway-5").address.toLowerCase() as Hex;
    const payee = orch.address.toLowerCase() as Hex;
    await send(key, "fundDepositAndReserve", [DEPOSIT, RESERVE], DEPOSIT + RESERVE);
    const httpPort = await freePort();
    const cfg = {
      privateKey: account("orchestrator-1").privateKey!,
      chain: { manifest: join(dir, "devnet.json"), pollIntervalMs: 100 },
      store: { path: join(dir, "kill.db") },
      grpcPort: 0,
      httpPort,
      logLevel: "info",
      redemption: { enabled: false },
      models: [
        {
          pipeline: "llm",
          model_id: MODEL,
          runner: "synthetic",
          price_per_unit: PRICE.toString(),
          tokens_per_second: 20,
        },
      ],
      persistent: { enabled: true, store: join(dir, "kill-persistent.db"), claimPollMs: 0 },
    };
    await writeFile(join(dir, "devnet.json"), JSON.stringify(devnet.manifest));
    await writeFile(join(dir, "kill.json"), JSON.stringify(cfg));
    const proc = await spawnCli(dir, ["orchestrator", "--config", join(dir, "kill.json")]);
    const { child, exited } = proc;
    let restarted: OrchestratorHandle | undefined;
    try {
      await proc.waitForLog("orchestrator listening", 40_000);
      const storage = memoryStorage();
      const first = createPayer({ privateKey: key, chainId, broker, storage });
      const base = `http://127.0.0.1:${httpPort}/v1`;
      let openai = new OpenAI({ apiKey: "-", baseURL: base, fetch: first.fetch, maxRetries: 0 });
      // One full request first, so the crash hits a ticket with history.
      await openai.chat.completions.create({
        model: MODEL,
        messages: [{ role: "user", content: "a" }],
        max_tokens: 4,
      });
      const stream = await openai.chat.completions.create({
        model: MODEL,
        messages: [{ role: "user", content: "a long one" }],
        max_tokens: 200,
        stream: true,
      });
      let chunks = 0;
      await expect(
        (async () => {
          for await (const _c of stream) {
            if (++chunks === 3) {
              child.kill("SIGKILL");
              await exited;
            }
          }
        })(),
      ).rejects.toThrow();
      expect(chunks).toBeGreaterThanOrEqual(3);
      // The client side restarts too (the SDK resolves requests left in flight from its record).
      const payer = createPayer({ privateKey: key, chainId, broker, storage });
      openai = new OpenAI({ apiKey: "-", baseURL: base, fetch: payer.fetch, maxRetries: 0 });
      const pending = (await payer.tickets()).find((t) => t.pending)!;
      expect(pending).toBeDefined();
      const signedCumulative = pending.pending!.approval;

      restarted = await startOrchestrator({
        ...cfg,
        chain: { manifest: devnet.manifest, pollIntervalMs: 100 },
        logLevel: "silent",
      } as never);
      const p = restarted.persistent!;
      // The voucher survived: the payee holds exactly what the payer signed.
      const row = p.store.ticket(payerAddr, 0n, pending.state.ticketId)!;
      expect(row.voucher!.cumulativeAmount).toBe(signedCumulative);
      // The interrupted request got a zero-unit receipt; the payer verifies and adopts it.
      const r = await payer.fetchReceipt(pending.pending!.quoteId);
      expect(r.receipt.units).toBe(0n);
      // The ticket goes on; nothing is charged twice.
      await openai.chat.completions.create({
        model: MODEL,
        messages: [{ role: "user", content: "b" }],
        max_tokens: 4,
      });
      let sum = 0n;
      for (const t of await payer.tickets())
        for (const rr of await payer.receipts(payee, t.state.ticketId)) sum += rr.signed.receipt.charge;
      const charged = p.store.tickets(payerAddr, 0n).reduce((a, t) => a + t.state.cumulativeCharged, 0n);
      expect(charged).toBe(sum);
      const report = (await p.claimNow())!;
      expect(report.paid).toBe(sum);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await restarted?.stop();
    }
  }, 90_000);
});

describe("livepay ticket", () => {
  async function cli(args: string[]): Promise<{ code: number; out: Record<string, unknown>; err: string }> {
    let stdout = "";
    let err = "";
    const code = await ticketCommand.run([...args, "--manifest", join(dir, "devnet.json"), "--json"], {
      stdout: (t) => void (stdout += t),
      stderr: (t) => void (err += t),
      readStdin: () => Promise.resolve(""),
    });
    return { code, out: stdout ? (JSON.parse(stdout) as Record<string, unknown>) : {}, err };
  }

  it("opens (deposit + reserve), shows, deposits, closes (unlock) and withdraws", async () => {
    await writeFile(join(dir, "devnet.json"), JSON.stringify(devnet.manifest));
    const who = ["--account", "user-1"];
    const opened = await cli(["open", "0.1eth", "--reserve", "0.2eth", ...who]);
    expect(opened.err).toBe("");
    expect(opened.code).toBe(0);
    expect(opened.out).toMatchObject({ deposit: String(ETH / 10n), reserve: String(ETH / 5n), epoch: "0" });
    expect((await cli(["deposit", "0.05eth", ...who])).out).toMatchObject({
      deposit: String((ETH * 15n) / 100n),
    });
    const shown = await cli(["show", "--payee", orch.address, ...who]);
    expect(BigInt(shown.out.allocation as string)).toBeGreaterThan(0n);
    const closed = await cli(["close", ...who]);
    expect(closed.out.withdrawRound).not.toBe("0");
    const early = await cli(["withdraw", ...who]);
    expect(early.code).not.toBe(0);
    for (let i = 0; i < devnet.manifest.params.unlockPeriod; i++) await devnet.nextRound();
    const done = await cli(["withdraw", ...who]);
    expect(done.out).toMatchObject({ deposit: "0", reserve: "0", epoch: "1", withdrawRound: "0" });
    expect((await cli(["nope", ...who])).code).toBe(2);
  }, 60_000);
});
