import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OrchestratorRegistryAbi, startAnvil } from "@livepay/contracts";
import { createPublicClient, http, parseEther, type Address } from "viem";
import { generatePrivateKey, privateKeyToAddress } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectChain } from "./connect.js";
import { startDevnet } from "./devnet.js";
import { readManifest, type DevnetManifest } from "./manifest.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "livepay-devnet-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function expectContractsAnswer(m: DevnetManifest): Promise<void> {
  const client = createPublicClient({ transport: http(m.rpcUrl, { retryCount: 0 }) });
  expect(await client.getChainId()).toBe(m.chainId);
  for (const address of Object.values(m.contracts) as Address[]) {
    const code = await client.getCode({ address });
    expect(code && code.length > 2, `code at ${address}`).toBe(true);
  }
  const orchestrators = m.accounts.filter((a) => a.role === "orchestrator");
  for (const o of orchestrators) {
    const registry = { address: m.contracts.orchestratorRegistry, abi: OrchestratorRegistryAbi } as const;
    expect(await client.readContract({ ...registry, functionName: "getServiceURI", args: [o.address] })).toBe(
      o.serviceURI,
    );
    expect(
      await client.readContract({ ...registry, functionName: "transcoderTotalStake", args: [o.address] }),
    ).toBe(BigInt(o.stake!));
    expect(
      await client.readContract({ ...registry, functionName: "isActiveTranscoder", args: [o.address] }),
    ).toBe(true);
  }
}

describe("startDevnet", () => {
  it("starts anvil, deploys, registers orchestrators, writes a manifest whose addresses answer, and keeps rounds moving", async () => {
    const manifestPath = join(dir, "nested", "devnet.json");
    const devnet = await startDevnet({
      orchestrators: 4,
      gateways: 1,
      serviceURIs: ["https://o1.example:8935"],
      gatewayDeposit: parseEther("2"),
      gatewayReserve: parseEther("3"),
      roundLength: 3n,
      blockTimeMs: 40,
      manifestPath,
    });
    try {
      const m = devnet.manifest;
      expect(await readManifest(manifestPath)).toEqual(m);
      expect(m.params).toEqual({
        roundLength: 3,
        unlockPeriod: 2,
        ticketValidityPeriod: 2,
        poolMaxSize: 100,
      });
      expect(m.accounts.map((a) => a.name)).toEqual([
        "deployer",
        "orchestrator-1",
        "orchestrator-2",
        "orchestrator-3",
        "orchestrator-4",
        "gateway-1",
        "user-1",
        "user-2",
        "user-3",
        "user-4",
      ]);
      // Every key is anvil's: the address is derived from the key written next to it.
      for (const a of m.accounts) expect(privateKeyToAddress(a.privateKey!)).toBe(a.address);
      const orchestrators = m.accounts.filter((a) => a.role === "orchestrator");
      expect(orchestrators.map((o) => o.serviceURI)).toEqual([
        "https://o1.example:8935",
        "https://127.0.0.1:8936",
        "https://127.0.0.1:8937",
        "https://127.0.0.1:8938",
      ]);
      expect(orchestrators.map((o) => o.stake)).toEqual(
        ["400", "300", "200", "100"].map((e) => String(parseEther(e))),
      );
      await expectContractsAnswer(m);

      const chain = await connectChain({ network: "devnet", manifest: m });
      expect(await chain.getTranscoderPoolSize()).toBe(4n);
      const gw = m.accounts.find((a) => a.role === "gateway")!;
      const info = await chain.getSenderInfo(gw.address);
      expect(info.deposit).toBe(parseEther("2"));
      expect(info.reserve.fundsRemaining).toBe(parseEther("3"));

      // The keeper mines every 40 ms and initializes each 3-block round.
      const r0 = await chain.currentRound();
      const deadline = Date.now() + 5000;
      while ((await chain.lastInitializedRound()) < r0 + 2n) {
        if (Date.now() > deadline) throw new Error("rounds did not move");
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await devnet.stop();
    }
    expect(existsSync(manifestPath)).toBe(false);
    await expect(
      fetch(devnet.manifest.rpcUrl, { method: "POST", body: "{}", signal: AbortSignal.timeout(1000) }),
    ).rejects.toThrow();
    await devnet.stop(); // idempotent
  });

  it("deploys to a given RPC with a given key, funds the role accounts and keeps that key out of the manifest", async () => {
    // Dev accounts start nearly empty so the top-up is visible.
    const anvil = await startAnvil({ balanceEther: 1 });
    try {
      const key = generatePrivateKey();
      const client = createPublicClient({ transport: http(anvil.rpcUrl, { retryCount: 0 }) });
      await client.request({
        method: "anvil_setBalance",
        params: [privateKeyToAddress(key), `0x${parseEther("1000").toString(16)}`],
      } as never);
      const devnet = await startDevnet({
        rpcUrl: anvil.rpcUrl,
        privateKey: key,
        orchestrators: 2,
        gateways: 1,
        stakes: [parseEther("2"), parseEther("1")],
        fundAmount: parseEther("5"),
        blockTimeMs: 0,
        roundCheckMs: 0,
      });
      try {
        const m = devnet.manifest;
        expect(m.rpcUrl).toBe(anvil.rpcUrl);
        expect(m.accounts[0]).toEqual({
          role: "deployer",
          name: "deployer",
          address: privateKeyToAddress(key),
        });
        expect(m.accounts.map((a) => a.role)).toEqual([
          "deployer",
          "orchestrator",
          "orchestrator",
          "gateway",
        ]);
        await expectContractsAnswer(m);
        const gw = m.accounts.find((a) => a.role === "gateway")!;
        expect(await client.getBalance({ address: gw.address })).toBe(parseEther("5"));
        // Registration spent the orchestrators' stake out of their topped-up balance.
        const o1 = m.accounts.find((a) => a.name === "orchestrator-1")!;
        const o1Balance = await client.getBalance({ address: o1.address });
        expect(o1Balance < parseEther("3") && o1Balance > parseEther("2.99")).toBe(true);
      } finally {
        await devnet.stop();
      }
      // Stopping a devnet on someone else's RPC leaves that node running.
      expect(await client.getChainId()).toBe(anvil.chainId);
    } finally {
      await anvil.stop();
    }
  });
});
