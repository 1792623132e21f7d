import { parseArgs } from "node:util";
import { LivepayError } from "@livepay/protocol";
import { pino } from "pino";
import { ChainError } from "../../chain/errors.js";
import { ConfigError } from "../../config/chainOptions.js";
import {
  loadOrchestratorConfigFile,
  mergeOrchestratorConfig,
  orchestratorConfigFromEnv,
  resolveOrchestratorConfig,
  redactOrchestratorConfig,
  type OrchestratorConfig,
  type OrchestratorConfigInput,
} from "../../orchestrator/config.js";
import { startOrchestrator } from "../../orchestrator/startOrchestrator.js";
import { EXIT_FAILED, toJson, type CliIo, type CommandGroup } from "../command.js";
import { EXIT_OK, UsageError, parseOrUsage, runCommand } from "./chainCommon.js";

const USAGE = `Usage: livepay orchestrator --config FILE [options]

Runs a livepay orchestrator: go-livepeer's gRPC GetOrchestrator (ticket params, prices, auth
tokens) and AI routes (/llm, /text-to-image, /image-to-image, /audio-to-text, /text-to-speech,
/embeddings) paid with Livepeer tickets; persists balances, nonces and winning tickets, and
redeems winners on chain after their params expire. Stops on Ctrl-C / SIGTERM.

  --config FILE          JSON configuration (see packages/node/src/orchestrator/README.md)
  --models FILE          aiModels.json-style models file (overrides the config's "models")
  --private-key KEY      signing key                                    [LIVEPAY_PRIVATE_KEY]
  --account NAME         devnet: manifest account whose key signs (default orchestrator)
  --recipient ADDR       ticket payee (default: the key's address)      [LIVEPAY_ORCH_RECIPIENT]
  --network NAME         devnet (default), arbitrum-one or custom       [LIVEPAY_NETWORK]
  --manifest PATH        devnet manifest (default .livepay/devnet.json)  [LIVEPAY_MANIFEST]
  --rpc-url URL          JSON-RPC endpoint                              [LIVEPAY_RPC_URL]
  --store PATH|URL       SQLite path or postgres:// url                 [LIVEPAY_ORCH_STORE]
  --data-dir DIR         default store directory (.livepay/orchestrator) [LIVEPAY_ORCH_DATA_DIR]
  --host HOST            listen address (default 127.0.0.1)
  --grpc-port N          gRPC port (default 8935; 0: any free port)
  --http-port N          HTTP port (default 8936; 0: any free port)
  --service-uri URL      base URL of the AI routes advertised to gateways [LIVEPAY_ORCH_SERVICE_URI]
  --ticket-ev AMT        expected value per ticket (default 8gwei)       [LIVEPAY_ORCH_TICKET_EV]
  --max-face-value AMT   cap on face values (default none)
  --gas-price AMT        fixed gas price for face values (default: the RPC's)
  --log-level LEVEL      pino level (default info)                      [LIVEPAY_LOG_LEVEL]
  --print-config         print the resolved configuration (redacted) and exit
  -h, --help             show this help

Flags win over environment variables, which win over the config file.`;

const OPTIONS = {
  config: { type: "string" },
  models: { type: "string" },
  "private-key": { type: "string" },
  account: { type: "string" },
  recipient: { type: "string" },
  network: { type: "string" },
  manifest: { type: "string" },
  "rpc-url": { type: "string" },
  store: { type: "string" },
  "data-dir": { type: "string" },
  host: { type: "string" },
  "grpc-port": { type: "string" },
  "http-port": { type: "string" },
  "service-uri": { type: "string" },
  "ticket-ev": { type: "string" },
  "max-face-value": { type: "string" },
  "gas-price": { type: "string" },
  "log-level": { type: "string" },
  "print-config": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

function portFlag(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) > 65535)
    throw new UsageError(`--${name} must be a port number, got "${text}"`);
  return Number(text);
}

/**
 * Runs `livepay orchestrator` until `signal` aborts, then stops and resolves to the exit code. Logs
 * (pino JSON lines) go to `io.stdout`.
 * @example await runOrchestrator(["--config", "orchestrator.json"], io, AbortSignal.timeout(60_000))
 */
export async function runOrchestrator(argv: string[], io: CliIo, signal: AbortSignal): Promise<number> {
  return runCommand(io, USAGE, async () => {
    const { values: v, positionals } = parseOrUsage(() =>
      parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true }),
    );
    if (v.help) {
      io.stdout(`${USAGE}\n`);
      return EXIT_OK;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    if (v.config === undefined && v.models === undefined)
      throw new UsageError("give --config FILE (or at least --models FILE)");
    const store = v.store;
    const flags: OrchestratorConfigInput = {
      privateKey: v["private-key"],
      recipient: v.recipient,
      dataDir: v["data-dir"],
      host: v.host,
      grpcPort: portFlag(v["grpc-port"], "grpc-port"),
      httpPort: portFlag(v["http-port"], "http-port"),
      serviceUri: v["service-uri"],
      logLevel: v["log-level"],
      chain: {
        network: v.network as "devnet" | "arbitrum-one" | "custom" | undefined,
        manifest: v.manifest,
        rpcUrl: v["rpc-url"],
        account: v.account,
      },
      store:
        store === undefined
          ? undefined
          : /^postgres(ql)?:\/\//i.test(store)
            ? { url: store }
            : { path: store },
      tickets: { ev: v["ticket-ev"], maxFaceValue: v["max-face-value"], gasPrice: v["gas-price"] },
    };
    if (v.models !== undefined) flags.models = v.models;
    const env = orchestratorConfigFromEnv(process.env);
    let config: OrchestratorConfig;
    if (v.config !== undefined) config = await loadOrchestratorConfigFile(v.config, env, flags);
    else config = await resolveOrchestratorConfig(mergeOrchestratorConfig(env, flags));
    if (v["print-config"]) {
      io.stdout(`${toJson(redactOrchestratorConfig(config))}\n`);
      return EXIT_OK;
    }
    if (signal.aborted) return EXIT_OK;
    const logger = pino(
      { level: config.logLevel, base: { node: "orchestrator" } },
      { write: (line: string) => io.stdout(line) },
    );
    let orchestrator;
    try {
      orchestrator = await startOrchestrator(config, { logger });
    } catch (e) {
      // Chain and configuration errors get runCommand's exit codes; store/runner failures exit 1.
      if (e instanceof ChainError || e instanceof ConfigError || !(e instanceof LivepayError)) throw e;
      io.stderr(`error: ${e.message}\n`);
      return EXIT_FAILED;
    }
    try {
      await new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        else signal.addEventListener("abort", () => resolve(), { once: true });
      });
    } finally {
      await orchestrator.stop();
    }
    return EXIT_OK;
  });
}

/** `livepay orchestrator`: runs until Ctrl-C or SIGTERM. */
export const orchestratorCommand: CommandGroup = {
  name: "orchestrator",
  summary: "Run an orchestrator: GetOrchestrator, paid AI routes, ticket redemption",
  async run(argv: string[], io: CliIo): Promise<number> {
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    try {
      return await runOrchestrator(argv, io, stop.signal);
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  },
};
