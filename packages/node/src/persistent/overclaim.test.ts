// A dishonest payee claims beyond its receipts on a real devnet (anvil) against a real orchestrator
// with `persistent` enabled: the payer SDK's `auditClaims` detects it from the receipt chain, the
// loss stays within the README bound (one request's maxCharge per ticket), and the payee is blocked.
import { PersistentTicketBrokerAbi } from "@livepay/contracts";
import { toCompactSignature, type Hex, type PrivateKey } from "@livepay/protocol";
import {
  PolicyError,
  auditClaims,
  createPayer,
  memoryStorage,
  voucherRecordFromJson,
  type ClaimedReader,
  type Payer,
  type PayerStorage,
} from "@livepay/protocol/client";
import OpenAI from "openai";
import type { Address, PublicClient } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OrchestratorHandle } from "../orchestrator/startOrchestrator.js";
import { startPersistentNet, type PersistentNet } from "./testing/persistentNet.js";

const ETH = 10n ** 18n;
const PRICE = 1_000_000_007n; // wei per token
const MODEL = "synthetic-llm";
const DEPOSIT = ETH / 10n;
const RESERVE = ETH;

let net: PersistentNet;
let orch: OrchestratorHandle;
let client: PublicClient;
let broker: Address;
let chainId: number;
const account = (name: string) => net.account(name);
const send = (key: string, functionName: string, args: unknown[], value = 0n) =>
  net.send(key, functionName, args, value);

beforeAll(async () => {
  net = await startPersistentNet({
    name: "overclaim",
    gateways: 2,
    models: [
      {
        pipeline: "llm",
        model_id: MODEL,
        runner: "synthetic",
        price_per_unit: PRICE.toString(),
        capacity: 4,
      },
    ],
  });
  ({ orch, client, broker, chainId } = net);
}, 60_000);

afterAll(async () => {
  await net?.stop();
});

/** A funded payer with its own storage (the test reads the vouchers it signed from there). */
async function fundedPayer(
  name: string,
): Promise<{ payer: Payer; storage: PayerStorage; read: ClaimedReader }> {
  const key = account(name).privateKey!;
  await send(key, "fundDepositAndReserve", [DEPOSIT, RESERVE], DEPOSIT + RESERVE);
  const storage = memoryStorage();
  const payer = createPayer({ privateKey: key as PrivateKey, chainId, broker, storage });
  // The doc example of auditClaims: the broker's claimed(payer, payee, epoch, ticketId) through viem.
  const read: ClaimedReader = (payee, epoch, ticketId) =>
    client.readContract({
      address: broker,
      abi: PersistentTicketBrokerAbi,
      functionName: "claimed",
      args: [payer.address, payee, epoch, ticketId],
    } as never) as Promise<bigint>;
  return { payer, storage, read };
}

/** Serves `n` chat completions honestly; each stops early, so it costs less than its quote's maximum. */
async function serve(payer: Payer, n: number): Promise<void> {
  const openai = new OpenAI({
    apiKey: "-",
    baseURL: `${orch.httpUrl}/v1`,
    fetch: payer.fetch,
    maxRetries: 0,
  });
  for (let i = 0; i < n; i++) {
    const r = await openai.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: `request ${i}: tell me something` }],
      max_tokens: 40,
      stop: ["e"],
    });
    expect(typeof r.choices[0]?.message.content).toBe("string");
  }
}

describe("auditClaims against the on-chain claims of a real orchestrator", () => {
  it("an honest payee's claims audit clean", async () => {
    const { payer, read } = await fundedPayer("gateway-2");
    await serve(payer, 3);
    const before = await auditClaims(payer, read); // nothing claimed yet
    expect(before.findings).toHaveLength(0);
    expect(before.tickets.every((t) => t.claimed === 0n && t.excess === 0n)).toBe(true);

    const report = await orch.persistent!.claimNow();
    expect(report?.paid).toBeGreaterThan(0n);
    const after = await auditClaims(payer, read);
    expect(after.findings).toHaveLength(0);
    expect(after.tickets.length).toBeGreaterThan(0);
    for (const t of after.tickets) {
      expect(t.claimed).toBe(t.justified);
      expect(t.excess).toBe(0n);
      expect(t.withinBound).toBe(true);
    }
    expect(after.tickets.reduce((a, t) => a + t.claimed, 0n)).toBe(report!.paid);
    expect(await payer.blockedPayees()).toEqual({});
  }, 60_000);

  it("a claim beyond the receipts is detected, bounded by one maxCharge, and blocks the payee", async () => {
    const { payer, storage, read } = await fundedPayer("gateway-1");
    const payee = orch.address.toLowerCase() as Hex;
    await serve(payer, 3);
    expect((await auditClaims(payer, read)).findings).toHaveLength(0);

    // The dishonest payee holds the payer's highest voucher and claims all of it, receipts or not.
    const vouchers = (await storage.list("voucher/")).map(([, v]) => voucherRecordFromJson(v));
    const top = vouchers.reduce((a, b) => (b.voucher.cumulativeAmount > a.voucher.cumulativeAmount ? b : a));
    const quoteId = top.quoteId;
    const quote = (await storage.get(`quote/${quoteId}`)) as { signed: { quote: { maxCharge: string } } };
    const maxCharge = BigInt(quote.signed.quote.maxCharge);
    const { r, vs } = toCompactSignature(top.signature);
    await send(account("orchestrator-1").privateKey!, "claim", [
      payee,
      payer.address,
      top.voucher.epoch,
      {
        ticketId: top.voucher.ticketId,
        cumulativeAmount: top.voucher.cumulativeAmount,
        newClaimed: top.voucher.cumulativeAmount,
        context: top.voucher.context,
        r,
        vs,
        receiptsRoot: `0x${"00".repeat(32)}`,
      },
    ]);

    const { tickets, findings } = await auditClaims(payer, read);
    expect(findings).toHaveLength(1);
    const f = findings[0]!;
    expect(f.code).toBe("CLAIM_EXCEEDS_RECEIPTS");
    const t = f.audit;
    expect(t.ticketId).toBe(top.voucher.ticketId);
    expect(t.claimed).toBe(top.voucher.cumulativeAmount);
    expect(t.signed).toBe(top.voucher.cumulativeAmount);
    expect(t.excess).toBe(t.claimed - t.justified);
    // The README bound: the loss is positive but at most one request's maxCharge beyond the receipts.
    expect(t.excess).toBeGreaterThan(0n);
    expect(t.excess).toBeLessThanOrEqual(maxCharge);
    expect(t.withinBound).toBe(true);
    expect(tickets.filter((x) => x.excess > 0n)).toHaveLength(1);

    // The payee is blocked as after a receipt violation: the next quote from it is refused unsigned.
    expect(await payer.blockedPayees()).toEqual({ [payee]: "CLAIM_EXCEEDS_RECEIPTS" });
    const signedBefore = (await storage.list("voucher/")).length;
    const err = await payer
      .fetch(`${orch.httpUrl}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "hi" }], max_tokens: 8 }),
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyError);
    expect((err as PolicyError).code).toBe("POLICY_PAYEE_BLOCKED");
    expect((await storage.list("voucher/")).length).toBe(signedBefore);
  }, 60_000);
});
