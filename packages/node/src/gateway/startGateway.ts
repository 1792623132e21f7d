import type { AddressInfo } from "node:net";
import { privateKeyToAddress, type Hex } from "@livepay/protocol";
import { OrchestratorRegistryAbi } from "@livepay/contracts";
import { pino, type Logger } from "pino";
import { connectChainClients, type ConnectedChain } from "../chain/connect.js";
import { manifestAccount, readManifest, type DevnetManifest } from "../chain/manifest.js";
import { ConfigError, DEFAULT_MANIFEST_PATH } from "../config/chainOptions.js";
import { openStore, type Store } from "../store/openStore.js";
import { CapabilityMap } from "./capabilities.js";
import { GatewayChainView } from "./chainView.js";
import {
  redactGatewayConfig,
  resolveGatewayConfig,
  type GatewayConfig,
  type GatewayConfigInput,
} from "./config.js";
import { registryOrchestrators, staticOrchestrators } from "./discovery.js";
import { JobExecutor } from "./executor.js";
import { GatewayMetrics } from "./metrics.js";
import { NonceAllocator } from "./nonceAllocator.js";
import { OrchestratorPool } from "./orchestratorPool.js";
import { OrchestratorRpc } from "../net/orchestratorRpc.js";
import { PersistentGateway } from "./persistentGateway.js";
import { PersistentTicketBrokerAbi } from "@livepay/contracts";
import { Payer } from "./payer.js";
import { buildGatewayApp } from "./server.js";
import { SessionCache } from "./sessions.js";

/** Things a caller may hand the gateway instead of letting it build them (tests, `npm start`). */
export interface GatewayDeps {
  /** An open store (not closed by `stop`). */
  store?: Store;
  logger?: Logger;
}

/** A running gateway. */
export interface RunningGateway {
  /** Base URL, e.g. "http://127.0.0.1:8937". */
  url: string;
  /** The ticket sender's address. */
  address: Hex;
  config: GatewayConfig;
  store: Store;
  metrics: GatewayMetrics;
  pool: OrchestratorPool;
  /** Persistent tickets, when `persistent.mode` is "gateway" or "relay". */
  persistent: PersistentGateway | undefined;
  /** Re-runs discovery now (it also runs every `discovery.refreshIntervalMs`). */
  refreshOrchestrators(): Promise<void>;
  /** Stops serving, the watchers and timers; closes the store if the gateway opened it. */
  stop(): Promise<void>;
}

async function chainAndKey(
  config: GatewayConfig,
): Promise<{ connected: ConnectedChain; privateKey: Hex; manifest: DevnetManifest | undefined }> {
  const c = config.chain;
  let manifest: DevnetManifest | undefined;
  let connected: ConnectedChain;
  if (c.network === "devnet") {
    manifest =
      typeof c.manifest === "object" ? c.manifest : await readManifest(c.manifest ?? DEFAULT_MANIFEST_PATH);
    connected = await connectChainClients({ network: "devnet", manifest, rpcUrl: c.rpcUrl });
  } else {
    connected = await connectChainClients({ network: "arbitrum-one", rpcUrl: c.rpcUrl });
  }
  let privateKey = config.privateKey as Hex | undefined;
  if (privateKey === undefined && manifest) {
    const account = manifestAccount(manifest, c.account);
    if (!account?.privateKey) {
      throw new ConfigError(
        "CONFIG_ACCOUNT",
        `the devnet manifest has no key for account "${c.account}": set privateKey`,
      );
    }
    privateKey = account.privateKey;
  }
  if (privateKey === undefined) {
    throw new ConfigError(
      "CONFIG_PRIVATE_KEY",
      "the gateway needs a key to sign tickets: set privateKey or LIVEPAY_PRIVATE_KEY",
    );
  }
  return { connected, privateKey, manifest };
}

/**
 * Starts a gateway: connects to the chain (sender info, rounds, the orchestrator registry), opens
 * the store, discovers and probes orchestrators, and serves the OpenAI-compatible and Livepeer AI
 * APIs, paying every request with tickets. Resolves once it listens.
 *
 * @example
 * const gw = await startGateway({ port: 0, chain: { manifest: devnet.manifest }, store: { path: ":memory:" } });
 * console.log(gw.url); await gw.stop();
 */
export async function startGateway(
  input: GatewayConfigInput,
  deps: GatewayDeps = {},
): Promise<RunningGateway> {
  const config = resolveGatewayConfig(input);
  const log = deps.logger ?? pino({ level: config.logLevel, name: "livepay-gateway" });
  log.info({ config: redactGatewayConfig(config) }, "starting gateway");

  const cleanups: (() => Promise<void> | void)[] = [];
  const cleanup = async () => {
    for (const f of cleanups.reverse())
      await Promise.resolve(f()).catch((e: unknown) => log.warn({ err: e }, "stop step failed"));
  };
  try {
    const { connected, privateKey, manifest } = await chainAndKey(config);
    const sender = privateKeyToAddress(privateKey);
    const store = deps.store ?? (await openStore(config.store));
    if (!deps.store) cleanups.push(() => store.close());
    // Open reservations older than any request can run belong to a gateway that crashed mid-request.
    const released = await store.reservations.releaseOpenBefore(Date.now() - 2 * config.requestTimeoutMs);
    if (released > 0) log.warn({ released }, "released credit reservations left open by a previous run");

    const metrics = new GatewayMetrics();
    const chain = new GatewayChainView(connected.chain, sender, {
      pollIntervalMs:
        config.chain.pollIntervalMs ?? (/127\.0\.0\.1|localhost/.test(connected.rpcUrl) ? 500 : 2000),
      warnDepositBelow: config.funds.warnDepositBelow,
      warnReserveBelow: config.funds.warnReserveBelow,
      log,
      metrics,
    });
    await chain.start();
    cleanups.push(() => chain.stop());

    const rpc = new OrchestratorRpc({ sender, privateKey, timeoutMs: config.discovery.timeoutMs });
    cleanups.push(() => rpc.close());
    const caps = new CapabilityMap(config.capabilityIds);
    const registry = connected.chain.addresses.bondingManager;
    const discover =
      config.orchestrators !== undefined
        ? async () => staticOrchestrators(config.orchestrators!)
        : () => registryOrchestrators(connected.publicClient, registry, config.discovery.serviceRegistry);
    const stakeOf = (address: string) =>
      connected.publicClient.readContract({
        address: registry,
        abi: OrchestratorRegistryAbi,
        functionName: "transcoderTotalStake",
        args: [address as Hex],
      });
    const pool = new OrchestratorPool({ discover, rpc, caps, log, metrics, stakeOf });
    const sessions = new SessionCache({ rpc, caps, metrics });
    const nonces = new NonceAllocator(store.sessionNonces, config.payments.nonceBlock);
    const payer = new Payer({
      privateKey,
      sender,
      chain,
      nonces,
      store: store.gatewayBalances,
      metrics,
      limits: {
        maxTicketEV: config.payments.maxTicketEV,
        maxTotalEV: config.payments.maxTotalEV,
        depositMultiplier: config.payments.depositMultiplier,
      },
    });
    sessions.onNewSession = (s) => payer.loadBalance(s);
    const executor = new JobExecutor({ config, pool, sessions, payer, store, chain, metrics, log });

    await pool.refresh();
    const timer = setInterval(() => void pool.refresh(), config.discovery.refreshIntervalMs);
    timer.unref();
    cleanups.push(() => clearInterval(timer));

    let persistent: PersistentGateway | undefined;
    if (config.persistent.mode !== "off") {
      const broker = (
        config.persistent.broker ?? manifest?.contracts.persistentTicketBroker
      )?.toLowerCase() as Hex | undefined;
      if (broker === undefined) {
        throw new ConfigError(
          "CONFIG_GATEWAY",
          "gateway config: persistent.broker is required (none in the manifest)",
        );
      }
      const info = (await connected.publicClient.readContract({
        address: broker,
        abi: PersistentTicketBrokerAbi,
        functionName: "getPayerInfo",
        args: [sender],
      } as never)) as readonly [bigint, bigint, bigint, bigint | number];
      persistent = new PersistentGateway({
        config,
        executor,
        pool,
        store,
        log,
        privateKey,
        chainId: await connected.publicClient.getChainId(),
        broker,
        epoch: BigInt(info[3]),
      });
    }
    const app = buildGatewayApp({ config, store, executor, pool, chain, metrics, log, persistent });
    await app.listen({ host: config.host, port: config.port });
    cleanups.push(() => app.close());
    const port = (app.server.address() as AddressInfo).port;
    const host = config.host.includes(":")
      ? `[${config.host}]`
      : config.host === "0.0.0.0"
        ? "127.0.0.1"
        : config.host;
    const url = `http://${host}:${port}`;
    log.info({ url, sender, orchestrators: pool.all().length }, "gateway listening");

    let stopped: Promise<void> | undefined;
    return {
      url,
      address: sender,
      config,
      store,
      metrics,
      pool,
      persistent,
      refreshOrchestrators: () => pool.refresh(),
      stop: () => (stopped ??= cleanup()),
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
