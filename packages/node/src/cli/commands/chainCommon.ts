// What the chain commands (deposit, reserve, unlock, withdraw, status) share: connection options,
// argument parsing, error reporting, result printing and exit codes.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { LivepayError } from "@livepay/protocol";
import { connectChainClients } from "../../chain/connect.js";
import { ChainError } from "../../chain/errors.js";
import type { LivepeerChain, TxResult } from "../../chain/livepeerChain.js";
import { AmountError, formatAmount, parseAmount } from "../../config/amount.js";
import {
  ConfigError,
  DEFAULT_MANIFEST_PATH,
  chainSettingsFromEnv,
  mergeChainSettings,
  resolveChainSettings,
  type ResolvedChainSettings,
} from "../../config/chainOptions.js";
import {
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  parseArgsError,
  toJson,
  type CliIo,
  type CommandGroup,
} from "../command.js";

/** parseArgs options every chain command takes. */
export const CHAIN_OPTIONS = {
  network: { type: "string" },
  manifest: { type: "string" },
  "rpc-url": { type: "string" },
  "private-key": { type: "string" },
  account: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** Help text for `CHAIN_OPTIONS`. */
export const CHAIN_OPTIONS_HELP = `Chain options (flags win over environment variables):
  --network NAME       devnet (default) or arbitrum-one             [LIVEPAY_NETWORK]
  --manifest PATH      devnet manifest (default ${DEFAULT_MANIFEST_PATH})   [LIVEPAY_MANIFEST]
  --rpc-url URL        JSON-RPC endpoint (devnet: overrides the manifest's;
                       arbitrum-one: default https://arb1.arbitrum.io/rpc)  [LIVEPAY_RPC_URL]
  --private-key KEY    key that signs (hex)                         [LIVEPAY_PRIVATE_KEY]
  --account NAME       devnet: manifest account that signs when no key is given
                       (name, role or address; default gateway)     [LIVEPAY_ACCOUNT]
  --json               print JSON
  -h, --help           show this help

Amounts: "0.5eth", "0.5 ETH", "3gwei", "1000wei" or a whole number of wei.
Exit status: 0 done, 1 the chain refused (revert reason printed) or is unreachable, 2 bad usage.`;

/** Bad command-line usage (exit code 2). */
export class UsageError extends LivepayError {
  constructor(message: string) {
    super("USAGE", message);
  }
}

type ChainFlags = {
  network?: string | undefined;
  manifest?: string | undefined;
  "rpc-url"?: string | undefined;
  "private-key"?: string | undefined;
  account?: string | undefined;
};

export interface ConnectedCommand {
  chain: LivepeerChain;
  settings: ResolvedChainSettings;
  rpcUrl: string;
}

/**
 * Resolves flags + environment into chain settings and connects.
 * @example const { chain } = await connectFromFlags(values, { wantKey: true })
 */
export async function connectFromFlags(
  flags: ChainFlags,
  opts: { wantKey: boolean; env?: Record<string, string | undefined>; missingKey?: string },
): Promise<ConnectedCommand> {
  const settings = await resolveChainSettings(
    mergeChainSettings(
      {
        network: flags.network,
        manifest: flags.manifest,
        rpcUrl: flags["rpc-url"],
        privateKey: flags["private-key"],
        account: flags.account,
      },
      chainSettingsFromEnv(opts.env ?? process.env),
    ),
    { wantKey: opts.wantKey },
  );
  if (opts.wantKey && !settings.privateKey) {
    throw new UsageError(
      opts.missingKey ?? "this command signs a transaction: pass --private-key or set LIVEPAY_PRIVATE_KEY",
    );
  }
  const connected = await connectChainClients({ ...settings.target, privateKey: settings.privateKey });
  return { chain: connected.chain, settings, rpcUrl: connected.rpcUrl };
}

/**
 * Runs a `node:util` parseArgs call, turning its errors into `UsageError`.
 * @example const { values } = parseOrUsage(() => parseArgs({ args: argv, options: { ...CHAIN_OPTIONS } }))
 */
export function parseOrUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    const msg = parseArgsError(e);
    if (msg === undefined) throw e;
    throw new UsageError(msg);
  }
}

/**
 * Parses a positive amount for a command; throws `AmountError` (exit 2) with a clear message.
 * @example positiveAmount("0.5eth", "deposit") // 500000000000000000n
 */
export function positiveAmount(text: string | undefined, what: string): bigint {
  if (text === undefined) throw new UsageError(`missing ${what} amount`);
  const wei = parseAmount(text);
  if (wei === 0n) throw new AmountError("AMOUNT_ZERO", `${what} amount must be greater than 0`);
  return wei;
}

/**
 * Runs a command body and maps failures to exit codes: usage and config errors 2, chain errors 1;
 * prints "error: <message>" (a revert's message is exactly its reason) and the usage on bad usage.
 * @example return runCommand(io, USAGE, async () => { ...; return EXIT_OK; })
 */
export async function runCommand(io: CliIo, usage: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`error: ${e.message}\n\n${usage}`);
      return EXIT_USAGE;
    }
    if (e instanceof AmountError || e instanceof ConfigError) {
      io.stderr(`error: ${e.message}\n`);
      return EXIT_USAGE;
    }
    if (e instanceof ChainError) {
      io.stderr(`error: ${e.message}\n`);
      return e.code === "CHAIN_CONFIG" ? EXIT_USAGE : EXIT_FAILED;
    }
    throw e;
  }
}

type OptionsConfig = NonNullable<ParseArgsConfig["options"]>;

/** What parseArgs returns for a chain command with extra options `O`. */
export type ChainArgs<O extends OptionsConfig> = ReturnType<
  typeof parseArgs<{
    args: string[];
    options: typeof CHAIN_OPTIONS & O;
    allowPositionals: true;
    strict: true;
  }>
>;

/**
 * A chain command: parses `CHAIN_OPTIONS` plus `options` (parse errors are usage errors), prints
 * `usage` on --help, refuses more than `maxPositionals` arguments, then runs `run` under
 * `runCommand`'s exit-code mapping.
 * @example export const withdrawCommand = chainCommand({ name: "withdraw", summary, usage: USAGE, maxPositionals: 0, run })
 */
export function chainCommand<O extends OptionsConfig = Record<never, never>>(spec: {
  name: string;
  summary: string;
  usage: string;
  options?: O;
  maxPositionals: number;
  run(args: ChainArgs<O>, io: CliIo): Promise<number>;
}): CommandGroup {
  return {
    name: spec.name,
    summary: spec.summary,
    run: (argv: string[], io: CliIo) =>
      runCommand(io, spec.usage, async () => {
        const args = parseOrUsage(() =>
          parseArgs({
            args: argv,
            options: { ...CHAIN_OPTIONS, ...spec.options },
            allowPositionals: true,
            strict: true,
          }),
        ) as ChainArgs<O>;
        if ((args.values as { help?: boolean }).help) {
          io.stdout(spec.usage);
          return EXIT_OK;
        }
        const extra = args.positionals[spec.maxPositionals];
        if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
        return spec.run(args, io);
      }),
  };
}

/**
 * Prints a command's result: `value` as JSON with --json, else `text`; exit 0.
 * @example return printResult(io, values.json === true, { address, tx: txJson(tx) }, `done\n${describeTx(tx)}\n`)
 */
export function printResult(io: CliIo, json: boolean, value: unknown, text: string): number {
  io.stdout(json ? `${toJson(value)}\n` : text);
  return EXIT_OK;
}

/** "tx 0x… (block 12, gas 45,678)". @example describeTx(tx) */
export function describeTx(tx: TxResult): string {
  return `tx ${tx.hash} (block ${tx.blockNumber}, gas ${tx.gasUsed})`;
}

/** Transaction fields for --json output. */
export function txJson(tx: TxResult): { hash: string; blockNumber: string; gasUsed: string } {
  return { hash: tx.hash, blockNumber: String(tx.blockNumber), gasUsed: String(tx.gasUsed) };
}

export { EXIT_OK, formatAmount };
