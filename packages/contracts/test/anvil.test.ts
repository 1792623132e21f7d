// startAnvil / devAccounts / anvilBinary and deployLivepay against a real anvil.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { createPublicClient, http, type Address } from "viem";
import { privateKeyToAddress } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  OrchestratorRegistryAbi,
  RoundsManagerAbi,
  TicketBrokerAbi,
  anvilBinary,
  deployLivepay,
  devAccounts,
  initializeRoundIfNeeded,
  localClients,
  startAnvil,
  type Anvil,
} from "../src/index.js";
import * as generated from "../src/generated/index.js";

let anvil: Anvil;
beforeAll(async () => {
  anvil = await startAnvil({ chainId: 4242, accounts: 3, balanceEther: 77 });
});
afterAll(async () => {
  await anvil?.stop();
});

/** True while the process runs; a killed but unreaped (zombie) process counts as dead. */
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const status = `/proc/${pid}/status`;
  return !(existsSync(status) && /^State:\s+Z/m.test(readFileSync(status, "utf8")));
};

describe("startAnvil", () => {
  test("answers on its port with the requested chain id and funded dev accounts", async () => {
    expect(anvil.rpcUrl).toBe(`http://127.0.0.1:${anvil.port}`);
    const client = createPublicClient({ transport: http(anvil.rpcUrl, { retryCount: 0 }) });
    expect(await client.getChainId()).toBe(4242);
    expect(anvil.accounts).toHaveLength(3);
    for (const a of anvil.accounts) {
      expect(privateKeyToAddress(a.privateKey)).toBe(a.address);
      expect(await client.getBalance({ address: a.address })).toBe(77n * 10n ** 18n);
    }
  });

  test("dev accounts are anvil's public keys (spec §8.3)", () => {
    const [a0, a1] = devAccounts(2);
    expect(a0).toEqual({
      address: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
      privateKey: "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    });
    expect(a1).toEqual({
      address: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
      privateKey: "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    });
    expect(devAccounts(12)).toHaveLength(12);
  });

  test("anvilBinary resolves the npm platform package's binary", () => {
    const bin = anvilBinary();
    expect(existsSync(bin)).toBe(true);
    expect(bin).toMatch(/@foundry-rs[\\/]anvil-[a-z0-9]+-[a-z0-9]+[\\/]bin[\\/]anvil/);
  });

  test("a taken preferred port falls back to a free one; two nodes run side by side", async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    const taken = (blocker.address() as { port: number }).port;
    const other = await startAnvil({ port: taken, accounts: 1 });
    try {
      expect(other.port).not.toBe(taken);
      expect(other.port).not.toBe(anvil.port);
      const client = createPublicClient({ transport: http(other.rpcUrl, { retryCount: 0 }) });
      expect(await client.getChainId()).toBe(31337);
    } finally {
      await other.stop();
      blocker.close();
    }
  });

  test("a free preferred port is used", async () => {
    const probe: Server = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const node = await startAnvil({ port, accounts: 1 });
    expect(node.port).toBe(port);
    await node.stop();
  });

  test("stop() kills the process and can be called twice", async () => {
    const node = await startAnvil({ accounts: 1 });
    expect(alive(node.pid)).toBe(true);
    await node.stop();
    await node.stop();
    expect(alive(node.pid)).toBe(false);
    const client = createPublicClient({ transport: http(node.rpcUrl, { retryCount: 0, timeout: 1000 }) });
    await expect(client.getChainId()).rejects.toThrow();
  });

  test("the node dies with the process that started it", () => {
    const script = `import { startAnvil } from ${JSON.stringify(new URL("../src/anvil.ts", import.meta.url).pathname)};
const a = await startAnvil({ accounts: 1 }); console.log(a.pid); process.exit(0);`;
    const tsx = new URL("../../../node_modules/.bin/tsx", import.meta.url).pathname;
    const out = spawnSync(tsx, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 60_000 });
    const pid = Number(out.stdout.trim().split("\n").pop());
    expect(pid, out.stderr).toBeGreaterThan(0);
    expect(alive(pid)).toBe(false);
  }, 60_000);

  test("a broken binary is reported", async () => {
    await expect(startAnvil({ binary: "/bin/false", startTimeoutMs: 3000 })).rejects.toThrow(
      /anvil failed to start/,
    );
  });
});

describe("deployLivepay", () => {
  test("deploys and wires every contract, initializes the round", async () => {
    const key = anvil.accounts[0]!.privateKey;
    const addrs = await deployLivepay(
      { rpcUrl: anvil.rpcUrl, privateKey: key },
      { roundLength: 7n, poolMaxSize: 5n, unlockPeriod: 3n, ticketValidityPeriod: 4n },
    );
    const { publicClient } = await localClients(anvil.rpcUrl, key);
    const rd = <T>(
      address: Address,
      abi: typeof TicketBrokerAbi | typeof RoundsManagerAbi | typeof OrchestratorRegistryAbi,
      functionName: string,
    ) => publicClient.readContract({ address, abi, functionName } as never) as Promise<T>;
    expect(await rd(addrs.roundsManager, RoundsManagerAbi, "roundLength")).toBe(7n);
    expect(await rd(addrs.orchestratorRegistry, OrchestratorRegistryAbi, "getTranscoderPoolMaxSize")).toBe(
      5n,
    );
    expect(await rd(addrs.ticketBroker, TicketBrokerAbi, "unlockPeriod")).toBe(3n);
    expect(await rd(addrs.ticketBroker, TicketBrokerAbi, "ticketValidityPeriod")).toBe(4n);
    expect(await rd(addrs.ticketBroker, TicketBrokerAbi, "roundsManager")).toBe(addrs.roundsManager);
    expect(await rd(addrs.ticketBroker, TicketBrokerAbi, "orchestratorRegistry")).toBe(
      addrs.orchestratorRegistry,
    );
    expect(await rd(addrs.ticketBroker, TicketBrokerAbi, "owner")).toBe(anvil.accounts[0]!.address);
    expect(await rd(addrs.roundsManager, RoundsManagerAbi, "currentRoundInitialized")).toBe(true);
    const hasPersistent = "PersistentTicketBrokerBytecode" in generated;
    expect(addrs.persistentTicketBroker !== undefined).toBe(hasPersistent);
    if (addrs.persistentTicketBroker) {
      expect(await publicClient.getCode({ address: addrs.persistentTicketBroker })).toMatch(
        /^0x[0-9a-f]{100,}/,
      );
    }
  });

  test("accepts existing clients, skips PersistentTicketBroker and round initialization on request", async () => {
    const clients = await localClients(anvil.rpcUrl, anvil.accounts[1]!.privateKey, anvil.chainId);
    const addrs = await deployLivepay(clients, {
      roundLength: 1_000_000n,
      persistent: false,
      initializeRound: false,
    });
    expect(addrs.persistentTicketBroker).toBeUndefined();
    const rd = (fn: string) =>
      clients.publicClient.readContract({
        address: addrs.roundsManager,
        abi: RoundsManagerAbi,
        functionName: fn,
      } as never);
    expect(await rd("currentRoundInitialized")).toBe(false);
    const round = await initializeRoundIfNeeded(clients, addrs.roundsManager);
    expect(await rd("currentRoundInitialized")).toBe(true);
    expect(await initializeRoundIfNeeded(clients, addrs.roundsManager)).toBe(round);
  });
});
