// The whole local network behind `npm start`: a devnet, three orchestrators with synthetic runners
// (different prices and latencies), one gateway, and an API key with credit.
import { rm } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { startDevnet, type Devnet } from "../chain/devnet.js";
import { startGateway, type RunningGateway } from "../gateway/startGateway.js";
import { startOrchestrator, type OrchestratorHandle } from "../orchestrator/startOrchestrator.js";

const ETH = 10n ** 18n;

/** One orchestrator of the demo network: its prices and how fast its synthetic runner is. */
export interface DemoOrchestrator {
  /** wei per completion token */
  llmPrice: bigint;
  /** wei per output pixel */
  imagePrice: bigint;
  latencyMs: number;
  tokensPerSecond: number;
}

export const DEMO_ORCHESTRATORS: DemoOrchestrator[] = [
  { llmPrice: 2_000_000_000n, imagePrice: 4n, latencyMs: 150, tokensPerSecond: 60 },
  { llmPrice: 1_000_000_000n, imagePrice: 2n, latencyMs: 400, tokensPerSecond: 25 },
  { llmPrice: 3_000_000_000n, imagePrice: 3n, latencyMs: 80, tokensPerSecond: 120 },
];

export const DEMO_LLM_MODEL = "synthetic-llm";
export const DEMO_IMAGE_MODEL = "synthetic-sd";

export interface StartNetworkOptions {
  /** Folder for the SQLite stores and the devnet manifest; emptied first (default `.livepay/start`). */
  dataDir?: string;
  /** Gateway port (default 8937; 0 picks a free one). */
  gatewayPort?: number;
  /** Credit of the printed API key (default 0.05 ETH). */
  keyCredit?: bigint;
  /** Mine a block every this many ms (default 1000). */
  blockTimeMs?: number;
  logLevel?: string;
}

export interface RunningNetwork {
  devnet: Devnet;
  orchestrators: OrchestratorHandle[];
  gateway: RunningGateway;
  apiKey: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function portOrFree(port: number): Promise<number> {
  if (port === 0) return 0;
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(0));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(port)));
  });
}

function models(o: DemoOrchestrator) {
  const pace = { latency_ms: o.latencyMs, tokens_per_second: o.tokensPerSecond };
  return [
    {
      pipeline: "llm",
      model_id: DEMO_LLM_MODEL,
      runner: "synthetic",
      price_per_unit: o.llmPrice.toString(),
      capacity: 16,
      warm: true,
      ...pace,
    },
    {
      pipeline: "text-to-image",
      model_id: DEMO_IMAGE_MODEL,
      runner: "synthetic",
      price_per_unit: o.imagePrice.toString(),
      capacity: 4,
      warm: true,
      latency_ms: o.latencyMs,
    },
    {
      pipeline: "audio-to-text",
      model_id: "synthetic-whisper",
      runner: "synthetic",
      price_per_unit: "5000000",
      capacity: 4,
    },
    {
      pipeline: "text-to-speech",
      model_id: "synthetic-tts",
      runner: "synthetic",
      price_per_unit: "20000000",
      capacity: 4,
    },
    {
      pipeline: "embeddings",
      model_id: "synthetic-embed",
      runner: "synthetic",
      price_per_unit: "100000000",
      capacity: 8,
    },
  ];
}

/**
 * Starts the demo network and returns handles to every part. Ticket values are chosen so that
 * tickets win often enough to see redemptions within minutes on the devnet (EV 5e13 wei, face value
 * capped at 5e14, i.e. one ticket in ten wins) while a redemption (about 84k gas at anvil's ~1 gwei)
 * still costs far less than a face value.
 * @example const net = await startNetwork(); console.log(net.gateway.url, net.apiKey); await net.stop();
 */
export async function startNetwork(opts: StartNetworkOptions = {}): Promise<RunningNetwork> {
  const dataDir = opts.dataDir ?? join(".livepay", "start");
  const logLevel = opts.logLevel ?? "warn";
  // A fresh chain every start: state from an earlier chain would not match it.
  await rm(dataDir, { recursive: true, force: true });
  const grpcPorts = await Promise.all(DEMO_ORCHESTRATORS.map(() => freePort()));
  const devnet = await startDevnet({
    orchestrators: DEMO_ORCHESTRATORS.length,
    gateways: 1,
    gatewayDeposit: 2n * ETH,
    gatewayReserve: ETH,
    serviceURIs: grpcPorts.map((p) => `http://127.0.0.1:${p}`),
    blockTimeMs: opts.blockTimeMs ?? 1000,
    manifestPath: join(dataDir, "devnet.json"),
  });
  const orchestrators: OrchestratorHandle[] = [];
  let gateway: RunningGateway | undefined;
  const stop = async () => {
    await gateway?.stop().catch(() => undefined);
    for (const o of orchestrators) await o.stop().catch(() => undefined);
    await devnet.stop().catch(() => undefined);
  };
  try {
    // Start from round 1: params issued in round 0 take the sender's own round (spec §3.1).
    await devnet.nextRound();
    const account = (name: string) => devnet.manifest.accounts.find((a) => a.name === name)!;
    for (const [i, o] of DEMO_ORCHESTRATORS.entries()) {
      orchestrators.push(
        await startOrchestrator({
          privateKey: account(`orchestrator-${i + 1}`).privateKey!,
          chain: { manifest: devnet.manifest },
          store: { path: join(dataDir, `orchestrator-${i + 1}.db`) },
          grpcPort: grpcPorts[i]!,
          httpPort: 0,
          tickets: { ev: "50000000000000", maxFaceValue: "500000000000000", redeemGas: 100_000 },
          logLevel,
          models: models(o),
        } as Parameters<typeof startOrchestrator>[0]),
      );
    }
    gateway = await startGateway({
      port: await portOrFree(opts.gatewayPort ?? 8937),
      chain: { manifest: devnet.manifest, account: "gateway-1" },
      store: { path: join(dataDir, "gateway.db") },
      payments: { maxTicketEV: "100000000000000", maxTotalEV: "10000000000000000" },
      logLevel,
    } as Parameters<typeof startGateway>[0]);
    const created = await gateway.store.apiKeys.create("npm start", opts.keyCredit ?? ETH / 20n);
    return { devnet, orchestrators, gateway, apiKey: created.key, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
