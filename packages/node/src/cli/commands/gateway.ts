import { parseArgs } from "node:util";
import { LivepayError } from "@livepay/protocol";
import { formatAmount, parseAmount } from "../../config/amount.js";
import {
  applyGatewayOverrides,
  gatewayOverridesFromEnv,
  readGatewayConfigFile,
  resolveGatewayConfig,
  type GatewayConfigInput,
  type GatewayOverrides,
} from "../../gateway/config.js";
import { startGateway } from "../../gateway/startGateway.js";
import type { ApiKey } from "../../store/apiKeys.js";
import { StoreError } from "../../store/errors.js";
import { openStore } from "../../store/openStore.js";
import { toJson, type CliIo, type CommandGroup } from "../command.js";
import { EXIT_OK, UsageError, parseOrUsage, runCommand } from "./chainCommon.js";

const USAGE = `Usage: livepay gateway [options]
       livepay gateway keys create --credit AMT [--name NAME] [--cap-per-request AMT] [--cap-per-day AMT]
       livepay gateway keys list
       livepay gateway keys credit KEY_ID AMT

Runs a gateway: an OpenAI-compatible API (/v1/chat/completions with streaming, /v1/images/generations,
/v1/audio/transcriptions, /v1/audio/speech, /v1/embeddings, /v1/models) and the Livepeer AI routes
(/llm, /text-to-image, /image-to-image, /audio-to-text, /text-to-speech) in front of orchestrators found
on chain (or listed), paying each request with tickets and billing API keys with credit. Stops on
Ctrl-C / SIGTERM. "keys" manages API keys in the gateway's store.

Options (flags win over environment variables, which win over the config file):
  --config FILE        JSON configuration (see packages/node/src/gateway/README.md)
  --host HOST          listen address (default 127.0.0.1)             [LIVEPAY_GATEWAY_HOST]
  --port N             listen port (default 8937; 0 = any free port)  [LIVEPAY_GATEWAY_PORT]
  --store PATH|URL     SQLite path or postgres:// url (default .livepay/gateway.db) [LIVEPAY_GATEWAY_STORE]
  --admin-token TOKEN  enables the /admin endpoints                   [LIVEPAY_GATEWAY_ADMIN_TOKEN]
  --orchestrator URI   use this orchestrator (repeat); default: the on-chain registry [LIVEPAY_GATEWAY_ORCHESTRATORS]
  --log-level LEVEL    fatal, error, warn, info (default), debug, trace, silent [LIVEPAY_GATEWAY_LOG_LEVEL]
  --network NAME       devnet (default) or arbitrum-one               [LIVEPAY_NETWORK]
  --manifest PATH      devnet manifest (default .livepay/devnet.json) [LIVEPAY_MANIFEST]
  --rpc-url URL        JSON-RPC endpoint                              [LIVEPAY_RPC_URL]
  --private-key KEY    the gateway's ticket-signing key               [LIVEPAY_PRIVATE_KEY]
  --account NAME       devnet account that pays when no key is given (default gateway) [LIVEPAY_ACCOUNT]
  --json               (keys) print JSON
  -h, --help           show this help

Amounts: "0.1eth", "3gwei", "1000wei" or a whole number of wei.
`;

const OPTIONS = {
  config: { type: "string" },
  host: { type: "string" },
  port: { type: "string" },
  store: { type: "string" },
  "admin-token": { type: "string" },
  orchestrator: { type: "string", multiple: true },
  "log-level": { type: "string" },
  network: { type: "string" },
  manifest: { type: "string" },
  "rpc-url": { type: "string" },
  "private-key": { type: "string" },
  account: { type: "string" },
  name: { type: "string" },
  credit: { type: "string" },
  "cap-per-request": { type: "string" },
  "cap-per-day": { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

type Values = ReturnType<typeof parse>["values"];

function parse(argv: string[]) {
  return parseOrUsage(() =>
    parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true }),
  );
}

async function loadInput(
  values: Values,
  env: Record<string, string | undefined>,
): Promise<GatewayConfigInput> {
  const file = values.config !== undefined ? await readGatewayConfigFile(values.config) : {};
  const flags: GatewayOverrides = {
    host: values.host,
    port: values.port,
    store: values.store,
    adminToken: values["admin-token"],
    orchestrators: values.orchestrator?.join(","),
    logLevel: values["log-level"],
    network: values.network,
    manifest: values.manifest,
    rpcUrl: values["rpc-url"],
    privateKey: values["private-key"],
    account: values.account,
  };
  return applyGatewayOverrides(file, flags, gatewayOverridesFromEnv(env));
}

function keyLine(k: ApiKey): string {
  const caps = [
    k.caps.perRequestWei !== undefined ? `per request ${formatAmount(k.caps.perRequestWei)}` : undefined,
    k.caps.perDayWei !== undefined ? `per day ${formatAmount(k.caps.perDayWei)}` : undefined,
  ].filter((c) => c !== undefined);
  return `${k.id}  ${k.prefix}…  ${k.name}  available ${formatAmount(k.availableWei)}  spent ${formatAmount(k.spentWei)}${caps.length ? `  caps: ${caps.join(", ")}` : ""}${k.disabled ? "  (disabled)" : ""}`;
}

async function runKeys(values: Values, args: string[], io: CliIo): Promise<number> {
  const config = resolveGatewayConfig(await loadInput(values, process.env));
  const store = await openStore(config.store);
  try {
    const [cmd, ...rest] = args;
    if (cmd === "create") {
      if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
      if (values.credit === undefined) throw new UsageError("keys create needs --credit AMT (e.g. 0.1eth)");
      const credit = parseAmount(values.credit);
      const caps = {
        ...(values["cap-per-request"] !== undefined
          ? { perRequestWei: parseAmount(values["cap-per-request"]) }
          : {}),
        ...(values["cap-per-day"] !== undefined ? { perDayWei: parseAmount(values["cap-per-day"]) } : {}),
      };
      const { key, apiKey } = await store.apiKeys.create(values.name ?? "api key", credit, caps);
      io.stdout(
        values.json
          ? `${toJson({ key, ...apiKey })}\n`
          : `API key (shown once, keep it secret):\n  ${key}\nid ${apiKey.id}, credit ${formatAmount(credit)}\n`,
      );
      return EXIT_OK;
    }
    if (cmd === "list") {
      const keys = await store.apiKeys.list();
      io.stdout(
        values.json
          ? `${toJson(keys)}\n`
          : keys.length === 0
            ? "no API keys\n"
            : `${keys.map(keyLine).join("\n")}\n`,
      );
      return EXIT_OK;
    }
    if (cmd === "credit") {
      const [id, amount] = rest;
      if (id === undefined || amount === undefined || rest.length > 2)
        throw new UsageError("usage: livepay gateway keys credit KEY_ID AMT");
      try {
        const k = await store.apiKeys.addCredit(id, parseAmount(amount));
        io.stdout(values.json ? `${toJson(k)}\n` : `${keyLine(k)}\n`);
      } catch (e) {
        if (e instanceof StoreError && e.code === "KEY_NOT_FOUND")
          throw new UsageError(`no API key with id ${id}`);
        throw e;
      }
      return EXIT_OK;
    }
    throw new UsageError(
      cmd === undefined ? "keys needs a command: create, list or credit" : `unknown keys command "${cmd}"`,
    );
  } finally {
    await store.close();
  }
}

/**
 * Runs `livepay gateway ...` until `signal` aborts (the server) or the keys command finishes.
 * @example await runGateway(["keys", "create", "--credit", "0.1eth", "--store", "gw.db"], io, signal)
 */
export async function runGateway(argv: string[], io: CliIo, signal: AbortSignal): Promise<number> {
  return runCommand(io, USAGE, async () => {
    const { values, positionals } = parse(argv);
    if (values.help) {
      io.stdout(USAGE);
      return EXIT_OK;
    }
    if (positionals[0] === "keys") return runKeys(values, positionals.slice(1), io);
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const input = await loadInput(values, process.env);
    if (signal.aborted) return EXIT_OK;
    let gw;
    try {
      gw = await startGateway(input);
    } catch (e) {
      if (e instanceof LivepayError && !(e instanceof StoreError)) {
        io.stderr(`error: ${e.message}\n`);
        return 1;
      }
      throw e;
    }
    io.stdout(`livepay gateway listening on ${gw.url} (pays as ${gw.address}); Ctrl-C to stop\n`);
    const keepAlive = setInterval(() => undefined, 60_000);
    try {
      await new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        else signal.addEventListener("abort", () => resolve(), { once: true });
      });
    } finally {
      clearInterval(keepAlive);
      await gw.stop();
    }
    io.stderr("gateway stopped\n");
    return EXIT_OK;
  });
}

/** `livepay gateway`: runs until Ctrl-C or SIGTERM; `livepay gateway keys ...` manages API keys. */
export const gatewayCommand: CommandGroup = {
  name: "gateway",
  summary: "Run a paying gateway (OpenAI-compatible and Livepeer AI APIs) or manage its API keys",
  async run(argv: string[], io: CliIo): Promise<number> {
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    try {
      return await runGateway(argv, io, stop.signal);
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  },
};
