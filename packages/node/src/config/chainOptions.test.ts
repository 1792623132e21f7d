import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DevnetManifest } from "../chain/manifest.js";
import {
  ConfigError,
  chainSettingsFromEnv,
  mergeChainSettings,
  parsePrivateKey,
  resolveChainSettings,
} from "./chainOptions.js";

const KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const GW_KEY = "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a";

const manifest: DevnetManifest = {
  version: 1,
  network: "devnet",
  rpcUrl: "http://127.0.0.1:8545",
  chainId: 31337,
  contracts: {
    roundsManager: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    orchestratorRegistry: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
    ticketBroker: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
  },
  params: { roundLength: 50, unlockPeriod: 2, ticketValidityPeriod: 2, poolMaxSize: 100 },
  accounts: [
    { role: "deployer", name: "deployer", address: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266" },
    {
      role: "gateway",
      name: "gateway-1",
      address: "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
      privateKey: GW_KEY,
    },
  ],
  startBlock: 10,
  startedAt: "2026-01-01T00:00:00.000Z",
};

let dir: string;
let path: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "livepay-config-"));
  path = join(dir, "devnet.json");
  await writeFile(path, JSON.stringify(manifest));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("chain settings", () => {
  it("lets flags win over the environment, field by field", () => {
    const env = chainSettingsFromEnv({
      LIVEPAY_NETWORK: "arbitrum-one",
      LIVEPAY_RPC_URL: "https://env.example",
      LIVEPAY_PRIVATE_KEY: KEY,
      UNRELATED: "x",
    });
    expect(env).toEqual({ network: "arbitrum-one", rpcUrl: "https://env.example", privateKey: KEY });
    expect(mergeChainSettings({ rpcUrl: "https://flag.example", network: undefined }, env)).toEqual({
      network: "arbitrum-one",
      rpcUrl: "https://flag.example",
      privateKey: KEY,
    });
    expect(mergeChainSettings({ rpcUrl: "" }, {})).toEqual({});
  });

  it("normalizes private keys and refuses malformed ones without echoing them", () => {
    expect(parsePrivateKey(KEY.slice(2).toUpperCase())).toBe(KEY);
    expect(parsePrivateKey(` ${KEY} `)).toBe(KEY);
    const bad = `${KEY.slice(0, -1)}g`;
    expect(() => parsePrivateKey(bad)).toThrow(ConfigError);
    try {
      parsePrivateKey(bad);
    } catch (e) {
      expect((e as Error).message).not.toContain(bad.slice(4, 20));
    }
  });

  it("resolves the devnet from the manifest, with a manifest account as signer when no key is given", async () => {
    const s = await resolveChainSettings({ manifest: path }, { wantKey: true });
    expect(s.network).toBe("devnet");
    expect(s.target).toMatchObject({ network: "devnet", manifest });
    expect(s.privateKey).toBe(GW_KEY);
    expect(s.keySource).toBe("devnet account gateway-1");
    const withKey = await resolveChainSettings({ manifest: path, privateKey: KEY }, { wantKey: true });
    expect(withKey.privateKey).toBe(KEY);
    const readOnly = await resolveChainSettings({ manifest: path }, { wantKey: false });
    expect(readOnly.privateKey).toBeUndefined();
    await expect(
      resolveChainSettings({ manifest: path, account: "deployer" }, { wantKey: true }),
    ).rejects.toThrow("the devnet manifest has no key for deployer: pass --private-key");
    await expect(
      resolveChainSettings({ manifest: path, account: "nobody" }, { wantKey: true }),
    ).rejects.toThrow('the devnet manifest has no account "nobody"');
    await expect(resolveChainSettings({ manifest: join(dir, "missing.json") })).rejects.toThrow(
      /no devnet manifest at .*missing\.json \(start one with: livepay devnet\)/,
    );
  });

  it("resolves Arbitrum One without a manifest and rejects unknown networks and bad URLs", async () => {
    const s = await resolveChainSettings({ network: "arbitrum-one", privateKey: KEY }, { wantKey: true });
    expect(s.target).toEqual({ network: "arbitrum-one", rpcUrl: undefined });
    expect(s.privateKey).toBe(KEY);
    await expect(resolveChainSettings({ network: "mainnet" })).rejects.toMatchObject({
      code: "CONFIG_NETWORK",
    });
    await expect(resolveChainSettings({ network: "arbitrum-one", rpcUrl: "ftp://x" })).rejects.toMatchObject({
      code: "CONFIG_RPC_URL",
    });
    await expect(resolveChainSettings({ network: "arbitrum-one", account: "gateway" })).rejects.toMatchObject(
      {
        code: "CONFIG_ACCOUNT",
      },
    );
  });
});
