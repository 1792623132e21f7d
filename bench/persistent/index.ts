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
  jobCapabilities,
  OrchestratorRpc,
  startDevnet,
  startGateway,
  startOrchestrator,
  type OrchestratorHandle,
} from "@livepay/node";
import { decodeReceiptHeader, persistentDomain, type Hex, type PrivateKey } from "@livepay/protocol";
import { createPayer, memoryStorage } from "@livepay/protocol/client";
import OpenAI from "openai";
import { createPublicClient, createWalletClient, http, type Address, type TransactionReceipt } from "viem";
import { privateKeyToAccount } from "viem/accounts";
// Not part of @livepay/node's public entry point; the built module is the same code the gateway runs.
import { EstimateAccuracy } from "../../packages/node/dist/gateway/persistentAccuracy.js";
import { percentile, watchGc, type Span } from "../stats.js";
import {
  type Sample,
  type Passes,
  type PersistentBench,
  figures,
  sumFigures,
  replay,
  unionMs,
  live,
  spanOf,
  PASSES,
} from "./figures.js";
import { type Exchange, probe, recordingFetch } from "./recording.js";
import { payerPass, orchestratorPass, relayPass } from "./replay.js";
import { ETH, MODEL, PRICE, DEPOSIT, RESERVE, TWO_256, GATEWAY_FEE, WARMUP } from "./workload.js";

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
