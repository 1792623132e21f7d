import { parseArgs } from "node:util";
import { startDevnet, type StartDevnetOptions } from "../../chain/devnet.js";
import { readManifest, type DevnetManifest } from "../../chain/manifest.js";
import { formatEth, parseAmount } from "../../config/amount.js";
import { ConfigError, DEFAULT_MANIFEST_PATH, parsePrivateKey } from "../../config/chainOptions.js";
import { toJson, type CliIo, type CommandGroup } from "../command.js";
import { CHAIN_OPTIONS, EXIT_OK, UsageError, parseOrUsage, runCommand } from "./chainCommon.js";

const USAGE = `Usage: livepay devnet [options]

Starts a local Livepeer-compatible chain: anvil on a free port, livepay's contracts (TicketBroker,
RoundsManager, OrchestratorRegistry, PersistentTicketBroker), an initialized round, registered
orchestrators and funded accounts. Writes the manifest (RPC URL, chain id, addresses, accounts
with their public dev keys), prints it, keeps rounds moving, and stops on Ctrl-C / SIGTERM.

  --orchestrators N      orchestrators to register (default 3)
  --gateways N           gateway accounts (default 2)
  --service-uri URI      service URI of the next orchestrator (repeat; default https://127.0.0.1:8935+i)
  --gateway-deposit AMT  deposit each gateway funds at the TicketBroker (default none)
  --gateway-reserve AMT  reserve each gateway funds (default none)
  --round-length N       blocks per round (default 50; must exceed the 40-block ticket params expiry)
  --unlock-period N      rounds between unlock and withdraw (default 2)
  --block-time MS        mine a block every MS ms (default 1000; 0: only on transactions)
  --manifest PATH        where to write the manifest (default ${DEFAULT_MANIFEST_PATH})
  --rpc-url URL          deploy to this RPC instead of starting anvil (needs --private-key)
  --private-key KEY      deployer key for --rpc-url [LIVEPAY_PRIVATE_KEY]; it is not written to the manifest
  --fund AMT             with --rpc-url: top up each role account to AMT (default 10eth)
  --json                 print only the manifest JSON
  -h, --help             show this help

The accounts are anvil's public development keys: never send real funds to them.
`;

const OPTIONS = {
  orchestrators: { type: "string" },
  gateways: { type: "string" },
  "service-uri": { type: "string", multiple: true },
  "gateway-deposit": { type: "string" },
  "gateway-reserve": { type: "string" },
  "round-length": { type: "string" },
  "unlock-period": { type: "string" },
  "block-time": { type: "string" },
  fund: { type: "string" },
} as const;

function integer(text: string | undefined, name: string, min: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < min || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`--${name} must be an integer >= ${min}, got "${text}"`);
  }
  return Number(text);
}

/**
 * The human-readable summary of a manifest.
 * @example io.stdout(formatManifest(manifest, ".livepay/devnet.json", "a block every 1000 ms"))
 */
export function formatManifest(m: DevnetManifest, path: string, mining: string): string {
  const c = m.contracts;
  const contracts: [string, string | undefined][] = [
    ["TicketBroker", c.ticketBroker],
    ["RoundsManager", c.roundsManager],
    ["OrchestratorRegistry", c.orchestratorRegistry],
    ["PersistentTicketBroker", c.persistentTicketBroker],
  ];
  const accounts = m.accounts.map((a) => {
    const extra =
      a.role === "orchestrator" ? `  ${a.serviceURI}  stake ${formatEth(BigInt(a.stake ?? "0"))} ETH` : "";
    return `    ${a.name.padEnd(16)}${a.address}  key ${a.privateKey ?? "(not written)"}${extra}`;
  });
  return [
    "livepay devnet is running",
    `  rpc url       ${m.rpcUrl}`,
    `  chain id      ${m.chainId}`,
    `  rounds        ${m.params.roundLength} blocks, ${mining}; unlock period ${m.params.unlockPeriod} rounds`,
    "  contracts",
    ...contracts.filter(([, a]) => a).map(([n, a]) => `    ${n.padEnd(24)}${a}`),
    "  accounts (anvil's public development keys: never use them with real funds)",
    ...accounts,
    `  manifest      ${path}`,
    "Press Ctrl-C to stop.",
    "",
  ].join("\n");
}

/** Two devnets sharing one manifest path would leave it pointing at whichever wrote last. */
async function refuseIfRunning(manifestPath: string): Promise<void> {
  let existing: DevnetManifest;
  try {
    existing = await readManifest(manifestPath);
  } catch {
    return; // none, or unreadable: it will be overwritten
  }
  const alive = await fetch(existing.rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
    signal: AbortSignal.timeout(500),
  }).then(
    (r) => r.ok,
    () => false,
  );
  if (alive) {
    throw new ConfigError(
      "CONFIG_DEVNET_RUNNING",
      `a devnet is already running at ${existing.rpcUrl} (manifest ${manifestPath}): stop it, or pass another --manifest`,
    );
  }
}

/**
 * Runs `livepay devnet` until `signal` aborts, then stops everything and resolves to the exit code.
 * @example await runDevnet(["--json"], io, AbortSignal.timeout(10_000))
 */
export async function runDevnet(argv: string[], io: CliIo, signal: AbortSignal): Promise<number> {
  return runCommand(io, USAGE, async () => {
    const { values, positionals } = parseOrUsage(() =>
      parseArgs({
        args: argv,
        options: { ...CHAIN_OPTIONS, ...OPTIONS },
        allowPositionals: true,
        strict: true,
      }),
    );
    if (values.help) {
      io.stdout(USAGE);
      return EXIT_OK;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    if (values.network !== undefined || values.account !== undefined) {
      throw new UsageError("devnet takes --rpc-url/--private-key, not --network/--account");
    }
    const rpcUrl = values["rpc-url"];
    const keyText = values["private-key"] ?? process.env.LIVEPAY_PRIVATE_KEY;
    if (rpcUrl !== undefined && keyText === undefined) throw new UsageError("--rpc-url needs --private-key");
    const manifestPath = values.manifest ?? DEFAULT_MANIFEST_PATH;
    const blockTimeMs = integer(values["block-time"], "block-time", 0) ?? 1000;
    const roundLength = integer(values["round-length"], "round-length", 1);
    const unlockPeriod = integer(values["unlock-period"], "unlock-period", 0);
    const opts: StartDevnetOptions = {
      orchestrators: integer(values.orchestrators, "orchestrators", 0) ?? 3,
      gateways: integer(values.gateways, "gateways", 0) ?? 2,
      manifestPath,
      blockTimeMs,
      onError: (e) => io.stderr(`devnet: ${e instanceof Error ? e.message : String(e)}\n`),
      ...(values["service-uri"] ? { serviceURIs: values["service-uri"] } : {}),
      ...(roundLength !== undefined ? { roundLength: BigInt(roundLength) } : {}),
      ...(unlockPeriod !== undefined ? { unlockPeriod: BigInt(unlockPeriod) } : {}),
      ...(values["gateway-deposit"] ? { gatewayDeposit: parseAmount(values["gateway-deposit"]) } : {}),
      ...(values["gateway-reserve"] ? { gatewayReserve: parseAmount(values["gateway-reserve"]) } : {}),
      ...(values.fund ? { fundAmount: parseAmount(values.fund) } : {}),
      ...(rpcUrl !== undefined ? { rpcUrl, privateKey: parsePrivateKey(keyText!, "--private-key") } : {}),
    };
    await refuseIfRunning(manifestPath);
    if (signal.aborted) return EXIT_OK;
    const devnet = await startDevnet(opts);
    try {
      io.stdout(
        values.json
          ? `${toJson(devnet.manifest)}\n`
          : formatManifest(
              devnet.manifest,
              manifestPath,
              rpcUrl !== undefined
                ? "blocks come from the chain"
                : blockTimeMs > 0
                  ? `a block every ${blockTimeMs} ms`
                  : "blocks on transactions only",
            ),
      );
      // The keeper's timer is unref'd (a library must not hold a process open) and with --rpc-url
      // there is no anvil child either: this interval keeps the CLI alive until the signal.
      const keepAlive = setInterval(() => undefined, 60_000);
      try {
        await new Promise<void>((resolve) => {
          if (signal.aborted) resolve();
          else signal.addEventListener("abort", () => resolve(), { once: true });
        });
      } finally {
        clearInterval(keepAlive);
      }
    } finally {
      await devnet.stop();
    }
    io.stderr("devnet stopped\n");
    return EXIT_OK;
  });
}

/** `livepay devnet`: runs until Ctrl-C or SIGTERM. */
export const devnetCommand: CommandGroup = {
  name: "devnet",
  summary: "Start a local chain with livepay's contracts, orchestrators and funded accounts",
  async run(argv: string[], io: CliIo): Promise<number> {
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    try {
      return await runDevnet(argv, io, stop.signal);
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  },
};
