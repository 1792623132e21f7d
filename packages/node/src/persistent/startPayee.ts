// Composes the persistent-ticket payee for an orchestrator: store, broker view, payee, claimer and
// the fastify routes. startOrchestrator calls this when its config has `persistent.enabled`.
import { join } from "node:path";
import { persistentDomain, type Hex, type PrivateKey, type Rational } from "@livepay/protocol";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { Chain, PublicClient, Transport } from "viem";
import { privateKeyToAddress } from "viem/accounts";
import { LivepayError } from "@livepay/protocol";
import type { Runner } from "../runners/runner.js";
import type { Pipeline } from "../runners/types.js";
import { PayeeBroker } from "./broker.js";
import { Claimer, type ClaimReport } from "./claimer.js";
import { PersistentPayee } from "./payee.js";
import { registerPersistentRoutes } from "./routes.js";
import { PersistentStore } from "./store.js";

/** The `persistent` section of an orchestrator config (all optional; `enabled` turns it on). */
export interface PersistentConfigInput {
  enabled?: boolean;
  /** PersistentTicketBroker address (devnet: the manifest's `contracts.persistentTicketBroker`). */
  broker?: string;
  /** SQLite file of the payee state (default `<dataDir>/persistent.db`). */
  store?: string;
  maxTicketsPerPayer?: number;
  quoteTtlSeconds?: number;
  /** Claimer's periodic check (default 2000 ms; 0 = only exposure triggers and `claimNow`). */
  claimPollMs?: number;
  /**
   * Private key of a separate account that sends the claims (made the payee's redeemer with
   * `setRedeemer` at start-up if it is not yet). Without it claims are sent from the orchestrator's
   * key, the same account as ticket redemptions (see README: nonce races are retried).
   */
  claimKey?: string;
}

/** A private key that prints as "***" (the resolved config is logged at start-up). */
export class SecretKey {
  readonly #key: Hex;
  constructor(key: Hex) {
    this.#key = key;
  }
  /** The key itself. @example privateKeyToAccount(secret.reveal()) */
  reveal(): Hex {
    return this.#key;
  }
  toJSON(): string {
    return "***";
  }
  toString(): string {
    return "***";
  }
}

/** Resolved `persistent` section. */
export interface PersistentConfig {
  enabled: boolean;
  broker: Hex | undefined;
  store: string;
  maxTicketsPerPayer: number;
  quoteTtlSeconds: number;
  claimPollMs: number;
  claimKey: SecretKey | undefined;
}

/** Invalid `persistent` configuration. */
export class PersistentConfigError extends LivepayError {}

/**
 * Validates the `persistent` section.
 * @example resolvePersistentConfig({ enabled: true }, { dataDir: ".livepay/orchestrator", manifestBroker })
 */
export function resolvePersistentConfig(
  input: PersistentConfigInput | undefined,
  ctx: { dataDir: string; manifestBroker?: string | undefined },
): PersistentConfig {
  const i = input ?? {};
  const int = (v: number | undefined, field: string, fallback: number, min: number): number => {
    if (v === undefined) return fallback;
    if (!Number.isSafeInteger(v) || v < min) {
      throw new PersistentConfigError("CONFIG_INVALID", `persistent.${field} must be an integer ≥ ${min}`);
    }
    return v;
  };
  const broker = i.broker ?? ctx.manifestBroker;
  if (broker !== undefined && !/^0x[0-9a-fA-F]{40}$/.test(broker)) {
    throw new PersistentConfigError("CONFIG_INVALID", "persistent.broker must be an address");
  }
  const enabled = i.enabled === true;
  if (enabled && broker === undefined) {
    throw new PersistentConfigError(
      "CONFIG_INVALID",
      "persistent.broker is required (no PersistentTicketBroker in the manifest)",
    );
  }
  if (i.claimKey !== undefined && !/^0x[0-9a-fA-F]{64}$/.test(i.claimKey)) {
    throw new PersistentConfigError(
      "CONFIG_INVALID",
      "persistent.claimKey must be a 32-byte hex private key",
    );
  }
  return {
    enabled,
    claimKey: i.claimKey !== undefined ? new SecretKey(i.claimKey.toLowerCase() as Hex) : undefined,
    broker: broker?.toLowerCase() as Hex | undefined,
    store: i.store ?? join(ctx.dataDir, "persistent.db"),
    maxTicketsPerPayer: int(i.maxTicketsPerPayer, "maxTicketsPerPayer", 16, 1),
    quoteTtlSeconds: int(i.quoteTtlSeconds, "quoteTtlSeconds", 120, 1),
    claimPollMs: int(i.claimPollMs, "claimPollMs", 2000, 0),
  };
}

/** A running persistent payee. */
export interface PersistentPayeeHandle {
  payee: PersistentPayee;
  claimer: Claimer;
  store: PersistentStore;
  /** Adds the routes to the orchestrator's fastify app (before it listens). */
  register(app: FastifyInstance): void;
  /** Claims everything claimable now in one batch. */
  claimNow(): Promise<ClaimReport | undefined>;
  stop(): Promise<void>;
}

/**
 * Opens the payee state, recovers requests a crash left unanswered, and starts the claimer.
 * @example const p = await startPersistentPayee({ config, publicClient, rpcUrl, privateKey, runners, price, logger })
 */
export async function startPersistentPayee(o: {
  config: PersistentConfig;
  publicClient: PublicClient<Transport, Chain>;
  rpcUrl: string;
  privateKey: Hex;
  runners: readonly Runner[];
  price: (pipeline: Pipeline, modelId: string) => Rational | undefined;
  logger: Logger;
}): Promise<PersistentPayeeHandle> {
  if (!o.config.broker) throw new PersistentConfigError("CONFIG_INVALID", "persistent.broker is required");
  const logger = o.logger.child({ component: "persistent" });
  const store = new PersistentStore(o.config.store);
  try {
    const broker = new PayeeBroker({
      publicClient: o.publicClient,
      broker: o.config.broker,
      privateKey: o.privateKey,
      claimKey: o.config.claimKey?.reveal(),
      rpcUrl: o.rpcUrl,
    });
    if (await broker.ensureRedeemer())
      logger.info({ redeemer: broker.claimer }, "claim key registered as redeemer");
    const chainId = await o.publicClient.getChainId();
    const domain = persistentDomain(chainId, o.config.broker);
    // The claimer needs the payee and the payee reports exposure to the claimer.
    const hook: { claimer?: Claimer } = {};
    const payee = new PersistentPayee({
      store,
      broker,
      domain,
      payee: privateKeyToAddress(o.privateKey).toLowerCase() as Hex,
      signingKey: o.privateKey as PrivateKey,
      maxTicketsPerPayer: o.config.maxTicketsPerPayer,
      quoteTtlSeconds: o.config.quoteTtlSeconds,
      onExposure: (payer, epoch, e, a) => hook.claimer?.onExposure(payer, epoch, e, a),
    });
    const recovered = payee.recover();
    if (recovered > 0) logger.warn({ recovered }, "zero-unit receipts for requests interrupted by a restart");
    const claimer = new Claimer({
      store,
      broker,
      payee,
      domain,
      logger,
      pollIntervalMs: o.config.claimPollMs,
    });
    hook.claimer = claimer;
    claimer.start();
    const c = claimer;
    return {
      payee,
      claimer: c,
      store,
      register: (app) => registerPersistentRoutes(app, { payee, runners: o.runners, price: o.price, logger }),
      claimNow: () => c.claimNow(),
      stop: async () => {
        await c.stop();
        store.close();
      },
    };
  } catch (e) {
    store.close();
    throw e;
  }
}
