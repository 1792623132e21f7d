// Composes the orchestrator: chain view, store, ticket recipient, runners, gRPC, HTTP, redemption.
import { Rational, SenderNonces, TicketRecipient, type Hex } from "@livepay/protocol";
import type { FastifyInstance } from "fastify";
import { pino, type Logger } from "pino";
import { connectChainClients } from "../chain/connect.js";
import { createRunner } from "../runners/createRunner.js";
import type { Runner } from "../runners/runner.js";
import { openStore, type Store } from "../store/openStore.js";
import type { StoredWinningTicket } from "../store/winningTickets.js";
import { ChainState } from "./chainState.js";
import {
  redactOrchestratorConfig,
  resolveOrchestratorConfig,
  type OrchestratorConfig,
  type OrchestratorConfigInput,
} from "./config.js";
import { startGrpcServer, type GrpcServerHandle } from "./grpcServer.js";
import { startHttpServer, type HttpServerHandle } from "./httpServer.js";
import { Ledger } from "./ledger.js";
import { OrchestratorMetrics } from "./metrics.js";
import { buildOrchestratorInfo } from "./orchestratorInfo.js";
import { PaymentReceiver } from "./paymentReceiver.js";
import { PriceBook } from "./pricing.js";
import { Redeemer } from "./redeemer.js";
import { loadSecrets } from "./secrets.js";
// persistent tickets (packages/node/src/persistent)
import { startPersistentPayee, type PersistentPayeeHandle } from "../persistent/startPayee.js";

/** A running orchestrator. */
export interface OrchestratorHandle {
  /** gRPC `net.Orchestrator` endpoint (`http://host:port`, h2c): register this URI on chain. */
  grpcUrl: string;
  /** AI routes, /health, /metrics. */
  httpUrl: string;
  /** OrchestratorInfo.transcoder: the base URL gateways send AI requests to. */
  serviceUri: string;
  /** The signing address (OrchestratorInfo.address; sends redemptions). */
  address: Hex;
  /** The payee of the tickets. */
  recipient: Hex;
  config: OrchestratorConfig;
  /** A payer's balance for a manifest ("<capability>_<model>"), exact wei (0 if none). */
  balance(sender: string, manifestId: string): Promise<Rational>;
  /** The winning-ticket queue, oldest first. */
  winningTickets(): Promise<StoredWinningTicket[]>;
  /** Runs a redemption pass now and waits for it (normally one runs on every new block). */
  redeemNow(): Promise<void>;
  /** The persistent-ticket payee, when `persistent.enabled`. */
  persistent: PersistentPayeeHandle | undefined;
  /** Stops serving (in-flight jobs get up to 5 s), stops redeeming and closes the store. */
  stop(): Promise<void>;
}

export interface StartOrchestratorOptions {
  /** pino logger (default: a new one at the configured level, to stdout). */
  logger?: Logger;
  /** Directory relative paths in the input resolve against (default: the working directory). */
  baseDir?: string;
}

function isResolved(c: OrchestratorConfigInput | OrchestratorConfig): c is OrchestratorConfig {
  return (
    typeof (c as OrchestratorConfig).ticketEV === "bigint" && Array.isArray((c as OrchestratorConfig).prices)
  );
}

/**
 * Starts an orchestrator: validates the configuration, connects to the chain, opens the store
 * (loading the persisted HMAC secrets and nonces), starts the runners, the gRPC GetOrchestrator
 * server, the HTTP AI routes and the redemption loop. Resolves when all are serving.
 * @example
 * const o = await startOrchestrator({ chain: { manifest: ".livepay/devnet.json" }, grpcPort: 0, httpPort: 0,
 *   models: [{ pipeline: "llm", model_id: "m", runner: "synthetic", price_per_unit: "1000" }] });
 * console.log(o.grpcUrl, o.httpUrl); await o.stop();
 */
export async function startOrchestrator(
  input: OrchestratorConfigInput | OrchestratorConfig,
  opts: StartOrchestratorOptions = {},
): Promise<OrchestratorHandle> {
  const config = isResolved(input)
    ? input
    : await resolveOrchestratorConfig(input, { baseDir: opts.baseDir });
  const logger = opts.logger ?? pino({ level: config.logLevel, base: { node: "orchestrator" } });
  logger.info({ config: redactOrchestratorConfig(config) }, "orchestrator starting");

  const cleanup: (() => Promise<void>)[] = [];
  const runCleanup = async () => {
    for (const fn of cleanup.reverse()) {
      try {
        await fn();
      } catch (e) {
        logger.warn({ err: e instanceof Error ? e.message : String(e) }, "shutdown step failed");
      }
    }
  };
  try {
    const { chain, publicClient, rpcUrl } = await connectChainClients({
      ...config.chain,
      privateKey: config.privateKey,
    });
    const store: Store = await openStore(config.store);
    cleanup.push(() => store.close());
    const secrets = await loadSecrets(store.meta);
    const recipient = new TicketRecipient({
      address: config.recipient,
      secret: secrets.recipientSecret,
      nonces: new SenderNonces(await store.senderNonces.entries()),
    });

    const runners: Runner[] = config.models.map((m) => createRunner(m));
    cleanup.push(async () => void (await Promise.allSettled(runners.map((r) => r.close()))));
    const prices = new PriceBook(
      config.models.map((m, i) => ({ pipeline: m.pipeline, modelId: m.modelId, price: config.prices[i]! })),
    );
    const metrics = new OrchestratorMetrics({
      pendingWinners: async () =>
        (await store.winningTickets.list({ status: "pending", limit: 100_000 })).length,
    });

    const state = new ChainState({
      chain,
      publicClient,
      recipient: config.recipient,
      pollIntervalMs: config.pollIntervalMs,
      gasPrice: config.gasPrice,
      minGasPrice: config.minGasPrice,
      maxGasPrice: config.maxGasPrice,
      logger,
    });
    cleanup.push(() => state.stop());
    await state.start();
    if (!state.recipientActive) {
      logger.warn(
        { recipient: config.recipient },
        "recipient is not an active orchestrator: payments will be refused",
      );
    }

    const receiver = new PaymentReceiver({
      recipient,
      store,
      state,
      authSecret: secrets.authSecret,
      metrics,
      logger,
    });
    const ledger = new Ledger(store.payerBalances, metrics);
    const redeemer = new Redeemer({
      chain,
      publicClient,
      state,
      queue: store.winningTickets,
      redeemGas: config.redeemGas,
      metrics,
      logger,
      maxBackoffMs: config.redemption.maxBackoffMs,
    });
    cleanup.push(() => redeemer.stop());
    const onBlock = (block: bigint) => {
      receiver
        .cleanupNonces(block)
        .catch((e: unknown) =>
          logger.warn({ err: e instanceof Error ? e.message : String(e) }, "nonce cleanup failed"),
        );
      if (config.redemption.enabled) redeemer.trigger();
    };
    state.watcher.onBlock((b) => onBlock(b.roundsBlockNumber));
    // Winners queued before a restart are redeemable now if their params already expired.
    onBlock(state.lastSeenL1Block);

    // persistent tickets: payee state, claimer, and its routes on the same HTTP server.
    const persistent = config.persistent.enabled
      ? await startPersistentPayee({
          config: config.persistent,
          publicClient,
          rpcUrl,
          privateKey: config.privateKey,
          runners,
          price: (p, m) => prices.price(p, m),
          logger,
        })
      : undefined;
    if (persistent) cleanup.push(() => persistent.stop());

    const http: HttpServerHandle = await startHttpServer({
      ...(persistent ? { extraRoutes: (app: FastifyInstance) => persistent.register(app) } : {}),
      host: config.host,
      port: config.httpPort,
      maxBodyBytes: config.maxBodyBytes,
      runners,
      prices,
      receiver,
      ledger,
      metrics,
      logger,
    });
    cleanup.push(async () => {
      const closed = http.stop();
      const timer = new Promise<void>((r) => setTimeout(r, 5000).unref());
      await Promise.race([closed, timer]);
      http.closeAllConnections();
      await closed;
    });
    const serviceUri = config.serviceUri ?? http.url;

    const grpc: GrpcServerHandle = await startGrpcServer({
      host: config.host,
      port: config.grpcPort,
      logger,
      handle: (req) =>
        buildOrchestratorInfo(
          {
            address: config.address,
            recipient: config.recipient,
            ticketEV: config.ticketEV,
            maxFaceValue: config.maxFaceValue,
            redeemGas: config.redeemGas,
            authTokenTtlSeconds: config.authTokenTtlSeconds,
            capabilitiesVersion: config.capabilitiesVersion,
            recipientSecret: secrets.recipientSecret,
            authSecret: secrets.authSecret,
            state,
            chain,
            winningTickets: store.winningTickets,
            prices,
            models: () =>
              runners.map((r) => ({
                pipeline: r.pipeline,
                modelId: r.modelId,
                warm: r.config.warm,
                capacity: r.capacity,
                inFlight: r.inFlight(),
              })),
            serviceUri: () => serviceUri,
          },
          req,
        ),
    });
    cleanup.push(() => grpc.stop());

    logger.info(
      {
        grpcUrl: grpc.url,
        httpUrl: http.url,
        serviceUri,
        address: config.address,
        recipient: config.recipient,
      },
      "orchestrator listening",
    );
    let stopping: Promise<void> | undefined;
    return {
      grpcUrl: grpc.url,
      httpUrl: http.url,
      serviceUri,
      address: config.address,
      recipient: config.recipient,
      config,
      balance: async (sender, manifestId) => {
        const b = await store.payerBalances.get(sender, manifestId);
        return b?.amount ?? Rational.ZERO;
      },
      winningTickets: () => store.winningTickets.list({ limit: 100_000 }),
      persistent,
      redeemNow: async () => {
        redeemer.trigger();
        await redeemer.idle();
      },
      stop: () => (stopping ??= runCleanup().then(() => logger.info("orchestrator stopped"))),
    };
  } catch (e) {
    await runCleanup();
    throw e;
  }
}
