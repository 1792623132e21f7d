// Persistent tickets: payment work per request on each side (client, gateway, orchestrator), and
// on-chain gas per request for a 1,000-request LLM workload, persistent tickets vs one ticket batch
// per request settled on chain.
//
// Setup: a devnet (real anvil), one orchestrator with persistent tickets on (synthetic LLM runner,
// redemption off), and three runs of the same workload (varied max_tokens) through the `openai`
// package, all in this process:
//   direct:  createPayer(...).fetch (the SDK) straight to the orchestrator;
//   gateway: a real gateway in "gateway" (gateway-funded) mode: the end client sends an API key
//            (no payment work), the gateway's own SDK payer pays the orchestrator and bills the key;
//   relay:   a real gateway in "relay" mode: the client's SDK pays, the gateway passes the
//            quote / voucher / receipt through and bills the key its fee.
// Every request is recorded on the wire (the 402 body, the voucher header, the receipt header: at the
// SDK's base fetch for the direct run, at the gateway's outgoing fetch for the gateway runs) and the
// payment work is then timed by re-running the functions each side runs on those exact messages:
//   payer (client SDK, or the gateway's SDK payer):
//     parse 402 + checkQuote + voucherContext + signVoucher + encode voucher header + applyVoucher
//     + decode receipt header + checkReceipt
//   gateway, gateway-funded: the payer's work above + the gateway's own per-request work (its second
//     parse of the 402 to reserve the key's credit, the price-cap check, reading the verified receipt
//     record, estimate accuracy)
//   gateway, relay: decode the voucher header (quote id), parse the relayed 402 (noteQuote), decode
//     the receipt header (units), estimate accuracy
//   orchestrator: hashAndSignQuote + encode 402 + decode voucher header + acceptVoucher + buildReceipt
//     + hashAndSignReceipt + encode receipt header + applyReceipt
// (the replayed receipt hash must equal the orchestrator's real one: the replay is the same work).
// The replay runs one warm-up pass and PASSES timed passes while a PerformanceObserver records GC
// pauses, so each row shows the raw p99 beside the p99 without samples that overlapped a GC pause and
// the p99 of each request's median over the passes (noise vs work).
// Also timed during the runs (live): the SDK's whole in-process time inside `payer.fetch` outside the
// network, the gateway-funded payer's the same way (its durable record writes and the API key's
// reservation taken out and reported apart), and the durable commits on each side, reported apart.
//
// Gas: the claim is real (one claimBatch sent by the orchestrator, gasUsed from its receipt on anvil).
// The baseline is the same workload paid with one ticket batch per request, each request's payment
// settled on chain: one redeemWinningTicket per request, its gas measured by `measureGas()` on anvil
// in this run. Secondary (depends on price and gas-price settings): the expected gas of probabilistic
// tickets at the orchestrator's real face value and win probability for this run (GetOrchestrator)
// with the spec's staging rule on each request's actual fee.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { measureGas, PersistentTicketBrokerAbi } from "@livepay/contracts";
import {
  DEFAULT_REDEEM_GAS,
  DEFAULT_TICKET_EV,
  jobCapabilities,
  maxPriceFor,
  OrchestratorRpc,
  startDevnet,
  startGateway,
  startOrchestrator,
  type OrchestratorHandle,
  type RunningGateway,
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
  encodeReceiptHeader,
  encodeVoucherHeader,
  hashAndSignQuote,
  hashAndSignReceipt,
  isPaymentRequiredJson,
  LIVEPAY_RECEIPT_HEADER,
  LIVEPAY_VOUCHER_HEADER,
  openTicket,
  paymentRequiredFromJson,
  paymentRequiredToJson,
  persistentDomain,
  personalHash,
  Rational,
  recoverDigestSigner,
  signDigest,
  utf8,
  receiptHash,
  signVoucher,
  voucherContext,
  type Hex,
  type PrivateKey,
  type TicketState,
  type VoucherEnvelope,
} from "@livepay/protocol";
import {
  createPayer,
  memoryStorage,
  receiptRecordFromJson,
  receiptRecordToJson,
} from "@livepay/protocol/client";
import OpenAI from "openai";
import { createPublicClient, createWalletClient, http, type Address, type TransactionReceipt } from "viem";
import { privateKeyToAccount } from "viem/accounts";
// Not part of @livepay/node's public entry point; the built module is the same code the gateway runs.
import { EstimateAccuracy } from "../packages/node/dist/gateway/persistentAccuracy.js";
import { overlapsAny, percentile, printTable, watchGc, type Span } from "./stats.js";

const ETH = 10n ** 18n;
const MODEL = "synthetic-llm";
const PRICE = 1_000_000_000n; // 1 gwei per completion token, as bench/node.ts
const DEPOSIT = ETH / 10n;
const RESERVE = ETH;
const TWO_256 = 2n ** 256n;
const GATEWAY_FEE = 1000n; // the gateway's explicit fee line per paid request, wei
const WARMUP = 20;
/** Timed replay passes after the warm-up pass. */
export const PASSES = 5;

/** One timed sample: its wall span (for the GC check) and the time it counts (ms). */
interface Sample {
  t0: number;
  t1: number;
  ms: number;
}

/** Samples of one step, pass by pass (index i = the run's i-th measured request in every pass). */
type Passes = Sample[][];

/** Percentiles of one step (ms), raw and with the noise taken apart. */
export interface StepFigures {
  /** Samples per pass. */
  n: number;
  passes: number;
  /** Raw, first timed pass (what a single-pass bench reports). */
  p50: number;
  p99: number;
  /** Raw, every timed pass. */
  p99All: number;
  /** Every timed pass, without the samples whose interval overlapped a GC pause. */
  p99NoGc: number;
  /** Samples (of every pass) that overlapped a GC pause. */
  gcHit: number;
  /** p99 over requests of each request's median over the passes (NaN with one pass). */
  p99Median: number;
}

export interface PathFigures {
  /** Replayed payment work per request, per side; undefined when the side does none. */
  client?: StepFigures;
  gateway?: StepFigures;
  orchestrator: StepFigures;
  /** Per request: the sum over the sides of that request's samples (same pass). */
  sum: StepFigures;
  wallMs: number;
}

export interface PersistentBench {
  requests: number;
  direct: PathFigures;
  funded: PathFigures;
  relay: PathFigures;
  /** Live: the SDK's in-process time in payer.fetch outside the network (direct run). */
  sdkWall: StepFigures;
  /** Live: the gateway-funded payer's in-process time in payer.fetch outside the network and the store. */
  gatewayWall: StepFigures;
  /** Live durable commits (ms). */
  commitVoucher: StepFigures;
  commitReceipt: StepFigures;
  gatewayRecords: StepFigures;
  gatewayReserve: StepFigures;
  gatewayCommit: StepFigures;
  relayBilling: StepFigures;
  /** Yardstick: one bare secp256k1 recover, timed after each direct client replay sample. */
  recover: StepFigures;
  gcPauses: { count: number; p50: number; max: number };
  ticketsUsed: number;
  totalCharged: bigint;
  claim: { txs: number; gas: bigint; entries: number; gasPrice: bigint };
  fundGas: bigint;
  unlockGas: bigint;
  withdrawGas: bigint;
  /** The baseline: one redeemWinningTicket per request (measureGas(), steady state, this run). */
  redeemGas: number;
  perRequest: {
    faceValue: bigint;
    winProb: bigint;
    ev: bigint;
    tickets: bigint;
    expectedGasPerRequest: number;
  };
}

/** Figures of a step from its passes, checked against the GC pauses. */
function figures(p: Passes, pauses: readonly Span[]): StepFigures {
  const first = p[0] ?? [];
  if (first.length === 0)
    return { n: 0, passes: 0, p50: NaN, p99: NaN, p99All: NaN, p99NoGc: NaN, gcHit: 0, p99Median: NaN };
  const all = p.flat();
  const clean = all.filter((s) => !overlapsAny(pauses, [s.t0, s.t1]));
  const ms = (l: Sample[]) => l.map((s) => s.ms);
  const medians =
    p.length < 2
      ? []
      : first.map((_, i) => {
          const v = p.map((pass) => pass[i]!.ms).sort((a, b) => a - b);
          return v[v.length >> 1]!;
        });
  return {
    n: first.length,
    passes: p.length,
    p50: percentile(ms(first), 50),
    p99: percentile(ms(first), 99),
    p99All: percentile(ms(all), 99),
    p99NoGc: clean.length > 0 ? percentile(ms(clean), 99) : NaN,
    gcHit: all.length - clean.length,
    p99Median: medians.length > 0 ? percentile(medians, 99) : NaN,
  };
}

/** Per request and pass, the sum of the sides' samples (span: the union, so a GC hit on any side counts). */
function sumPasses(...sides: Passes[]): Passes {
  const [a, ...rest] = sides;
  return a!.map((pass, k) =>
    pass.map((s, i) => {
      const parts = [s, ...rest.map((r) => r[k]![i]!)];
      return {
        t0: Math.min(...parts.map((x) => x.t0)),
        t1: Math.max(...parts.map((x) => x.t1)),
        ms: parts.reduce((x, y) => x + y.ms, 0),
        spans: parts,
      };
    }),
  );
}

/** Like `figures`, for sums: a sum is GC-hit when any of its parts overlapped a pause. */
function sumFigures(sides: Passes[], pauses: readonly Span[]): StepFigures {
  const sums = sumPasses(...sides);
  const f = figures(sums, []);
  const clean: number[] = [];
  let hit = 0;
  for (const [k, pass] of sums.entries())
    for (const [i, s] of pass.entries()) {
      if (sides.some((side) => overlapsAny(pauses, [side[k]![i]!.t0, side[k]![i]!.t1]))) hit++;
      else clean.push(s.ms);
    }
  return { ...f, p99NoGc: clean.length > 0 ? percentile(clean, 99) : NaN, gcHit: hit };
}

/** Runs `pass` once to warm the JIT, then `passes` timed times. */
function replay(passes: number, pass: (timed: boolean) => Sample[]): Passes {
  pass(false);
  const out: Passes = [];
  for (let k = 0; k < passes; k++) out.push(pass(true));
  return out;
}

/** One request as seen on the wire. */
interface Exchange {
  /** The 402 body as sent. */
  prText: string;
  body: unknown;
  voucherHeader: string;
  /** The voucher as sent (its amounts are the SDK's policy choice; the replay re-signs it). */
  voucher: VoucherEnvelope["voucher"];
  receiptHeader: string;
  atSeconds: bigint;
  /** False for warm-up requests: replayed (to keep the ticket states right) but not counted. */
  measured: boolean;
}

/** Times each call of `obj[name]` (sync or async) and reports its span; the object's own property only. */
function probe<T extends object>(obj: T, name: string, done: (t0: number, t1: number) => void): void {
  const o = obj as Record<string, unknown>;
  const orig = (o[name] as (...a: unknown[]) => unknown).bind(obj);
  o[name] = (...a: unknown[]) => {
    const t0 = performance.now();
    let r: unknown;
    try {
      r = orig(...a);
    } catch (e) {
      done(t0, performance.now());
      throw e;
    }
    if (r instanceof Promise) {
      return r.finally(() => done(t0, performance.now()));
    }
    done(t0, performance.now());
    return r;
  };
}

function decodeBody(b: unknown): unknown {
  if (typeof b === "string") return JSON.parse(b);
  if (b instanceof Uint8Array) return JSON.parse(new TextDecoder().decode(b));
  if (b instanceof ArrayBuffer) return JSON.parse(new TextDecoder().decode(new Uint8Array(b)));
  return null;
}

/**
 * A fetch that records the livepay exchanges sent through it to `route` (402 then paid retry) and
 * reports the spans spent in those calls (network + the other side, bodies downloaded) to `net`.
 */
function recordingFetch(
  inner: typeof fetch,
  route: string,
  out: Exchange[],
  measured: () => boolean,
  net: (t0: number, t1: number) => void,
): typeof fetch {
  let pending: { prText: string; body: unknown } | undefined;
  return async (input, init) => {
    const t0 = performance.now();
    const res = await inner(input, init);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const copy = new Response(res.status === 204 ? null : bytes, {
      status: res.status,
      statusText: res.statusText,
      headers: res.headers,
    });
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    // Only the calls to the orchestrator: viem's chain polling shares the global fetch.
    if (url.startsWith(route)) net(t0, performance.now());
    if (url.startsWith(route) && (init?.method ?? "GET").toUpperCase() === "POST") {
      const sent = new Headers(init?.headers).get(LIVEPAY_VOUCHER_HEADER);
      const rh = res.headers.get(LIVEPAY_RECEIPT_HEADER);
      if (res.status === 402) {
        pending = { prText: new TextDecoder().decode(bytes), body: decodeBody(init?.body) };
      } else if (sent && rh && pending) {
        out.push({
          ...pending,
          voucherHeader: sent,
          voucher: decodeVoucherHeader(sent).voucher,
          receiptHeader: rh,
          atSeconds: BigInt(Math.floor(Date.now() / 1000)),
          measured: measured(),
        });
        pending = undefined;
      }
    }
    return copy;
  };
}

type Domain = ReturnType<typeof persistentDomain>;

/** What the gateway-funded gateway adds to the payer's work, per request (its own code, replayed). */
interface GatewayExtras {
  maxPrice: RunningGateway["config"]["maxPrice"];
  accuracy: EstimateAccuracy;
  verified: Map<Hex, unknown>;
  uri: string;
}

/**
 * One replay pass of the payer's work (client SDK, or the gateway-funded gateway's SDK payer plus
 * `extras`) over `ex`; `yard` gets one bare recover timed after each sample.
 */
function payerPass(
  ex: Exchange[],
  domain: Domain,
  payer: Hex,
  key: PrivateKey,
  timed: boolean,
  extras?: GatewayExtras,
  yard?: Sample[],
): Sample[] {
  const out: Sample[] = [];
  const states = new Map<bigint, TicketState>();
  const yDigest = personalHash(utf8("livepay bench"));
  const ySig = signDigest(yDigest, key);
  for (const x of ex) {
    const t = performance.now();
    const prJson = JSON.parse(x.prText) as unknown;
    const pr = paymentRequiredFromJson(prJson);
    const q = pr.quote.quote;
    if (extras) {
      // The gateway's observing fetch parses the 402 again to reserve the key's credit, after a price-cap check.
      const again = JSON.parse(x.prText) as unknown;
      if (isPaymentRequiredJson(again)) paymentRequiredFromJson(again);
      const cap = maxPriceFor("llm", MODEL, extras.maxPrice);
      if (cap !== undefined && Rational.of(q.priceNum, q.priceDen).gt(cap))
        throw new Error("bench: over cap");
    }
    const qh = checkQuote(pr.quote, {
      domain,
      payer,
      payeeSigningKey: q.payee,
      requestHash: q.requestHash,
      nowSeconds: x.atSeconds,
      capability: "llm",
      request: x.body,
    });
    let s =
      states.get(q.ticketId) ??
      openTicket({ payer, payee: q.payee, ticketId: q.ticketId, epoch: pr.ticket.epoch });
    const v = { ...x.voucher, context: voucherContext(qh, s.lastReceiptHash) };
    const sig = signVoucher(domain, v, key);
    encodeVoucherHeader({ quoteId: q.quoteId, voucher: v, signature: sig.signature });
    s = applyVoucher(s, { cumulativeAmount: v.cumulativeAmount, quoteHash: qh, signer: payer });
    const signed = decodeReceiptHeader(x.receiptHeader);
    const checked = checkReceipt(s, signed, { domain, payeeSigningKey: q.payee, quote: q, quoteHash: qh });
    s = checked.state;
    let ms = performance.now() - t;
    let t1 = t + ms;
    if (extras) {
      // The SDK serializes the receipt record (its storage); the gateway's storage wrapper reads it back.
      const rec = receiptRecordToJson({
        quoteId: q.quoteId,
        signed,
        hash: checked.receiptHash,
        verifiedAt: 0,
      });
      const t2 = performance.now();
      const r = receiptRecordFromJson(rec);
      extras.verified.set(r.quoteId, r.signed.receipt);
      const got = extras.verified.get(q.quoteId) as typeof signed.receipt;
      extras.accuracy.observe(extras.uri, got.units, q.estUnits);
      t1 = performance.now();
      ms += t1 - t2;
    }
    if (timed && x.measured) {
      out.push({ t0: t, t1, ms });
      if (yard) {
        const ty = performance.now();
        recoverDigestSigner(yDigest, ySig);
        const te = performance.now();
        yard.push({ t0: ty, t1: te, ms: te - ty });
      }
    }
    states.set(q.ticketId, s);
  }
  return out;
}

/** One replay pass of the orchestrator's work over `ex`; checks the replayed receipts equal the real ones. */
function orchestratorPass(
  ex: Exchange[],
  domain: Domain,
  payer: Hex,
  key: PrivateKey,
  timed: boolean,
): Sample[] {
  const out: Sample[] = [];
  const states = new Map<bigint, TicketState>();
  // Parsed outside the timing: the orchestrator builds these objects itself, it does not parse them.
  const parsed = ex.map((x) => ({
    pr: paymentRequiredFromJson(JSON.parse(x.prText)),
    real: decodeReceiptHeader(x.receiptHeader),
  }));
  for (const [i, x] of ex.entries()) {
    const { pr, real } = parsed[i]!;
    const q = pr.quote.quote;
    const r = real.receipt;
    const t = performance.now();
    const { hash: qh } = hashAndSignQuote(domain, q, key);
    JSON.stringify(paymentRequiredToJson(pr));
    let s =
      states.get(q.ticketId) ??
      openTicket({ payer, payee: q.payee, ticketId: q.ticketId, epoch: pr.ticket.epoch });
    const env = decodeVoucherHeader(x.voucherHeader);
    s = acceptVoucher(
      s,
      { quote: q, quoteHash: qh, voucher: env.voucher, signature: env.signature },
      { domain, nowSeconds: x.atSeconds },
    ).state;
    const receipt = buildReceipt(s, {
      quote: q,
      quoteHash: qh,
      units: r.units,
      inputHash: r.inputHash,
      outputHash: r.outputHash,
    });
    const signed = hashAndSignReceipt(domain, receipt, key);
    encodeReceiptHeader({ receipt, signature: signed.signature, salt: real.salt });
    s = applyReceipt(s, q, receipt, signed.hash);
    const t1 = performance.now();
    if (timed && x.measured) out.push({ t0: t, t1, ms: t1 - t });
    if (signed.hash !== receiptHash(domain, r))
      throw new Error("bench: replayed receipt differs from the real one");
    states.set(q.ticketId, s);
  }
  return out;
}

/**
 * One replay pass of the relay gateway's payment work over `ex`: what `#relay` reads of the payment
 * headers it passes through (voucher header → quote id, 402 → noteQuote, receipt header → units,
 * estimate accuracy). The payer address check is a regex on the header.
 */
function relayPass(
  ex: Exchange[],
  payer: Hex,
  timed: boolean,
  accuracy: EstimateAccuracy,
  uri: string,
): Sample[] {
  const out: Sample[] = [];
  const quotes = new Map<Hex, { uri: string; estUnits: bigint }>();
  for (const x of ex) {
    // Unpaid leg: the payer header is checked, the 402 is read for GET /receipts and accuracy.
    const t = performance.now();
    if (!/^0x[0-9a-f]{40}$/.test(payer.toLowerCase())) throw new Error("bench: bad payer");
    const body = JSON.parse(x.prText) as unknown;
    if (isPaymentRequiredJson(body)) {
      const q = paymentRequiredFromJson(body).quote.quote;
      quotes.set(q.quoteId, { uri, estUnits: q.estUnits });
    }
    // Paid leg: the voucher header's quote id, then the receipt header's units.
    if (!/^0x[0-9a-f]{40}$/.test(payer.toLowerCase())) throw new Error("bench: bad payer");
    const quoteId = decodeVoucherHeader(x.voucherHeader).quoteId;
    const units = decodeReceiptHeader(x.receiptHeader).receipt.units;
    const q = quotes.get(quoteId);
    if (q) accuracy.observe(uri, units, q.estUnits);
    const t1 = performance.now();
    if (timed && x.measured) out.push({ t0: t, t1, ms: t1 - t });
  }
  return out;
}

/** Length of the union of `spans`, clipped to `within` (ms). */
function unionMs(spans: Span[], within: Sample): number {
  const s = spans
    .map(([a, b]): Span => [Math.max(a, within.t0), Math.min(b, within.t1)])
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  let total = 0;
  let end = -Infinity;
  for (const [a, b] of s) {
    if (b <= end) continue;
    total += b - Math.max(a, end);
    end = b;
  }
  return total;
}

/** Live samples (one pass). */
const live = (s: Sample[]): Passes => [s];
const spanOf = (t0: number, t1: number, ms = t1 - t0): Sample => ({ t0, t1, ms });

/**
 * Runs the persistent-ticket benchmark: `requests` LLM requests (varied max_tokens) on each path
 * (direct SDK, gateway-funded gateway, relay gateway), payment work replayed `passes` times.
 * @example const r = await benchPersistent(); console.log(Number(r.claim.gas) / r.requests)
 */
export async function benchPersistent(requests = 1000, passes = PASSES): Promise<PersistentBench> {
  const dir = await mkdtemp(join(tmpdir(), "livepay-bench-persistent-"));
  const stops: (() => Promise<unknown>)[] = [];
  const realFetch = globalThis.fetch;
  const gc = watchGc();
  try {
    // gateway-1 (the direct payer) also funds the TicketBroker, so GetOrchestrator quotes it real
    // per-request ticket params; gateway-2 is the funded gateway's key, gateway-3 the relay's client,
    // gateway-4 the relay gateway's own (unused for payment) account.
    const devnet = await startDevnet({
      orchestrators: 1,
      gateways: 4,
      gatewayDeposit: ETH,
      gatewayReserve: ETH,
      blockTimeMs: 0,
    });
    stops.push(() => devnet.stop());
    await devnet.nextRound();
    const account = (name: string) => devnet.manifest.accounts.find((a) => a.name === name)!;
    const broker = devnet.manifest.contracts.persistentTicketBroker! as Address;
    const chainId = devnet.manifest.chainId;
    const domain = persistentDomain(chainId, broker);
    const orchKey = account("orchestrator-1").privateKey! as PrivateKey;
    const orch: OrchestratorHandle = await startOrchestrator({
      privateKey: account("orchestrator-1").privateKey!,
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
    const route = `${orch.httpUrl}/v1/chat/completions`;

    const client = createPublicClient({ transport: http(devnet.manifest.rpcUrl, { retryCount: 0 }) });
    const key = (name: string) => account(name).privateKey! as PrivateKey;
    const addr = (name: string) => account(name).address.toLowerCase() as Hex;
    const sendAs = async (name: string, functionName: string, args: unknown[], value = 0n) => {
      const wallet = createWalletClient({
        account: privateKeyToAccount(key(name) as `0x${string}`),
        transport: http(devnet.manifest.rpcUrl, { retryCount: 0 }),
      });
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
    const fund = (name: string) =>
      sendAs(name, "fundDepositAndReserve", [DEPOSIT, RESERVE], DEPOSIT + RESERVE);
    const fundGas = await fund("gateway-1");
    await fund("gateway-2");
    await fund("gateway-3");
    const payerKey = key("gateway-1");
    const payerAddr = addr("gateway-1");

    // The orchestrator's real per-request ticket params for this payer and model.
    const rpc = new OrchestratorRpc({ sender: payerAddr, privateKey: payerKey });
    const info = await rpc.getOrchestrator(orch.grpcUrl, jobCapabilities("llm", MODEL));
    rpc.close();
    const tp = info.ticketParams!;

    const call = (openai: OpenAI, i: number) =>
      openai.chat.completions.create({
        model: MODEL,
        messages: [{ role: "user", content: `request ${i}: tell me something` }],
        max_tokens: 4 + ((i * 37) % 90),
        ...(i % 2 === 1 ? { stop: ["e"] } : {}),
      });
    let recording = false;
    const isRecording = () => recording;
    /** Warm-up (paid too), then `requests` recorded ones; returns the recorded run's wall time. */
    const run = async (openai: OpenAI, each?: (i: number) => void) => {
      for (let i = 0; i < WARMUP; i++) await call(openai, requests + i);
      recording = true;
      const t0 = performance.now();
      for (let i = 0; i < requests; i++) {
        await call(openai, i);
        each?.(i);
      }
      const ms = performance.now() - t0;
      recording = false;
      return ms;
    };

    // Orchestrator durable commits (SQLite, synchronous), live during the direct run.
    const commitVoucher: Sample[] = [];
    const commitReceipt: Sample[] = [];
    let orchCommits = false;
    const pstStore = pst.store as unknown as Record<string, unknown>;
    if (typeof pstStore.acceptVoucher === "function") {
      probe(
        pst.store,
        "acceptVoucher",
        (a, b) => void (recording && orchCommits && commitVoucher.push(spanOf(a, b))),
      );
      probe(
        pst.store,
        "saveReceipt",
        (a, b) => void (recording && orchCommits && commitReceipt.push(spanOf(a, b))),
      );
    }

    // ---- run 1, direct: the SDK's base fetch records the wire and times the network.
    const directEx: Exchange[] = [];
    let inBase = 0;
    const payer = createPayer({
      privateKey: payerKey,
      chainId,
      broker,
      fetch: recordingFetch(realFetch, route, directEx, isRecording, (a, b) => (inBase += b - a)),
      storage: memoryStorage(),
    });
    const sdkWall: Sample[] = [];
    const timedFetch: typeof fetch = async (input, init) => {
      inBase = 0;
      const t0 = performance.now();
      const res = await payer.fetch(input, init);
      const t1 = performance.now();
      if (recording) sdkWall.push(spanOf(t0, t1, t1 - t0 - inBase));
      return res;
    };
    const direct = new OpenAI({
      apiKey: "-",
      baseURL: `${orch.httpUrl}/v1`,
      fetch: timedFetch,
      maxRetries: 0,
    });
    orchCommits = true;
    const directMs = await run(direct);
    orchCommits = false;
    if (directEx.filter((x) => x.measured).length !== requests)
      throw new Error("bench: direct run not recorded");

    // ---- settlement of the direct run: one batched claim of every ticket used (warm-up included)
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

    // ---- the gateways' outgoing fetch is the global one: record it (and time the network) there.
    const gwEx: Exchange[] = [];
    interface GwRequest {
      span?: Sample;
      /** Spans inside payer.fetch spent in the network or the store (may overlap: un-awaited writes). */
      out: Span[];
      records: number;
      reserve: number;
      after: number;
    }
    let cur: GwRequest | undefined;
    let inPayer = false;
    const gwNet = (a: number, b: number) => void (cur && inPayer && cur.out.push([a, b]));
    globalThis.fetch = recordingFetch(realFetch, route, gwEx, isRecording, gwNet);
    stops.unshift(async () => (globalThis.fetch = realFetch));
    const gatewayOf = async (name: string, persistent: Record<string, unknown>) => {
      const gw = await startGateway({
        port: 0,
        orchestrators: [orch.grpcUrl],
        logLevel: "silent",
        chain: { manifest: devnet.manifest, account: name, pollIntervalMs: 100 },
        store: { path: join(dir, `${name}.db`) },
        persistent,
      } as Parameters<typeof startGateway>[0]);
      stops.unshift(() => gw.stop());
      const { key: apiKey } = await gw.store.apiKeys.create("bench", ETH / 10n);
      return { gw, apiKey };
    };

    // ---- run 2, gateway-funded: the end client holds an API key only; the gateway's payer pays.
    const { gw: fgw, apiKey: fKey } = await gatewayOf("gateway-2", {
      mode: "gateway",
      feeWei: GATEWAY_FEE.toString(),
      policy: { maxPerRequest: "0.01eth" },
    });
    const fStore = fgw.store as unknown as Record<string, object>;
    // Inside payer.fetch: the payer's record writes and the key's reservation; after it: the bill.
    const add = (k: "records" | "reserve" | "after") => (a: number, b: number) => {
      if (!cur || inPayer !== (k !== "after")) return;
      cur[k] += b - a;
      if (inPayer) cur.out.push([a, b]);
    };
    // The payer's durable record reads and writes: its own table, or (older stores) meta rows.
    if (fStore.payerRecords) {
      for (const m of ["get", "set", "delete", "list"]) probe(fStore.payerRecords, m, add("records"));
    } else {
      probe(fgw.store, "transaction", add("records"));
      probe(fStore.meta!, "get", add("records"));
    }
    probe(fStore.reservations!, "reserve", add("reserve"));
    probe(fStore.reservations!, "release", add("reserve"));
    probe(fStore.reservations!, "commit", add("after"));
    probe(fStore.usage!, "record", add("after"));
    const gPayer = fgw.persistent!.payer! as unknown as { fetch: typeof fetch };
    const gPayerFetch = gPayer.fetch;
    gPayer.fetch = async (input, init) => {
      inPayer = true;
      const t0 = performance.now();
      try {
        return await gPayerFetch(input, init);
      } finally {
        const t1 = performance.now();
        inPayer = false;
        if (cur) cur.span = spanOf(t0, t1);
      }
    };
    const gwReqs: GwRequest[] = [];
    const funded = new OpenAI({
      apiKey: fKey,
      baseURL: `${fgw.url}/v1`,
      fetch: async (input, init) => {
        cur = { out: [], records: 0, reserve: 0, after: 0 };
        try {
          return await realFetch(input, init);
        } finally {
          if (recording) gwReqs.push(cur);
          cur = undefined;
        }
      },
      maxRetries: 0,
    });
    const fundedMs = await run(funded);
    const fundedEx = gwEx.splice(0);
    if (fundedEx.filter((x) => x.measured).length !== requests)
      throw new Error(`bench: gateway-funded run recorded ${fundedEx.filter((x) => x.measured).length}`);
    const gatewayWall = gwReqs.map((r) => {
      const s = r.span!;
      return spanOf(s.t0, s.t1, s.t1 - s.t0 - unionMs(r.out, s));
    });
    const fundedUri = [...fgw.persistent!.receipts.values()][0]?.orchestrator ?? orch.grpcUrl;
    await fgw.stop();

    // ---- run 3, relay: the client's SDK pays through the gateway, which passes the headers through.
    const { gw: rgw, apiKey: rKey } = await gatewayOf("gateway-4", {
      mode: "relay",
      feeWei: GATEWAY_FEE.toString(),
    });
    const relayBilling: Sample[] = [];
    let billing = 0;
    let billingSpan: [number, number] | undefined;
    const bill = (a: number, b: number) => {
      billing += b - a;
      billingSpan = [billingSpan?.[0] ?? a, b];
    };
    const rStore = rgw.store as unknown as Record<string, object>;
    probe(rStore.reservations!, "reserve", bill);
    probe(rStore.reservations!, "release", bill);
    probe(rStore.reservations!, "commit", bill);
    probe(rStore.usage!, "record", bill);
    const relayPayer = createPayer({
      privateKey: key("gateway-3"),
      chainId,
      broker,
      fetch: realFetch,
      storage: memoryStorage(),
    });
    const relay = new OpenAI({
      apiKey: rKey,
      baseURL: `${rgw.url}/v1`,
      fetch: relayPayer.fetch,
      maxRetries: 0,
    });
    const relayMs = await run(relay, () => {
      if (billingSpan) relayBilling.push(spanOf(billingSpan[0], billingSpan[1], billing));
      billing = 0;
      billingSpan = undefined;
    });
    const relayEx = gwEx.splice(0);
    if (relayEx.filter((x) => x.measured).length !== requests)
      throw new Error(`bench: relay run recorded ${relayEx.filter((x) => x.measured).length}`);
    await rgw.stop();
    globalThis.fetch = realFetch;

    // ---- replays (after the runs: nothing else runs in this process meanwhile)
    const yard: Sample[][] = [];
    const dClient = replay(passes, (timed) => {
      const y: Sample[] = [];
      const s = payerPass(directEx, domain, payerAddr, payerKey, timed, undefined, y);
      if (timed) yard.push(y);
      return s;
    });
    const dOrch = replay(passes, (timed) => orchestratorPass(directEx, domain, payerAddr, orchKey, timed));
    const fAddr = addr("gateway-2");
    const fGateway = replay(passes, (timed) =>
      payerPass(fundedEx, domain, fAddr, key("gateway-2"), timed, {
        maxPrice: fgw.config.maxPrice,
        accuracy: new EstimateAccuracy(),
        verified: new Map(),
        uri: fundedUri,
      }),
    );
    const fOrch = replay(passes, (timed) => orchestratorPass(fundedEx, domain, fAddr, orchKey, timed));
    const rAddr = addr("gateway-3");
    const rClient = replay(passes, (timed) => payerPass(relayEx, domain, rAddr, key("gateway-3"), timed));
    const rGateway = replay(passes, (timed) =>
      relayPass(relayEx, rAddr, timed, new EstimateAccuracy(), orch.grpcUrl),
    );
    const rOrch = replay(passes, (timed) => orchestratorPass(relayEx, domain, rAddr, orchKey, timed));
    const pauses = await gc.pauses();

    const unlockGas = await sendAs("gateway-1", "unlock", []);
    for (let i = 0; i < devnet.manifest.params.unlockPeriod; i++) await devnet.nextRound();
    const withdrawGas = await sendAs("gateway-1", "withdraw", []);

    // ---- probabilistic tickets: staging ceil((max(fee, EV) − credit) / EV) on each request's actual fee
    const ev = (tp.faceValue * tp.winProb) / TWO_256;
    let credit = 0n;
    let tickets = 0n;
    const measured = directEx.filter((x) => x.measured);
    for (const x of measured) {
      const fee = decodeReceiptHeader(x.receiptHeader).receipt.charge;
      const need = (fee > ev ? fee : ev) - credit;
      const n = need > 0n ? (need + ev - 1n) / ev : 0n;
      tickets += n;
      credit += n * ev - fee;
    }
    const gasRows = await measureGas();
    const redeemGas = gasRows.find((r) => r.name === "redeemWinningTicket (steady state)")!.gas;
    const pWin = Number(tp.winProb) / Number(TWO_256);
    const n = measured.length;
    const fig = (p: Passes) => figures(p, pauses);
    const gcMs = pauses.map(([a, b]) => b - a);
    return {
      requests: n,
      direct: {
        client: fig(dClient),
        orchestrator: fig(dOrch),
        sum: sumFigures([dClient, dOrch], pauses),
        wallMs: directMs,
      },
      funded: {
        gateway: fig(fGateway),
        orchestrator: fig(fOrch),
        sum: sumFigures([fGateway, fOrch], pauses),
        wallMs: fundedMs,
      },
      relay: {
        client: fig(rClient),
        gateway: fig(rGateway),
        orchestrator: fig(rOrch),
        sum: sumFigures([rClient, rGateway, rOrch], pauses),
        wallMs: relayMs,
      },
      sdkWall: fig(live(sdkWall)),
      gatewayWall: fig(live(gatewayWall)),
      commitVoucher: fig(live(commitVoucher)),
      commitReceipt: fig(live(commitReceipt)),
      gatewayRecords: fig(live(gwReqs.map((r) => spanOf(r.span!.t0, r.span!.t1, r.records)))),
      gatewayReserve: fig(live(gwReqs.map((r) => spanOf(r.span!.t0, r.span!.t1, r.reserve)))),
      gatewayCommit: fig(live(gwReqs.map((r) => spanOf(r.span!.t1, r.span!.t1 + r.after, r.after)))),
      relayBilling: fig(live(relayBilling)),
      recover: fig(yard),
      gcPauses: {
        count: pauses.length,
        p50: gcMs.length > 0 ? percentile(gcMs, 50) : NaN,
        max: gcMs.length > 0 ? Math.max(...gcMs) : NaN,
      },
      ticketsUsed,
      totalCharged,
      claim: {
        txs: claimReceipts.length,
        gas: claimGas,
        entries: ticketsUsed,
        gasPrice: claimReceipts[0]?.effectiveGasPrice ?? 0n,
      },
      fundGas,
      unlockGas,
      withdrawGas,
      redeemGas,
      perRequest: {
        faceValue: tp.faceValue,
        winProb: tp.winProb,
        ev,
        tickets,
        expectedGasPerRequest: (Number(tickets) * pWin * redeemGas) / n,
      },
    };
  } finally {
    globalThis.fetch = realFetch;
    gc.stop();
    for (const s of stops) await s().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

const ms = (x: number) => (Number.isNaN(x) ? "-" : `${x.toFixed(3)} ms`);
const met = (x: number) => (x <= 0.5 ? "met" : "NOT met");
const pct = (a: number, b: number) => `${((a / b) * 100).toPrecision(3)} %`;

/**
 * Prints the persistent-ticket figures: payment work per side (raw, and with GC and scheduling
 * noise taken apart) and on-chain gas per request against the per-request-settlement baseline.
 * @example printPersistent(await benchPersistent())
 */
export function printPersistent(pt: PersistentBench): void {
  const none = "-";
  const row = (name: string, f: StepFigures | undefined) =>
    f === undefined
      ? [name, 0, none, none, none, none, none, none]
      : [
          name,
          f.passes > 1 ? `${f.n} x ${f.passes}` : f.n,
          ms(f.p50),
          ms(f.p99),
          f.passes > 1 ? ms(f.p99All) : none,
          ms(f.p99NoGc),
          ms(f.p99Median),
          f.gcHit,
        ];
  const { direct: d, funded: g, relay: r } = pt;
  printTable(
    `Persistent tickets: payment work per request, ${pt.requests} sequential LLM requests (varied max_tokens) per path, via the openai package: direct (SDK fetch straight to the orchestrator, ${(d.wallMs / 1000).toFixed(1)} s), gateway-funded (API key -> gateway pays, ${(g.wallMs / 1000).toFixed(1)} s), relay (SDK -> gateway passes headers through, ${(r.wallMs / 1000).toFixed(1)} s). Replayed rows: each side's functions timed on the run's real messages, p50/p99 raw from the 1st timed pass; then every pass (${d.orchestrator.passes}), every pass without samples that overlapped a GC pause, and the p99 of each request's median over the passes. Live rows: in-run wall time, one pass`,
    [
      ["direct, no gateway", "", "", "", "", "", "", ""],
      row(
        "  client (SDK): parse 402 + checkQuote + sign voucher + header + applyVoucher + checkReceipt",
        d.client,
      ),
      row("  orchestrator: sign quote + 402 + acceptVoucher + build/sign receipt + header", d.orchestrator),
      row("  sum client + orchestrator, per request", d.sum),
      ["gateway-funded", "", "", "", "", "", "", ""],
      ["  client: API key only, no payment work", "-", "0", "0", "", "", "", ""],
      row(
        "  gateway: SDK payer work (as client) + 2nd 402 parse + price cap + receipt record + accuracy",
        g.gateway,
      ),
      row("  orchestrator (same work, gateway's messages)", g.orchestrator),
      row("  sum gateway + orchestrator, per request", g.sum),
      ["relay", "", "", "", "", "", "", ""],
      row("  client (SDK), messages relayed by the gateway", r.client),
      row("  gateway: decode voucher hdr + parse 402 + decode receipt hdr + accuracy", r.gateway),
      row("  orchestrator", r.orchestrator),
      row("  sum client + gateway + orchestrator, per request", r.sum),
      ["live, in-run (includes storage, JSON, Headers, streams)", "", "", "", "", "", "", ""],
      row("  SDK in payer.fetch outside the network (direct)", pt.sdkWall),
      row("  gateway-funded: payer.fetch outside the network and the store", pt.gatewayWall),
      row(
        "  durable: gateway payer's records (voucher before send, receipt after; SQLite)",
        pt.gatewayRecords,
      ),
      row("  durable: gateway API-key reserve of maxCharge + fee (billing)", pt.gatewayReserve),
      row("  durable: gateway commit charge + fee, refund rest, usage record (billing)", pt.gatewayCommit),
      row("  durable: relay fee reserve + commit + usage record (billing)", pt.relayBilling),
      row("  durable: orchestrator voucher before work (SQLite)", pt.commitVoucher),
      row("  durable: orchestrator receipt after work (SQLite)", pt.commitReceipt),
      row("yardstick (baseline): 1 bare secp256k1 recover", pt.recover),
    ],
    ["step", "samples", "p50", "p99 raw", "p99 all passes", "p99 no GC", "p99 of median", "GC-hit"],
  );
  const side = (name: string, f: StepFigures | undefined) =>
    f === undefined
      ? `${name} 0`
      : `${name} ${ms(f.p99)} raw (${met(f.p99)}), ${ms(f.p99NoGc)} no GC (${met(f.p99NoGc)})`;
  console.log(
    `  target: <= 0.5 ms at p99 on each side (gateway and orchestrator each, DESIGN): ${side("gateway-funded gateway", g.gateway)}; ${side("relay gateway", r.gateway)}; ${side("orchestrator", d.orchestrator)}; ${side("client (SDK)", d.client)}`,
  );
  console.log(
    `  sum of the sides per request (not a DESIGN target; shown against 0.5 ms): direct ${ms(d.sum.p99)} raw / ${ms(d.sum.p99NoGc)} no GC, gateway-funded ${ms(g.sum.p99)} / ${ms(g.sum.p99NoGc)}, relay ${ms(r.sum.p99)} / ${ms(r.sum.p99NoGc)}`,
  );
  console.log(
    `  noise: ${pt.gcPauses.count} GC pauses during the bench (p50 ${ms(pt.gcPauses.p50)}, max ${ms(pt.gcPauses.max)}); the yardstick's p99/p50 (${(pt.recover.p99 / pt.recover.p50).toFixed(1)}x) shows this machine's scheduling noise; "p99 of median" close to p50 means the raw p99 is noise, not work some requests need`,
  );

  const n = pt.requests;
  const claimPerReq = Number(pt.claim.gas) / n;
  const pr = pt.perRequest;
  const baseline = pt.redeemGas;
  printTable(
    `On-chain gas per request, same ${n}-request LLM workload (direct run: ${pt.totalCharged} wei charged on ${pt.ticketsUsed} persistent ticket(s), ${WARMUP} warm-up requests included in the claim)`,
    [
      [
        `persistent: ${pt.claim.txs} batched claim (real receipt gasUsed) / ${n}`,
        pt.claim.gas.toString(),
        claimPerReq.toFixed(2),
        pct(claimPerReq, baseline),
      ],
      [
        `baseline: one ticket batch per request, each settled on chain (1 redeemWinningTicket per request)`,
        (baseline * n).toString(),
        baseline.toString(),
        "100 %",
      ],
    ],
    ["payment path", "total gas", "gas/request", "vs baseline"],
  );
  console.log(
    `  target: persistent <= 1 % of the baseline: ${pct(claimPerReq, baseline)} (${claimPerReq <= baseline / 100 ? "met" : "NOT met"}); redeemWinningTicket ${baseline} gas (measureGas(), steady state, on anvil, this run)`,
  );
  const pWin = Number(pr.winProb) / 2 ** 256;
  const fvByGas = pr.faceValue !== 100n * pr.ev; // spec §2.1: fv = 100 × txCost unless floored at 100 × EV
  const impliedGasPrice = Number(pr.faceValue) / (100 * Number(DEFAULT_REDEEM_GAS));
  console.log(
    `  secondary (depends on price and gas-price settings): probabilistic tickets, expected gas = tickets x P(win) x redeem gas / ${n} = ${pr.tickets} x ${pWin.toExponential(3)} x ${baseline} / ${n} = ${pr.expectedGasPerRequest.toFixed(4)} gas/request (persistent / expected = ${pct(claimPerReq, pr.expectedGasPerRequest)}); orchestrator's real params: face value ${pr.faceValue} wei, EV ${pr.ev} wei (default ${DEFAULT_TICKET_EV})`,
  );
  console.log(
    `  why it depends on settings: face value = txCostMultiplier (100) x redeemGas budget (${DEFAULT_REDEEM_GAS}) x gas price (spec §2.1; ${fvByGas ? `here ${(impliedGasPrice / 1e9).toFixed(3)} gwei` : "here floored at 100 x EV"}), so a win costs about 1/100 of the budgeted gas per wei it pays: expected on-chain spend is ~ (redeem gas / budget) / 100 = ${pct(baseline, 100 * Number(DEFAULT_REDEEM_GAS))} of value paid whatever the request count, and its gas per request is set by price per request / face value, not by the scheme`,
  );
  const gp = pt.claim.gasPrice;
  const valueProb = pr.tickets * pr.ev;
  const w = (gas: bigint, value: bigint) => pct(Number(gas * gp), Number(value));
  console.log(
    `  wei at the same gas price (the claim's effectiveGasPrice, ${gp} wei): persistent claim gas x gas price / value claimed = ${w(pt.claim.gas, pt.totalCharged)}; probabilistic expected redemption cost / value paid = tickets x P(win) x redeem gas x gas price / (tickets x EV) = ${pct(Number(pr.tickets) * pWin * baseline * Number(gp), Number(valueProb))}; per-request settlement baseline: ${n} x redeem gas x gas price / value claimed = ${w(BigInt(baseline * n), pt.totalCharged)} (value per request here: ${(Number(pt.totalCharged) / (n + WARMUP) / 1e9).toFixed(1)} gwei at ${PRICE} wei/token)`,
  );
  console.log(
    `  not in the per-request figures: payer's fundDepositAndReserve ${pt.fundGas} gas, unlock ${pt.unlockGas} + withdraw ${pt.withdrawGas} gas (once per deposit; a probabilistic-ticket payer funds and withdraws too)`,
  );
}
