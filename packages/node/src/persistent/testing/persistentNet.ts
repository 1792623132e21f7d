// Test support: a devnet with one orchestrator whose persistent-ticket payee is enabled, and a helper
// that sends PersistentTicketBroker transactions from a devnet account. Shared by the persistent tests.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PersistentTicketBrokerAbi } from "@livepay/contracts";
import type { Hex, PrivateKey } from "@livepay/protocol";
import { createPublicClient, createWalletClient, http, type Address, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { startDevnet, type Devnet, type StartDevnetOptions } from "../../chain/devnet.js";
import type { RunnerConfigEntry } from "../../runners/config.js";
import { startOrchestrator, type OrchestratorHandle } from "../../orchestrator/startOrchestrator.js";

export interface PersistentNet {
  dir: string;
  devnet: Devnet;
  orch: OrchestratorHandle;
  client: PublicClient;
  broker: Address;
  chainId: number;
  account(name: string): Devnet["manifest"]["accounts"][number];
  /** Sends a broker transaction from `key`, waits for it, and returns its cost in wei (gas × price). */
  send(key: string | PrivateKey, functionName: string, args: unknown[], value?: bigint): Promise<bigint>;
  stop(): Promise<void>;
}

/**
 * Starts the network the persistent tests share (redemption of Livepeer tickets off, claims only on demand).
 * @example const net = await startPersistentNet({ name: "images", gateways: 1, models: [...] })
 */
export async function startPersistentNet(o: {
  name: string;
  gateways: number;
  models: RunnerConfigEntry[];
  devnet?: Omit<StartDevnetOptions, "gateways">;
}): Promise<PersistentNet> {
  const dir = await mkdtemp(join(tmpdir(), `livepay-${o.name}-`));
  const devnet = await startDevnet({ orchestrators: 1, blockTimeMs: 0, ...o.devnet, gateways: o.gateways });
  const broker = devnet.manifest.contracts.persistentTicketBroker;
  if (!broker) throw new Error("the devnet has no PersistentTicketBroker");
  const client = createPublicClient({ transport: http(devnet.manifest.rpcUrl, { retryCount: 0 }) });
  const account = (name: string) => {
    const a = devnet.manifest.accounts.find((x) => x.name === name);
    if (!a) throw new Error(`no devnet account ${name}`);
    return a;
  };
  const orch = await startOrchestrator({
    privateKey: account("orchestrator-1").privateKey!,
    chain: { manifest: devnet.manifest, pollIntervalMs: 100 },
    store: { path: join(dir, "orchestrator.db") },
    grpcPort: 0,
    httpPort: 0,
    logLevel: "silent",
    redemption: { enabled: false },
    models: o.models,
    persistent: { enabled: true, store: join(dir, "persistent.db"), claimPollMs: 0 },
  });
  const send = async (key: string | PrivateKey, functionName: string, args: unknown[], value = 0n) => {
    const wallet = createWalletClient({
      account: privateKeyToAccount(key as Hex),
      transport: http(devnet.manifest.rpcUrl, { retryCount: 0 }),
      chain: client.chain,
    });
    const hash = await wallet.writeContract({
      address: broker,
      abi: PersistentTicketBrokerAbi,
      functionName,
      args,
      value,
    } as never);
    const r = await client.waitForTransactionReceipt({ hash, pollingInterval: 50 });
    if (r.status !== "success") throw new Error(`${functionName} reverted (tx ${hash})`);
    return r.gasUsed * r.effectiveGasPrice;
  };
  return {
    dir,
    devnet,
    orch,
    client,
    broker,
    chainId: devnet.manifest.chainId,
    account,
    send,
    async stop() {
      await orch.stop();
      await devnet.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
