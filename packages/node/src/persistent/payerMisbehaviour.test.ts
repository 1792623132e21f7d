// A misbehaving payer leaves an honest orchestrator paid in full (DESIGN.md § Persistent tickets,
// "Payee admission rule"), and the claim triggers fire: real anvil, a real orchestrator with
// `persistent` enabled, paid by the SDK (or by hand-signed vouchers where the test needs a bad one).
//
// The devnet has a pool of 2 (poolMaxSize 2, two orchestrators), so A* = reserve ÷ 2, and the
// synthetic runner produces exactly max_tokens tokens: a request of 100 tokens charges exactly 100 P.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PersistentTicketBrokerAbi } from "@livepay/contracts";
import {
  LIVEPAY_PAYER_HEADER,
  LIVEPAY_TICKET_HEADER,
  LIVEPAY_VOUCHER_HEADER,
  encodeVoucherHeader,
  paymentRequiredFromJson,
  persistentDomain,
  quoteHash,
  signVoucher,
  toCompactSignature,
  voucherContext,
  type Delegation,
  type Hex,
  type PrivateKey,
  type VoucherEnvelope,
} from "@livepay/protocol";
import { createPayer, type Payer } from "@livepay/protocol/client";
import { pino } from "pino";
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  type Address,
  type Chain,
  type PublicClient,
  type Transport,
} from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevnet, type Devnet } from "../chain/devnet.js";
import { startOrchestrator, type OrchestratorHandle } from "../orchestrator/startOrchestrator.js";
import { PayeeBroker } from "./broker.js";
import { Claimer } from "./claimer.js";

const ETH = 10n ** 18n;
const P = 1_000_000_007n; // wei per token
const MODEL = "synthetic-llm";
const ZERO32: Hex = `0x${"0".repeat(64)}`;
const ZERO_ADDRESS: Hex = "0x0000000000000000000000000000000000000000";

let dir: string;
let devnet: Devnet;
let orch: OrchestratorHandle;
let client: PublicClient<Transport, Chain>;
let broker: Address;
let chainId: number;
let payee: Hex;
let claimer: Claimer;
const account = (name: string) => devnet.manifest.accounts.find((a) => a.name === name)!;
const who = (name: string) => ({
  key: account(name).privateKey! as PrivateKey,
  addr: account(name).address.toLowerCase() as Hex,
});

async function write(key: string | PrivateKey, functionName: string, args: unknown[], value = 0n) {
  const wallet = createWalletClient({
    account: privateKeyToAccount(key as Hex),
    transport: http(devnet.manifest.rpcUrl, { retryCount: 0 }),
    chain: client.chain,
  });
  const hash = await wallet.writeContract({
    address: broker,
    abi: PersistentTicketBrokerAbi,
    functionName,
    args,
    value,
  } as never);
  const r = await client.waitForTransactionReceipt({ hash, pollingInterval: 50 });
  expect(r.status).toBe("success");
  return r;
}

function read<T>(functionName: string, args: unknown[]): Promise<T> {
  return client.readContract({
    address: broker,
    abi: PersistentTicketBrokerAbi,
    functionName,
    args,
  } as never) as Promise<T>;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "livepay-payer-misbehaviour-"));
  devnet = await startDevnet({ orchestrators: 2, gateways: 7, poolMaxSize: 2n, blockTimeMs: 0 });
  broker = devnet.manifest.contracts.persistentTicketBroker!;
  chainId = devnet.manifest.chainId;
  const chain = defineChain({
    id: chainId,
    name: "devnet",
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [devnet.manifest.rpcUrl] } },
  });
  client = createPublicClient({ chain, transport: http(devnet.manifest.rpcUrl, { retryCount: 0 }) });
  orch = await startOrchestrator({
    privateKey: account("orchestrator-1").privateKey!,
    chain: { manifest: devnet.manifest, pollIntervalMs: 100 },
    store: { path: join(dir, "orchestrator.db") },
    grpcPort: 0,
    httpPort: 0,
    logLevel: "silent",
    redemption: { enabled: false },
    models: [
      { pipeline: "llm", model_id: MODEL, runner: "synthetic", price_per_unit: P.toString(), capacity: 16 },
    ],
    persistent: { enabled: true, store: join(dir, "persistent.db"), claimPollMs: 0 },
  });
  payee = orch.address.toLowerCase() as Hex;
  claimer = orch.persistent!.claimer;
}, 60_000);

afterAll(async () => {
  await orch?.stop();
  await devnet?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const body = (max_tokens: number, extra: Record<string, unknown> = {}) => ({
  model: MODEL,
  messages: [{ role: "user", content: "tell me something" }],
  max_tokens,
  ...extra,
});

/** One chat request through the SDK's fetch (JSON body consumed). */
async function chat(payer: Payer, max_tokens: number): Promise<Response> {
  const r = await payer.fetch(`${orch.httpUrl}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body(max_tokens)),
  });
  await r.text();
  return r;
}

async function refusal(p: Promise<unknown>): Promise<{ code: string; details: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    return e as { code: string; details: Record<string, unknown> };
  }
  throw new Error("expected a refusal");
}

/** The 402 quote for a request (optionally on a given ticket). */
async function quoteFor(payer: Hex, b: object, ticket?: bigint) {
  const r = await fetch(`${orch.httpUrl}/v1/chat/completions`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      [LIVEPAY_PAYER_HEADER]: payer,
      ...(ticket !== undefined ? { [LIVEPAY_TICKET_HEADER]: ticket.toString() } : {}),
    },
    body: JSON.stringify(b),
  });
  expect(r.status).toBe(402);
  return paymentRequiredFromJson(await r.json());
}

/** Signs a voucher for a quote by hand (any key, any cumulative). */
function voucherFor(
  pr: Awaited<ReturnType<typeof quoteFor>>,
  payer: Hex,
  key: PrivateKey,
  cumulativeAmount: bigint,
  delegation?: Delegation,
): VoucherEnvelope {
  const domain = persistentDomain(chainId, broker);
  const q = pr.quote.quote;
  const voucher = {
    payer,
    payee,
    ticketId: q.ticketId,
    epoch: pr.ticket.epoch,
    cumulativeAmount,
    context: voucherContext(quoteHash(domain, q), pr.ticket.lastReceiptHash),
  };
  return {
    quoteId: q.quoteId,
    voucher,
    signature: signVoucher(domain, voucher, key).signature,
    ...(delegation ? { delegation } : {}),
  };
}

async function pay(payer: Hex, b: object, env: VoucherEnvelope): Promise<Response> {
  return fetch(`${orch.httpUrl}/v1/chat/completions`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      [LIVEPAY_PAYER_HEADER]: payer,
      [LIVEPAY_VOUCHER_HEADER]: encodeVoucherHeader(env),
    },
    body: JSON.stringify(b),
  });
}
const codeOf = async (r: Response) => ((await r.json()) as { error: { code: string } }).error.code;

/** Sum of the receipts a payer verified with this payee. */
async function receiptsTotal(payer: Payer): Promise<bigint> {
  let sum = 0n;
  for (const t of await payer.tickets())
    for (const r of await payer.receipts(payee, t.state.ticketId)) sum += r.signed.receipt.charge;
  return sum;
}

/** What the broker has paid this payee on all of a payer's tickets in epoch 0. */
async function claimedOnChain(payer: Hex): Promise<bigint> {
  let sum = 0n;
  for (const t of orch.persistent!.store.tickets(payer, 0n))
    sum += await read<bigint>("claimed", [payer, payee, 0n, t.state.ticketId]);
  return sum;
}

async function until<T>(f: () => T | undefined, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("a misbehaving payer leaves an honest orchestrator paid in full", () => {
  it("(a) unlock then withdraw: the payee notices the Unlock, claims before the deadline; the payer gets only the rest", async () => {
    await devnet.nextRound(); // start of a round: the test's transactions stay inside it
    const { key, addr } = who("gateway-1");
    const DEPOSIT = ETH / 10n;
    const RESERVE = ETH;
    await write(key, "fundDepositAndReserve", [DEPOSIT, RESERVE], DEPOSIT + RESERVE);
    const payer = createPayer({ privateKey: key, chainId, broker });
    for (const n of [30, 70, 12, 100, 45]) expect((await chat(payer, n)).status).toBe(200);
    const owed = await receiptsTotal(payer);
    expect(owed).toBe(257n * P);

    const unlock = await write(key, "unlock", []);
    const [, , withdrawRound] = await read<readonly [bigint, bigint, bigint, bigint]>("getPayerInfo", [addr]);
    const roundLength = BigInt(devnet.manifest.params.roundLength);
    const deadline = withdrawRound * roundLength - 1n; // last block of round withdrawRound − 1
    // No new work once unlocking.
    const refused = await refusal(chat(payer, 10));
    expect(refused.details.status).toBe(402);
    expect(refused.details.reason).toBe("payer_unlocking");
    // Withdrawing early is impossible (the contract's lock).
    await expect(write(key, "withdraw", [])).rejects.toThrow();

    // The payee's periodic check notices the unlock and claims at once.
    claimer.start(100);
    const report = await until(() => claimer.reports.find((r) => r.trigger === "unlock"), 10_000);
    claimer.start(0);
    const tx = await client.getTransactionReceipt({ hash: report.hash });
    expect(tx.blockNumber).toBeGreaterThan(unlock.blockNumber);
    expect(tx.blockNumber).toBeLessThanOrEqual(deadline);
    expect(report.deadline).toBe(deadline);
    expect(report.outcomes.filter((o) => o.payer === addr).reduce((a, o) => a + o.paid, 0n)).toBe(owed);
    expect(await claimedOnChain(addr)).toBe(owed);

    // After the unlock period the payer's withdraw returns only the rest.
    while ((await devnet.nextRound()) < withdrawRound);
    const before = await client.getBalance({ address: addr });
    const w = await write(key, "withdraw", []);
    const after = await client.getBalance({ address: addr });
    expect(after - before + w.gasUsed * w.effectiveGasPrice).toBe(DEPOSIT + RESERVE - owed);
    // Nothing more to claim (epoch 1 now: old vouchers are dead, and none were left unpaid).
    expect(await claimer.check()).toEqual({});
  }, 60_000);

  it("(b) exposure beyond the reserve allocation: refused with insufficient_reserve; everything served is paid, even beyond the deposit", async () => {
    const { key, addr } = who("gateway-2");
    const DEPOSIT = 50n * P; // less than what will be charged: the reserve allocation pays the rest
    const RESERVE = 500n * P; // A* = 250 P
    await write(key, "fundDepositAndReserve", [DEPOSIT, RESERVE], DEPOSIT + RESERVE);
    expect(await read<bigint>("claimableReserve", [addr, payee])).toBe(250n * P);
    claimer.triggers.exposure = false; // admission alone is under test here
    try {
      const payer = createPayer({ privateKey: key, chainId, broker });
      expect((await chat(payer, 100)).status).toBe(200); // E + m = 100 P ≤ 250 P
      expect((await chat(payer, 100)).status).toBe(200); // 200 P ≤ 250 P
      expect(orch.persistent!.payee.exposure(addr, 0n)).toBe(200n * P);
      const e = await refusal(chat(payer, 100)); // 300 P > 250 P
      expect(e.details.status).toBe(402);
      expect(e.details.reason).toBe("insufficient_reserve");
      // The refused request did no work and charged nothing.
      expect(orch.persistent!.payee.exposure(addr, 0n)).toBe(200n * P);
      const q = await quoteFor(addr, body(100));
      const raw = await pay(
        addr,
        body(100),
        voucherFor(q, addr, key, q.ticket.cumulativeCharged + q.quote.quote.maxCharge),
      );
      expect(raw.status).toBe(402);
      const rb = (await raw.json()) as { error: { code: string }; reserve: Record<string, string> };
      expect(rb.error.code).toBe("insufficient_reserve");
      expect(rb.reserve).toMatchObject({ allocation: String(250n * P), exposure: String(200n * P) });
      expect(BigInt(rb.reserve.needed!)).toBe(2n * 300n * P); // R ≥ pool × (E + m)

      const owed = await receiptsTotal(payer);
      expect(owed).toBe(200n * P);
      const report = (await claimer.claimNow())!;
      // 50 P from the deposit, 150 P from the reserve allocation.
      expect(report.outcomes.filter((o) => o.payer === addr).reduce((a, o) => a + o.paid, 0n)).toBe(owed);
      expect(await claimedOnChain(addr)).toBe(owed);
      const [deposit] = await read<readonly [bigint, bigint, bigint, bigint]>("getPayerInfo", [addr]);
      expect(deposit).toBe(0n);
      // Claimed: E is back to 0 and the payer can buy again (within what is left of A*).
      expect(orch.persistent!.payee.exposure(addr, 0n)).toBe(0n);
      expect((await chat(payer, 50)).status).toBe(200);
    } finally {
      claimer.triggers.exposure = true;
    }
  }, 60_000);

  it("(c) revoked session key: what it signed before the revocation takes effect is claimed in full; then it is refused", async () => {
    await devnet.nextRound();
    const { key, addr } = who("gateway-3");
    await write(key, "fundDepositAndReserve", [ETH / 10n, ETH], ETH / 10n + ETH);
    const sessionHex = generatePrivateKey();
    const sessionKey = sessionHex as PrivateKey;
    const session = privateKeyToAccount(sessionHex).address.toLowerCase() as Hex;
    const delegation: Delegation = {
      payer: addr,
      key: session,
      payee: ZERO_ADDRESS,
      cap: ETH / 100n,
      validUntilRound: 2n ** 32n - 1n,
      epoch: 0n,
    };
    await write(key, "registerDelegation", [
      session,
      ZERO_ADDRESS,
      delegation.cap,
      delegation.validUntilRound,
    ]);
    const payer = createPayer({ sessionKey, delegation, chainId, broker });
    for (const n of [20, 40, 60]) expect((await chat(payer, n)).status).toBe(200);

    const revoke = await write(key, "revokeDelegation", [session]);
    const revokeRound = BigInt(
      (await read<{ revokeRound: number | bigint }>("getDelegation", [addr, session])).revokeRound,
    );
    const round = revoke.blockNumber / BigInt(devnet.manifest.params.roundLength);
    expect(revokeRound).toBe(round + BigInt(devnet.manifest.params.unlockPeriod));
    // Still before the revocation takes effect (and more than a round away): admitted.
    expect((await chat(payer, 30)).status).toBe(200);
    const owed = await receiptsTotal(payer);
    expect(owed).toBe(150n * P);

    // The payee sees the revocation and claims everything the key signed, before its deadline.
    const { trigger, report } = await claimer.check();
    expect(trigger).toBe("revocation");
    const deadline = revokeRound * BigInt(devnet.manifest.params.roundLength) - 1n;
    expect(report!.deadline).toBe(deadline);
    const tx = await client.getTransactionReceipt({ hash: report!.hash });
    expect(tx.blockNumber).toBeLessThanOrEqual(deadline);
    expect(report!.outcomes.filter((o) => o.payer === addr).reduce((a, o) => a + o.paid, 0n)).toBe(owed);
    expect(await claimedOnChain(addr)).toBe(owed);

    // A round before it takes effect the payee stops admitting the key; once effective, too.
    const tryKey = async () => {
      const q = await quoteFor(addr, body(10), 0n);
      const env = voucherFor(
        q,
        addr,
        sessionKey,
        q.ticket.cumulativeCharged + q.quote.quote.maxCharge,
        delegation,
      );
      return pay(addr, body(10), env);
    };
    while ((await devnet.nextRound()) < revokeRound - 1n);
    let r = await tryKey();
    expect(r.status).toBe(402);
    expect(await codeOf(r)).toBe("VOUCHER_SIGNER_NOT_AUTHORIZED");
    await devnet.nextRound();
    expect((await read<{ usable: boolean }>("getDelegation", [addr, session])).usable).toBe(false);
    r = await tryKey();
    expect(r.status).toBe(402);
    expect(await codeOf(r)).toBe("VOUCHER_SIGNER_NOT_AUTHORIZED");
    expect(await claimedOnChain(addr)).toBe(owed);
  }, 60_000);

  it("(d) credit on a ticket cannot be spent without a payer signature", async () => {
    const { key, addr } = who("gateway-4");
    await write(key, "fundDepositAndReserve", [ETH / 10n, ETH], ETH / 10n + ETH);
    // One request that stops early: the ticket's signed cumulative exceeds what was charged.
    const long = body(100, { stop: ["e"] });
    const q1 = await quoteFor(addr, long);
    const v1 = voucherFor(q1, addr, key, q1.quote.quote.maxCharge);
    expect((await pay(addr, long, v1)).status).toBe(200);
    const row = orch.persistent!.store.ticket(addr, 0n, q1.quote.quote.ticketId)!;
    const credit = row.state.signedCumulative - row.state.cumulativeCharged;
    expect(credit).toBeGreaterThan(2n * P);

    // A small request the credit covers: without a voucher it gets a 402 (a quote), no work.
    const small = body(2);
    const q2 = await quoteFor(addr, small, q1.quote.quote.ticketId);
    expect(q2.quote.quote.maxCharge).toBeLessThanOrEqual(credit);
    expect(q2.ticket.signedCumulative).toBeGreaterThan(
      q2.ticket.cumulativeCharged + q2.quote.quote.maxCharge - 1n,
    );
    // The old voucher replayed onto it: refused (its context names another quote).
    const replay = await pay(addr, small, { ...v1, quoteId: q2.quote.quote.quoteId });
    expect(replay.status).toBe(402);
    expect(await codeOf(replay)).toBe("VOUCHER_CONTEXT_MISMATCH");
    // A larger request with a fresh voucher that only repeats the signed cumulative: refused.
    const q3 = await quoteFor(addr, body(100), q1.quote.quote.ticketId);
    const short = await pay(addr, body(100), voucherFor(q3, addr, key, row.state.signedCumulative));
    expect(short.status).toBe(402);
    expect(await codeOf(short)).toBe("VOUCHER_INSUFFICIENT");
    // Nothing was served or charged by any of these.
    const after = orch.persistent!.store.ticket(addr, 0n, q1.quote.quote.ticketId)!;
    expect(after.state.seq).toBe(row.state.seq);
    expect(after.state.cumulativeCharged).toBe(row.state.cumulativeCharged);
    // With a payer signature (same cumulative, this quote's context) the credit pays for it.
    const q4 = await quoteFor(addr, small, q1.quote.quote.ticketId);
    const ok = await pay(addr, small, voucherFor(q4, addr, key, row.state.signedCumulative));
    expect(ok.status).toBe(200);
    expect(orch.persistent!.store.ticket(addr, 0n, q1.quote.quote.ticketId)!.state.seq).toBe(
      row.state.seq + 1n,
    );
  }, 30_000);
});

describe("claim triggers", () => {
  it("exposure ≥ A* ÷ 2 claims", async () => {
    const { key, addr } = who("gateway-5");
    await write(key, "fundDepositAndReserve", [ETH / 10n, 600n * P], ETH / 10n + 600n * P); // A* = 300 P
    const payer = createPayer({ privateKey: key, chainId, broker });
    const n = claimer.reports.length;
    expect((await chat(payer, 100)).status).toBe(200); // E + m = 100 P < 150 P
    await new Promise((r) => setTimeout(r, 300));
    expect(claimer.reports.length).toBe(n);
    expect((await chat(payer, 100)).status).toBe(200); // E + m = 200 P ≥ 150 P: claim
    const report = await until(() => claimer.reports.slice(n).find((r) => r.trigger === "exposure"), 10_000);
    expect(
      report.outcomes.filter((o) => o.payer === addr).reduce((a, o) => a + o.paid, 0n),
    ).toBeGreaterThanOrEqual(100n * P);
    await claimer.claimNow();
    expect(await claimedOnChain(addr)).toBe(200n * P);
  }, 30_000);

  it("a round start with E > A* claims", async () => {
    await devnet.nextRound();
    const { key, addr } = who("gateway-6");
    await write(key, "fundReserve", [], 1000n * P); // no deposit: A* = 500 P
    claimer.triggers.exposure = false;
    claimer.triggers.gas = false;
    try {
      const payer = createPayer({ privateKey: key, chainId, broker });
      for (let i = 0; i < 4; i++) expect((await chat(payer, 100)).status).toBe(200);
      expect(orch.persistent!.payee.exposure(addr, 0n)).toBe(400n * P); // ≤ A*: nothing to do
      expect(await claimer.check()).toEqual({});
      // Another payee claims its own allocation from this payer's reserve: from the next round on,
      // A* = (1000 − 500) ÷ 2 = 250 P < E.
      const o2 = who("orchestrator-2");
      const domain = persistentDomain(chainId, broker);
      const voucher = {
        payer: addr,
        payee: o2.addr,
        ticketId: 0n,
        epoch: 0n,
        cumulativeAmount: 500n * P,
        context: ZERO32,
      };
      const { r, vs } = toCompactSignature(signVoucher(domain, voucher, key).signature);
      await write(o2.key, "claimBatch", [
        o2.addr,
        [
          {
            payer: addr,
            epoch: 0n,
            vouchers: [
              {
                ticketId: 0n,
                cumulativeAmount: 500n * P,
                newClaimed: 500n * P,
                context: ZERO32,
                r,
                vs,
                receiptsRoot: ZERO32,
              },
            ],
          },
        ],
      ]);
      expect(await claimer.check()).toEqual({}); // same round: A* unchanged for this payee
      await devnet.nextRound();
      expect(await read<bigint>("claimableReserve", [addr, payee])).toBe(250n * P);
      const { trigger, report } = await claimer.check();
      expect(trigger).toBe("round");
      // Paid what the allocation allows; the shortfall stays claimable.
      expect(report!.outcomes.filter((o) => o.payer === addr).reduce((a, o) => a + o.paid, 0n)).toBe(
        250n * P,
      );
      expect(await claimedOnChain(addr)).toBe(250n * P);
    } finally {
      claimer.triggers.exposure = true;
      claimer.triggers.gas = true;
    }
  }, 60_000);

  it("leaving the active set: admission stops and the payee claims at once", async () => {
    const { key, addr } = who("gateway-7");
    await write(key, "fundDepositAndReserve", [ETH / 10n, ETH], ETH / 10n + ETH);
    const payer = createPayer({ privateKey: key, chainId, broker });
    expect((await chat(payer, 10)).status).toBe(200);
    orch.persistent!.payee.prepareDeactivation();
    try {
      const e = await refusal(chat(payer, 10));
      expect(e.details.reason).toBe("payee_inactive");
      const { trigger } = await claimer.check();
      expect(trigger).toBe("deactivation");
      expect(await claimedOnChain(addr)).toBe(10n * P);
    } finally {
      orch.persistent!.payee.resumeAdmission();
    }
  }, 30_000);

  it("claims from a separate claim key (the payee's redeemer): the orchestrator's account sends nothing", async () => {
    const claimHex = generatePrivateKey();
    const claimAddr = privateKeyToAccount(claimHex).address;
    const funder = createWalletClient({
      account: privateKeyToAccount(who("gateway-1").key as Hex),
      transport: http(devnet.manifest.rpcUrl, { retryCount: 0 }),
      chain: client.chain,
    });
    await client.waitForTransactionReceipt({
      hash: await funder.sendTransaction({ to: claimAddr, value: ETH }),
      pollingInterval: 50,
    });
    const pb = new PayeeBroker({
      publicClient: client,
      broker,
      privateKey: account("orchestrator-1").privateKey! as Hex,
      claimKey: claimHex,
      rpcUrl: devnet.manifest.rpcUrl,
    });
    expect(await pb.ensureRedeemer()).toBe(true);
    expect(await pb.ensureRedeemer()).toBe(false);
    const c2 = new Claimer({
      store: orch.persistent!.store,
      broker: pb,
      payee: orch.persistent!.payee,
      domain: persistentDomain(chainId, broker),
      logger: pino({ level: "silent" }),
      pollIntervalMs: 0,
    });
    const { key, addr } = who("gateway-7");
    const payer = createPayer({ privateKey: key, chainId, broker });
    expect((await chat(payer, 20)).status).toBe(200);
    const nonce = await client.getTransactionCount({ address: orch.address });
    const before = await client.getBalance({ address: orch.address });
    const report = (await c2.claimNow())!;
    const tx = await client.getTransaction({ hash: report.hash });
    expect(tx.from.toLowerCase()).toBe(claimAddr.toLowerCase());
    expect(await client.getTransactionCount({ address: orch.address })).toBe(nonce);
    // Paid to the payee, gas paid by the redeemer: the payee's balance grows by exactly what was paid.
    expect((await client.getBalance({ address: orch.address })) - before).toBe(report.paid);
    expect(report.outcomes.filter((o) => o.payer === addr).reduce((a, o) => a + o.paid, 0n)).toBe(20n * P);
    expect(await claimedOnChain(addr)).toBe(30n * P);
  }, 30_000);
});
