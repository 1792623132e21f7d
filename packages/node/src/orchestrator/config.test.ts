import { Rational, privateKeyToAddress, type Hex } from "@livepay/protocol";
import { describe, expect, it } from "vitest";
import type { DevnetManifest } from "../chain/manifest.js";
import { ConfigError } from "../config/chainOptions.js";
import {
  mergeOrchestratorConfig,
  orchestratorConfigFromEnv,
  redactOrchestratorConfig,
  resolveOrchestratorConfig,
  type OrchestratorConfigInput,
} from "./config.js";

// Public anvil development keys.
const ORCH_KEY: Hex = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const OTHER_KEY: Hex = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
const ZERO = "0x0000000000000000000000000000000000000001";

const manifest: DevnetManifest = {
  version: 1,
  network: "devnet",
  rpcUrl: "http://127.0.0.1:8545",
  chainId: 31337,
  contracts: { roundsManager: ZERO, orchestratorRegistry: ZERO, ticketBroker: ZERO },
  params: { roundLength: 50, unlockPeriod: 2, ticketValidityPeriod: 2, poolMaxSize: 100 },
  accounts: [
    {
      role: "orchestrator",
      name: "orchestrator-1",
      address: privateKeyToAddress(ORCH_KEY),
      privateKey: ORCH_KEY,
    },
  ],
  startBlock: 1,
  startedAt: "2026-01-01T00:00:00Z",
};

const MODELS = [{ pipeline: "llm", model_id: "m", runner: "synthetic", price_per_unit: "0.5" }] as const;

function input(over: OrchestratorConfigInput = {}): OrchestratorConfigInput {
  return { chain: { manifest }, models: [...MODELS], ...over };
}

describe("resolveOrchestratorConfig", () => {
  it("fills go-livepeer's defaults and takes the devnet orchestrator's key from the manifest", async () => {
    const c = await resolveOrchestratorConfig(input(), { baseDir: "/srv/livepay" });
    expect(c.privateKey).toBe(ORCH_KEY);
    expect(c.address).toBe(privateKeyToAddress(ORCH_KEY));
    expect(c.recipient).toBe(c.address);
    expect(c.ticketEV).toBe(8_000_000_000n);
    expect(c.redeemGas).toBe(350_000n);
    expect(c.maxFaceValue).toBe(0n);
    expect(c.gasPrice).toBeUndefined();
    expect([c.grpcPort, c.httpPort, c.host]).toEqual([8935, 8936, "127.0.0.1"]);
    expect(c.store).toEqual({ path: "/srv/livepay/.livepay/orchestrator/orchestrator.db" });
    expect(c.authTokenTtlSeconds).toBe(1800);
    expect(c.pollIntervalMs).toBe(500);
    expect(c.prices).toEqual([Rational.of(1n, 2n)]);
    expect(c.redemption).toEqual({ enabled: true, maxBackoffMs: 300_000 });
  });

  it("parses amounts with units and budgets 1.2M redemption gas on Arbitrum One", async () => {
    const c = await resolveOrchestratorConfig({
      privateKey: ORCH_KEY.slice(2),
      recipient: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
      chain: { network: "arbitrum-one", rpcUrl: "https://arb.example/rpc" },
      store: { url: "postgres://u:secret@db/livepay" },
      tickets: { ev: "0.5gwei", maxFaceValue: "0.01eth", gasPrice: "2gwei" },
      models: [...MODELS],
    });
    expect(c.ticketEV).toBe(500_000_000n);
    expect(c.maxFaceValue).toBe(10n ** 16n);
    expect(c.gasPrice).toBe(2_000_000_000n);
    expect(c.redeemGas).toBe(1_200_000n);
    expect(c.recipient).toBe("0x70997970c51812dc3a010c7d01b50e0d17dc79c8");
    expect(c.pollIntervalMs).toBe(2000);
  });

  it.each<[string, OrchestratorConfigInput, RegExp]>([
    ["no models", { models: [] }, /at least one model/],
    ["a fiat price", { models: [{ ...MODELS[0], currency: "USD" }] }, /needs a price feed/],
    [
      "a missing price",
      { models: [{ pipeline: "llm", model_id: "m", runner: "synthetic" }] },
      /price_per_unit is required/,
    ],
    [
      "a typo in a model field",
      { models: [{ ...MODELS[0], prise: 1 } as never] },
      /unknown field\(s\) prise/,
    ],
    ["a bad amount", { tickets: { ev: "1.5wei" } }, /tickets\.ev: too many decimals/],
    ["a zero EV", { tickets: { ev: "0" } }, /tickets\.ev must be greater than 0/],
    ["a bad port", { grpcPort: 70000 }, /grpcPort must be a port number/],
    ["both store url and path", { store: { url: "postgres://x/y", path: "a.db" } }, /either url or path/],
    ["a bad recipient", { recipient: "0x123" }, /recipient is not an address/],
    ["a bad log level", { logLevel: "loud" }, /logLevel must be one of/],
  ])("refuses %s with a ConfigError naming the field", async (_name, over, message) => {
    const e = await resolveOrchestratorConfig(input(over)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as Error).message).toMatch(message);
  });

  it("needs a key outside the devnet", async () => {
    await expect(
      resolveOrchestratorConfig({ chain: { network: "arbitrum-one" }, models: [...MODELS] }),
    ).rejects.toThrow(/privateKey is required on arbitrum-one/);
  });
});

describe("configuration layers", () => {
  it("flags win over the environment, which wins over the file", async () => {
    const file: OrchestratorConfigInput = input({
      logLevel: "warn",
      tickets: { ev: "1gwei", redeemGas: 100 },
    });
    const env = orchestratorConfigFromEnv({
      LIVEPAY_LOG_LEVEL: "debug",
      LIVEPAY_ORCH_TICKET_EV: "2gwei",
      LIVEPAY_PRIVATE_KEY: OTHER_KEY,
      LIVEPAY_ORCH_STORE: "postgres://u:p@h/db",
    });
    const flags: OrchestratorConfigInput = { tickets: { ev: "3gwei" } };
    const c = await resolveOrchestratorConfig(mergeOrchestratorConfig(file, env, flags));
    expect(c.ticketEV).toBe(3_000_000_000n);
    expect(c.redeemGas).toBe(100n); // from the file: not overridden
    expect(c.logLevel).toBe("debug");
    expect(c.privateKey).toBe(OTHER_KEY);
    expect(c.store).toEqual({ url: "postgres://u:p@h/db" });
  });

  it("prints without the key, the store password or model tokens", async () => {
    const c = await resolveOrchestratorConfig(
      input({
        store: { url: "postgres://livepay:hunter2@db/livepay" },
        models: [
          {
            pipeline: "llm",
            model_id: "m",
            runner: "openai",
            url: "http://127.0.0.1:1",
            token: "tok-secret",
            price_per_unit: "1",
          },
        ],
      }),
    );
    const text = JSON.stringify(redactOrchestratorConfig(c));
    expect(text).not.toContain(ORCH_KEY.slice(2));
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("tok-secret");
    expect(text).toContain(c.address);
  });
});
