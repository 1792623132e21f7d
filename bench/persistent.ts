// Persistent tickets: payment work per request on each side, and on-chain gas per request for a
// 1,000-request LLM workload, persistent tickets vs one Livepeer ticket batch per request.
//
// Setup: a devnet (real anvil), one orchestrator with persistent tickets on (synthetic LLM runner,
// redemption off), and a payer: `createPayer(...).fetch` plugged into the `openai` package, calling
// the orchestrator directly (no gateway). Every request of the run is recorded on the wire (the 402
// quote, the voucher header, the receipt header) and the payment work is then timed by re-running
// the protocol functions each side runs on those exact messages:
//   client:       checkQuote + voucherContext + signVoucher + applyVoucher + checkReceipt
//   orchestrator: hashAndSignQuote + acceptVoucher + buildReceipt + hashAndSignReceipt + applyReceipt
// (the replayed receipt hash must equal the orchestrator's real one: the replay is the same work).
// Also timed during the run itself: the SDK's whole in-process time inside `payer.fetch` outside
// the network (the base fetch, bodies downloaded in it), and the orchestrator's durable commits
// (voucher before work, receipt after), reported apart.
//
// Gas: the claim is real (one claimBatch sent by the orchestrator, gasUsed from its receipt on
// anvil). The per-request-ticket baseline uses the orchestrator's real ticket params for the same
// run (GetOrchestrator: face value, win probability), the spec's staging rule on each request's
// actual fee, and redeemWinningTicket gas measured by `measureGas()` on a fresh anvil in this run.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { measureGas, PersistentTicketBrokerAbi } from "@livepay/contracts";
import {
  jobCapabilities,
  OrchestratorRpc,
  startDevnet,
  startOrchestrator,
  type OrchestratorHandle,
} from "@livepay/node";
import {
  acceptVoucher,
  applyReceipt,
  applyVoucher,
  buildReceipt,
  checkQuote,
  checkReceipt,
  decodeReceiptHeader,
  decodeVoucherHeader,
  hashAndSignQuote,
  hashAndSignReceipt,
  LIVEPAY_RECEIPT_HEADER,
  LIVEPAY_VOUCHER_HEADER,
  openTicket,
  paymentRequiredFromJson,
  persistentDomain,
  personalHash,
  recoverDigestSigner,
  signDigest,
  utf8,
  receiptHash,
  signVoucher,
  voucherContext,
  type Hex,
  type PaymentRequired,
  type PrivateKey,
  type SignedReceipt,
  type TicketState,
  type VoucherEnvelope,
} from "@livepay/protocol";
import { createPayer, memoryStorage } from "@livepay/protocol/client";
import OpenAI from "openai";
import { createPublicClient, createWalletClient, http, type Address, type TransactionReceipt } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { percentile } from "./stats.js";

const ETH = 10n ** 18n;
const MODEL = "synthetic-llm";
const PRICE = 1_000_000_000n; // 1 gwei per completion token, as bench/node.ts
const DEPOSIT = ETH / 10n;
const RESERVE = ETH;
const TWO_256 = 2n ** 256n;

export interface StepFigures {
  n: number;
  p50: number;
  p99: number;
}

export interface PersistentBench {
  requests: number;
  wallMs: number;
  /** Replayed protocol work per request (ms). */
  client: StepFigures;
  orchestrator: StepFigures;
  /** The SDK's in-process time in payer.fetch outside the base fetch (ms). */
  sdkWall: StepFigures;
  /** Yardstick: one bare secp256k1 recover, timed after each client replay sample. */
  recover: StepFigures;
  /** Durable store commits on the orchestrator (ms): voucher before work, receipt after. */
  commitVoucher: StepFigures;
  commitReceipt: StepFigures;
  ticketsUsed: number;
  totalCharged: bigint;
  claim: { txs: number; gas: bigint; entries: number };
  fundGas: bigint;
  unlockGas: bigint;
  withdrawGas: bigint;
  perRequest: {
    faceValue: bigint;
    winProb: bigint;
    ev: bigint;
    tickets: bigint;
    redeemGas: number;
    expectedGasPerRequest: number;
    worstGasPerRequest: number;
  };
}

function step(samplesMs: number[]): StepFigures {
  if (samplesMs.length === 0) return { n: 0, p50: NaN, p99: NaN };
  return { n: samplesMs.length, p50: percentile(samplesMs, 50), p99: percentile(samplesMs, 99) };
}

/** One request as seen on the wire. */
interface Exchange {
  pr: PaymentRequired;
  body: unknown;
  envelope: VoucherEnvelope;
  receipt: SignedReceipt;
  atSeconds: bigint;
  /** False for warm-up requests: replayed (to keep the ticket states right) but not counted. */
  measured: boolean;
}

/** Instance-level timing wrapper (the bench's own probe; the store is not modified). */
function timeMethod<T extends object>(obj: T, name: keyof T & string, out: number[]): void {
  const orig = (obj[name] as (...a: unknown[]) => unknown).bind(obj);
  (obj as Record<string, unknown>)[name] = (...a: unknown[]) => {
    const t0 = performance.now();
    try {
      return orig(...a);
    } finally {
      out.push(performance.now() - t0);
    }
  };
}

/**
 * Runs the persistent-ticket benchmark: `requests` LLM requests (varied max_tokens) paid by the SDK.
 * @example const r = await benchPersistent(); console.log(Number(r.claim.gas) / r.requests)
 */
export async function benchPersistent(requests = 1000): Promise<PersistentBench> {
  const dir = await mkdtemp(join(tmpdir(), "livepay-bench-persistent-"));
  const stops: (() => Promise<unknown>)[] = [];
  try {
    // gateway-1 also funds the TicketBroker, so GetOrchestrator quotes it real per-request ticket params.
    const devnet = await startDevnet({
      orchestrators: 1,
      gateways: 1,
      gatewayDeposit: ETH,
      gatewayReserve: ETH,
      blockTimeMs: 0,
    });
    stops.push(() => devnet.stop());
    await devnet.nextRound();
    const account = (name: string) => devnet.manifest.accounts.find((a) => a.name === name)!;
    const broker = devnet.manifest.contracts.persistentTicketBroker! as Address;
    const chainId = devnet.manifest.chainId;
    const orchKey = account("orchestrator-1").privateKey! as PrivateKey;
    const orch: OrchestratorHandle = await startOrchestrator({
      privateKey: orchKey,
      chain: { manifest: devnet.manifest, pollIntervalMs: 100 },
      store: { path: join(dir, "orchestrator.db") },
      grpcPort: 0,
      httpPort: 0,
      logLevel: "silent",
      redemption: { enabled: false },
      models: [
        {
          pipeline: "llm",
          model_id: MODEL,
          runner: "synthetic",
          price_per_unit: PRICE.toString(),
          capacity: 16,
        },
      ],
      persistent: { enabled: true, store: join(dir, "persistent.db"), claimPollMs: 0 },
    });
    stops.unshift(() => orch.stop());
    const pst = orch.persistent!;

    const client = createPublicClient({ transport: http(devnet.manifest.rpcUrl, { retryCount: 0 }) });
    const payerKey = account("gateway-1").privateKey! as PrivateKey;
    const payerAddr = account("gateway-1").address.toLowerCase() as Hex;
    const wallet = createWalletClient({
      account: privateKeyToAccount(payerKey as `0x${string}`),
      transport: http(devnet.manifest.rpcUrl, { retryCount: 0 }),
    });
    const sendPayer = async (functionName: string, args: unknown[], value = 0n) => {
      const hash = await wallet.writeContract({
        address: broker,
        abi: PersistentTicketBrokerAbi,
        functionName,
        args,
        value,
        chain: null,
      } as never);
      const r = await client.waitForTransactionReceipt({ hash, pollingInterval: 20 });
      if (r.status !== "success") throw new Error(`bench: ${functionName} reverted`);
      return r.gasUsed;
    };
    const fundGas = await sendPayer("fundDepositAndReserve", [DEPOSIT, RESERVE], DEPOSIT + RESERVE);

    // The orchestrator's real per-request ticket params for this payer and model.
    const rpc = new OrchestratorRpc({ sender: payerAddr, privateKey: payerKey });
    const info = await rpc.getOrchestrator(orch.grpcUrl, jobCapabilities("llm", MODEL));
    rpc.close();
    const tp = info.ticketParams!;

    // Wire recorder and SDK wall-time probe: the base fetch downloads each body before returning,
    // so the time outside it in payer.fetch is the SDK's own in-process work.
    const exchanges: Exchange[] = [];
    let pendingPr: PaymentRequired | undefined;
    let pendingBody: unknown;
    let inBase = 0;
    let recording = false;
    const base: typeof fetch = async (input, init) => {
      const t0 = performance.now();
      const res = await fetch(input, init);
      const bytes = new Uint8Array(await res.arrayBuffer());
      const out = new Response(res.status === 204 ? null : bytes, {
        status: res.status,
        statusText: res.statusText,
        headers: res.headers,
      });
      inBase += performance.now() - t0;
      {
        const sent = new Headers(init?.headers).get(LIVEPAY_VOUCHER_HEADER);
        const rh = res.headers.get(LIVEPAY_RECEIPT_HEADER);
        if (res.status === 402) {
          pendingPr = paymentRequiredFromJson(JSON.parse(new TextDecoder().decode(bytes)));
          pendingBody = JSON.parse(typeof init?.body === "string" ? init.body : "null");
        } else if (sent && rh && pendingPr) {
          exchanges.push({
            pr: pendingPr,
            body: pendingBody,
            envelope: decodeVoucherHeader(sent),
            receipt: decodeReceiptHeader(rh),
            atSeconds: BigInt(Math.floor(Date.now() / 1000)),
            measured: recording,
          });
          pendingPr = undefined;
        }
      }
      return out;
    };
    const payer = createPayer({
      privateKey: payerKey,
      chainId,
      broker,
      fetch: base,
      storage: memoryStorage(),
    });
    const sdkWall: number[] = [];
    const timedFetch: typeof fetch = async (input, init) => {
      inBase = 0;
      const t0 = performance.now();
      const res = await payer.fetch(input, init);
      const total = performance.now() - t0;
      if (recording) sdkWall.push(total - inBase);
      return res;
    };
    const openai = new OpenAI({
      apiKey: "-",
      baseURL: `${orch.httpUrl}/v1`,
      fetch: timedFetch,
      maxRetries: 0,
    });

    const commitVoucher: number[] = [];
    const commitReceipt: number[] = [];
    const call = (i: number) =>
      openai.chat.completions.create({
        model: MODEL,
        messages: [{ role: "user", content: `request ${i}: tell me something` }],
        max_tokens: 4 + ((i * 37) % 90),
        ...(i % 2 === 1 ? { stop: ["e"] } : {}),
      });
    for (let i = 0; i < 20; i++) await call(requests + i); // warm-up (also paid, also claimed)
    let storeCommitsVoucher = false;
    if (typeof (pst.store as unknown as Record<string, unknown>).acceptVoucher === "function") {
      timeMethod(pst.store, "acceptVoucher" as keyof typeof pst.store & string, commitVoucher);
      timeMethod(pst.store, "saveReceipt" as keyof typeof pst.store & string, commitReceipt);
      storeCommitsVoucher = true;
    }
    recording = true;
    const t0 = performance.now();
    for (let i = 0; i < requests; i++) await call(i);
    const wallMs = performance.now() - t0;
    recording = false;
    const measured = exchanges.filter((x) => x.measured);
    if (measured.length !== requests) throw new Error(`bench: recorded ${measured.length} of ${requests}`);

    // ---- replay: client side
    const domain = persistentDomain(chainId, broker);
    const clientMs: number[] = [];
    const yardMs: number[] = [];
    const yDigest = personalHash(utf8("livepay bench"));
    const ySig = signDigest(yDigest, payerKey);
    // Two passes over the same messages: the first warms the JIT, the second is timed.
    for (const pass of [0, 1]) {
      const cStates = new Map<bigint, TicketState>();
      for (const x of exchanges) {
        const q = x.pr.quote.quote;
        const t = performance.now();
        const qh = checkQuote(x.pr.quote, {
          domain,
          payer: payerAddr,
          payeeSigningKey: q.payee,
          requestHash: q.requestHash,
          nowSeconds: x.atSeconds,
          capability: "llm",
          request: x.body,
        });
        let s =
          cStates.get(q.ticketId) ??
          openTicket({ payer: payerAddr, payee: q.payee, ticketId: q.ticketId, epoch: x.pr.ticket.epoch });
        const v = { ...x.envelope.voucher, context: voucherContext(qh, s.lastReceiptHash) };
        signVoucher(domain, v, payerKey);
        s = applyVoucher(s, { cumulativeAmount: v.cumulativeAmount, quoteHash: qh, signer: payerAddr });
        s = checkReceipt(s, x.receipt, { domain, payeeSigningKey: q.payee, quote: q, quoteHash: qh }).state;
        if (pass === 1 && x.measured) {
          clientMs.push(performance.now() - t);
          const ty = performance.now();
          recoverDigestSigner(yDigest, ySig);
          yardMs.push(performance.now() - ty);
        }
        cStates.set(q.ticketId, s);
      }
    }

    // ---- replay: orchestrator side
    const orchMs: number[] = [];
    for (const pass of [0, 1]) {
      const oStates = new Map<bigint, TicketState>();
      for (const x of exchanges) {
        const q = x.pr.quote.quote;
        const r = x.receipt.receipt;
        const t = performance.now();
        const { hash: qh } = hashAndSignQuote(domain, q, orchKey);
        let s =
          oStates.get(q.ticketId) ??
          openTicket({ payer: payerAddr, payee: q.payee, ticketId: q.ticketId, epoch: x.pr.ticket.epoch });
        s = acceptVoucher(
          s,
          { quote: q, quoteHash: qh, voucher: x.envelope.voucher, signature: x.envelope.signature },
          { domain, nowSeconds: x.atSeconds },
        ).state;
        const receipt = buildReceipt(s, {
          quote: q,
          quoteHash: qh,
          units: r.units,
          inputHash: r.inputHash,
          outputHash: r.outputHash,
        });
        const signed = hashAndSignReceipt(domain, receipt, orchKey);
        s = applyReceipt(s, q, receipt, signed.hash);
        if (pass === 1 && x.measured) orchMs.push(performance.now() - t);
        if (signed.hash !== receiptHash(domain, r))
          throw new Error("bench: replayed receipt differs from the real one");
        oStates.set(q.ticketId, s);
      }
    }

    // ---- settlement: one batched claim of every ticket used (warm-up included), gas from receipts
    const totalCharged = [...pst.store.tickets(payerAddr, 0n)].reduce(
      (a, t) => a + t.state.cumulativeCharged,
      0n,
    );
    const claimReceipts: TransactionReceipt[] = [];
    for (let report = await pst.claimNow(); report; report = await pst.claimNow()) {
      claimReceipts.push(await client.getTransactionReceipt({ hash: report.hash }));
      if (claimReceipts.length > 10) break;
    }
    const claimGas = claimReceipts.reduce((a, r) => a + r.gasUsed, 0n);
    const ticketsUsed = pst.store.tickets(payerAddr, 0n).filter((t) => t.state.cumulativeCharged > 0n).length;
    const earlier = pst.claimer.reports.length - claimReceipts.length;
    if (earlier !== 0) throw new Error(`bench: ${earlier} claims happened during the run`);

    const unlockGas = await sendPayer("unlock", []);
    for (let i = 0; i < devnet.manifest.params.unlockPeriod; i++) await devnet.nextRound();
    const withdrawGas = await sendPayer("withdraw", []);

    // ---- per-request tickets: staging ceil((max(fee, EV) − credit) / EV) on each request's actual fee
    const ev = (tp.faceValue * tp.winProb) / TWO_256;
    let credit = 0n;
    let tickets = 0n;
    for (const x of measured) {
      const fee = x.receipt.receipt.charge;
      const need = (fee > ev ? fee : ev) - credit;
      const n = need > 0n ? (need + ev - 1n) / ev : 0n;
      tickets += n;
      credit += n * ev - fee;
    }
    const gasRows = await measureGas();
    const redeemGas = gasRows.find((r) => r.name === "redeemWinningTicket (steady state)")!.gas;
    const pWin = Number(tp.winProb) / Number(TWO_256);
    const n = measured.length;
    return {
      requests: n,
      wallMs,
      client: step(clientMs),
      orchestrator: step(orchMs),
      sdkWall: step(sdkWall),
      recover: step(yardMs),
      commitVoucher: storeCommitsVoucher ? step(commitVoucher) : step([]),
      commitReceipt: storeCommitsVoucher ? step(commitReceipt) : step([]),
      ticketsUsed,
      totalCharged,
      claim: { txs: claimReceipts.length, gas: claimGas, entries: ticketsUsed },
      fundGas,
      unlockGas,
      withdrawGas,
      perRequest: {
        faceValue: tp.faceValue,
        winProb: tp.winProb,
        ev,
        tickets,
        redeemGas,
        expectedGasPerRequest: (Number(tickets) * pWin * redeemGas) / n,
        worstGasPerRequest: (Number(tickets) * redeemGas) / n,
      },
    };
  } finally {
    for (const s of stops) await s().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}
