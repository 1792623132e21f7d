// Paid requests end to end: one gateway and one orchestrator on a devnet (real anvil, real HTTP and
// gRPC, SQLite stores), the synthetic LLM runner answering at once. Baseline in the same run: the
// same runner behind an unpaid path of the same shape (client -> fastify proxy -> fastify server ->
// runner, keep-alive node:http upstream like the gateway's), so paid/unpaid shows what the payment
// and billing layer costs per request. Rounds of the two paths alternate, so drift on a shared
// machine hits both alike.
//
// Payment work per request comes from raw in-process samples: both nodes publish each payment's
// timings on a node:diagnostics_channel (the same values feed their Prometheus histograms
// `livepay_{gateway,orchestrator}_payment_{work,commit}_seconds`).
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import http from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  GATEWAY_PAYMENT_CHANNEL,
  ORCHESTRATOR_PAYMENT_CHANNEL,
  startDevnet,
  startGateway,
  startOrchestrator,
  type GatewayPaymentSample,
  type OrchestratorPaymentSample,
} from "@livepay/node";
import { personalHash, recoverDigestSigner, signDigest, utf8 } from "@livepay/protocol";
import Fastify from "fastify";
// Runners are not part of @livepay/node's public entry point; the built module is the same code the orchestrator runs.
import { createRunner, parseLlmRequest, type LlmRunner } from "../packages/node/dist/runners/index.js";
import { percentile } from "./stats.js";

const ETH = 10n ** 18n;
const MODEL = "synthetic-llm";
const MAX_TOKENS = 8;
const BODY = JSON.stringify({
  model: MODEL,
  messages: [{ role: "user", content: "Say something about probabilistic micropayments." }],
  max_tokens: MAX_TOKENS,
});
const RUNNER_ENTRY = {
  pipeline: "llm",
  model_id: MODEL,
  runner: "synthetic",
  // 1 gwei per completion token; ticket EV (below) is well above one request's fee, so the gateway
  // sends one ticket per request (spec §3: ceil((max(fee, EV) - credit) / EV) = 1), the common case.
  price_per_unit: "1000000000",
  capacity: 8,
};

/** Latency percentiles (ms) and throughput of one path. */
export interface PathFigures {
  rps: number;
  p50: number;
  p99: number;
}

/** Percentiles of one payment step, ms; `n` samples. */
export interface StepFigures {
  n: number;
  p50: number;
  p99: number;
}

export interface NodeBench {
  requests: number;
  paid: PathFigures;
  unpaid: PathFigures;
  ticketsPerRequest: number;
  gateway: { work: StepFigures; nonces: StepFigures; balance: StepFigures };
  orchestrator: { work: StepFigures; commit: StepFigures };
  /** Yardstick: one bare secp256k1 recover timed after each paid request, in the same process. */
  recover: StepFigures;
}

function figures(samplesMs: number[], totalMs: number): PathFigures {
  return {
    rps: (samplesMs.length * 1000) / totalMs,
    p50: percentile(samplesMs, 50),
    p99: percentile(samplesMs, 99),
  };
}

function step(samplesMs: number[]): StepFigures {
  if (samplesMs.length === 0) return { n: 0, p50: NaN, p99: NaN };
  return { n: samplesMs.length, p50: percentile(samplesMs, 50), p99: percentile(samplesMs, 99) };
}

/** The unpaid baseline: a fastify server running the runner, and a fastify proxy in front of it. */
async function startUnpaid(runner: LlmRunner) {
  const server = Fastify({ logger: false });
  server.post("/llm", async (req) => {
    const llm = parseLlmRequest(req.body);
    runner.bounds(llm);
    const { output } = await runner.run(llm, { signal: AbortSignal.timeout(30_000) });
    return output;
  });
  await server.listen({ host: "127.0.0.1", port: 0 });
  const upstream = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}/llm`;

  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const proxy = Fastify({ logger: false });
  proxy.addContentTypeParser("application/json", { parseAs: "buffer" }, (_req, body, done) =>
    done(null, body),
  );
  proxy.post("/v1/chat/completions", (req, reply) => {
    const body = req.body as Buffer;
    const up = http.request(upstream, {
      method: "POST",
      agent,
      headers: { "content-type": "application/json", "content-length": String(body.length) },
    });
    up.on("response", (res) => {
      reply
        .status(res.statusCode ?? 502)
        .header("content-type", res.headers["content-type"] ?? "application/json");
      void reply.send(res);
    });
    up.on("error", (e) => void reply.status(502).send({ error: { message: e.message } }));
    up.end(body);
    return reply;
  });
  await proxy.listen({ host: "127.0.0.1", port: 0 });
  return {
    url: `http://127.0.0.1:${(proxy.server.address() as AddressInfo).port}`,
    stop: async () => {
      await proxy.close();
      agent.destroy();
      await server.close();
    },
  };
}

/**
 * Sends `n` sequential chat completions; returns each latency in ms and the total time. `after`
 * runs between requests, outside the timings.
 */
async function drive(url: string, headers: Record<string, string>, n: number, after?: () => void) {
  const lat: number[] = [];
  let start = performance.now();
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: BODY,
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}: ${text.slice(0, 300)}`);
    lat.push(performance.now() - t0);
    if (after) {
      const t1 = performance.now();
      after();
      start += performance.now() - t1;
    }
  }
  return { lat, ms: performance.now() - start };
}

/**
 * Runs the node benchmark: `requests` measured requests per path (after `warmup` each), in
 * alternating rounds of `round`.
 * @example const r = await benchNode(); console.log(r.paid.rps / r.unpaid.rps)
 */
export async function benchNode(requests = 300, warmup = 30, round = 50): Promise<NodeBench> {
  const dir = await mkdtemp(join(tmpdir(), "livepay-bench-"));
  const stops: (() => Promise<unknown>)[] = [];
  const gwSamples: GatewayPaymentSample[] = [];
  const orSamples: OrchestratorPaymentSample[] = [];
  let recording = false;
  const onGw = (m: unknown) => void (recording && gwSamples.push(m as GatewayPaymentSample));
  const onOr = (m: unknown) => void (recording && orSamples.push(m as OrchestratorPaymentSample));
  subscribe(GATEWAY_PAYMENT_CHANNEL, onGw);
  subscribe(ORCHESTRATOR_PAYMENT_CHANNEL, onOr);
  try {
    const devnet = await startDevnet({
      orchestrators: 1,
      gateways: 1,
      gatewayDeposit: ETH,
      gatewayReserve: ETH,
      blockTimeMs: 0,
    });
    stops.push(() => devnet.stop());
    // Round 0 params take the sender's own round (spec §3.1): start from round 1, as a real chain does.
    await devnet.nextRound();
    const account = (name: string) => devnet.manifest.accounts.find((a) => a.name === name)!;
    const orch = await startOrchestrator({
      privateKey: account("orchestrator-1").privateKey!,
      chain: { manifest: devnet.manifest },
      store: { path: join(dir, "orchestrator.db") },
      grpcPort: 0,
      httpPort: 0,
      tickets: { ev: "8000000000" },
      logLevel: "silent",
      models: [RUNNER_ENTRY],
    } as Parameters<typeof startOrchestrator>[0]);
    stops.unshift(() => orch.stop());
    const gw = await startGateway({
      port: 0,
      chain: { manifest: devnet.manifest, account: "gateway-1" },
      store: { path: join(dir, "gateway.db") },
      orchestrators: [orch.grpcUrl],
      logLevel: "silent",
    } as Parameters<typeof startGateway>[0]);
    stops.unshift(() => gw.stop());
    const { key, apiKey } = await gw.store.apiKeys.create("bench", ETH / 10n);
    const auth = { authorization: `Bearer ${key}` };

    const runner = createRunner(RUNNER_ENTRY) as LlmRunner;
    const unpaid = await startUnpaid(runner);
    stops.unshift(() => unpaid.stop());

    await drive(gw.url, auth, warmup);
    await drive(unpaid.url, {}, warmup);

    // The yardstick: a fixed amount of CPU work (one signature recovery, about the cost of verifying
    // one ticket) timed under the same conditions as the payment work, so machine noise shows in it too.
    const SENDER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    const digest = personalHash(utf8("livepay bench"));
    const sig = signDigest(digest, SENDER_KEY);
    const recoverMs: number[] = [];
    const yardstick = () => {
      const t0 = performance.now();
      recoverDigestSigner(digest, sig);
      recoverMs.push(performance.now() - t0);
    };

    const paidLat: number[] = [];
    const unpaidLat: number[] = [];
    let paidMs = 0;
    let unpaidMs = 0;
    for (let done = 0; done < requests; done += round) {
      const n = Math.min(round, requests - done);
      recording = true;
      const p = await drive(gw.url, auth, n, yardstick);
      recording = false;
      const u = await drive(unpaid.url, {}, n);
      paidLat.push(...p.lat);
      unpaidLat.push(...u.lat);
      paidMs += p.ms;
      unpaidMs += u.ms;
    }

    const usage = await gw.store.usage.listByKey(apiKey.id, { limit: requests });
    const tickets = usage.reduce((a, u) => a + u.ticketsSent, 0);
    const gwStep = (s: GatewayPaymentSample["step"]) =>
      step(gwSamples.filter((x) => x.step === s).map((x) => x.seconds * 1000));
    return {
      requests,
      paid: figures(paidLat, paidMs),
      unpaid: figures(unpaidLat, unpaidMs),
      ticketsPerRequest: usage.length > 0 ? tickets / usage.length : NaN,
      gateway: { work: gwStep("work"), nonces: gwStep("nonces"), balance: gwStep("balance") },
      orchestrator: {
        work: step(orSamples.map((s) => s.workSeconds * 1000)),
        commit: step(
          orSamples.flatMap((s) => (s.commitSeconds === undefined ? [] : [s.commitSeconds * 1000])),
        ),
      },
      recover: step(recoverMs),
    };
  } finally {
    unsubscribe(GATEWAY_PAYMENT_CHANNEL, onGw);
    unsubscribe(ORCHESTRATOR_PAYMENT_CHANNEL, onOr);
    for (const s of stops) await s().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}
