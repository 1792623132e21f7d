// The built CLI (`node packages/node/dist/cli/main.js`) against a real devnet. Build first:
// npx tsc -b packages/protocol packages/contracts packages/node
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createPublicClient, http, parseEther } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectChain } from "../../chain/connect.js";
import { startDevnet, type Devnet } from "../../chain/devnet.js";
import { parseManifest, type DevnetAccount } from "../../chain/manifest.js";
import type { CliIo } from "../command.js";
import { main } from "../main.js";
import { runDevnet } from "./devnet.js";

const CLI = fileURLToPath(new URL("../../../dist/cli/main.js", import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function livepay(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { PATH: process.env.PATH ?? "", ...env }, timeout: 20_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Runs the CLI in this process (same dispatcher, buffered output): for the many quick cases. */
async function inProcess(args: string[]): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const io: CliIo = {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    readStdin: () => Promise.resolve(""),
  };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

let dir: string;
let devnet: Devnet;
let manifestPath: string;
let user: DevnetAccount;

beforeAll(async () => {
  if (!existsSync(CLI))
    throw new Error(
      `${CLI} is missing: build with npx tsc -b packages/protocol packages/contracts packages/node`,
    );
  dir = await mkdtemp(join(tmpdir(), "livepay-cli-"));
  manifestPath = join(dir, "devnet.json");
  devnet = await startDevnet({ roundLength: 10n, blockTimeMs: 0, roundCheckMs: 0, manifestPath });
  user = devnet.manifest.accounts.find((a) => a.name === "user-1")!;
});

afterAll(async () => {
  await devnet?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("livepay deposit | reserve | unlock | withdraw | status (built CLI)", () => {
  it("funds, reports status, unlocks, refuses an early withdrawal with the revert reason, then withdraws", async () => {
    const m = ["--manifest", manifestPath];
    const key = ["--private-key", user.privateKey!];

    let r = await livepay(["deposit", "0.5eth", "--reserve", "0.25 ETH", ...m, ...key]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`for ${user.address}`);
    expect(r.stdout).toContain(
      "deposit now 0.5 ETH (500000000000000000 wei), reserve 0.25 ETH (250000000000000000 wei)",
    );

    // The key can come from the environment instead of the flag (in process: fewer node start-ups).
    process.env.LIVEPAY_PRIVATE_KEY = user.privateKey!;
    try {
      r = await inProcess(["reserve", "1000", ...m]);
    } finally {
      delete process.env.LIVEPAY_PRIVATE_KEY;
    }
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("reserve 0.250000000000001 ETH");

    r = await livepay(["status", user.address, "--json", ...m]);
    expect(r.code).toBe(0);
    const status = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(status).toMatchObject({
      address: user.address,
      chainId: 31337,
      deposit: String(parseEther("0.5")),
      reserve: String(parseEther("0.25") + 1000n),
      withdrawRound: "0",
      unlock: "none",
    });

    r = await inProcess(["unlock", "--cancel", ...m, ...key]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("error: no unlock request in progress\n");

    r = await livepay(["unlock", ...m, ...key]);
    expect(r.code).toBe(0);
    const round = BigInt(status.currentRound as string);
    expect(r.stdout).toMatch(
      /unlock started for 0x[0-9a-fA-F]{40}: withdraw from round \d+ \(current round \d+\)/,
    );

    r = await livepay(["withdraw", ...m, ...key]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("error: account is locked\n");
    expect(r.stdout).toBe("");

    r = await inProcess(["status", ...m, ...key]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/unlock +pending: withdraw from round \d+/);
    expect(r.stdout).toContain("deposit         0.5 ETH (500000000000000000 wei)");

    await devnet.nextRound();
    await devnet.nextRound();
    const chain = await connectChain({ network: "devnet", manifest: devnet.manifest });
    expect(await chain.currentRound()).toBeGreaterThanOrEqual(round + 2n);

    r = await livepay(["withdraw", "--json", ...m, ...key]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      address: user.address,
      withdrawn: { deposit: String(parseEther("0.5")), reserve: String(parseEther("0.25") + 1000n) },
    });

    r = await inProcess(["withdraw", ...m, ...key]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("error: sender deposit and reserve are zero\n");
  }, 60_000);

  it("uses the devnet's gateway account when no key is given", async () => {
    const r = await inProcess(["status", "--manifest", manifestPath]);
    expect(r.code).toBe(0);
    const gw = devnet.manifest.accounts.find((a) => a.role === "gateway")!;
    expect(r.stdout).toContain(`address         ${gw.address}`);
  });

  it("exits 2 on bad usage with a clear message, before touching the chain", async () => {
    const other = devnet.manifest.accounts.find((a) => a.name === "user-2")!;
    const m = ["--manifest", manifestPath, "--private-key", other.privateKey!];
    const cases: [string[], string][] = [
      [
        ["deposit", "1.0000000000000000001eth", ...m],
        'error: too many decimals in "1.0000000000000000001eth": eth has at most 18 decimals\n',
      ],
      [["deposit", ...m, "--", "-1"], ""],
      [["deposit", "lots", ...m], 'error: invalid amount "lots"'],
      [["deposit", "0", ...m], "error: deposit amount must be greater than 0\n"],
      [["deposit", ...m], "error: missing deposit amount"],
      [["reserve", "1eth", "2eth", ...m], 'error: unexpected argument "2eth"'],
      [["status", "not-an-address", "--manifest", manifestPath], 'error: not an address: "not-an-address"'],
      [["deposit", "1eth", "--manifest", join(dir, "none.json")], "no devnet manifest at"],
      [["deposit", "1eth", "--network", "moon", ...m], 'error: unknown network "moon"'],
      [
        ["deposit", "1eth", "--private-key", "0x1234", "--manifest", manifestPath],
        "error: private key must be 32 bytes of hex",
      ],
      [["withdraw", "--bogus", ...m], "error: Unknown option '--bogus'"],
    ];
    const results = [];
    for (const [args] of cases) results.push(await inProcess(args));
    // And once through the built binary, for the real exit code.
    const built = await livepay(cases[0]![0]);
    expect(built.code).toBe(2);
    expect(built.stderr).toBe(cases[0]![1]);
    results.forEach((r, i) => {
      const [args, message] = cases[i]!;
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr, args.join(" ")).toContain(message);
      expect(r.stdout, args.join(" ")).toBe("");
    });
    expect(results[1]!.stderr).toContain('amount must not be negative: "-1"');
    // Nothing was funded by any of them.
    const chain = await connectChain({ network: "devnet", manifest: devnet.manifest });
    expect((await chain.getSenderInfo(other.address)).deposit).toBe(0n);
  });

  it("exits 1 with a message when the RPC is unreachable", async () => {
    const r = await inProcess(["status", "--manifest", manifestPath, "--rpc-url", "http://127.0.0.1:1"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^error: cannot reach http:\/\/127\.0\.0\.1:1: .*\(is the devnet running\? start it with: livepay devnet\)\n$/,
    );
  });
});

describe("livepay devnet (built CLI)", () => {
  it("--json starts a devnet, prints only the manifest, and stops cleanly on SIGTERM", async () => {
    const path = join(dir, "cli-devnet.json");
    const child = spawn(
      process.execPath,
      [CLI, "devnet", "--json", "--manifest", path, "--orchestrators", "2", "--block-time", "100"],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      const deadline = Date.now() + 20_000;
      while (!stdout.trimEnd().endsWith("}") || !existsSync(path)) {
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(`devnet did not start: ${stderr}`);
        await new Promise((r) => setTimeout(r, 25));
      }
      const manifest = parseManifest(JSON.parse(stdout));
      expect(manifest.accounts.filter((a) => a.role === "orchestrator")).toHaveLength(2);
      const client = createPublicClient({ transport: http(manifest.rpcUrl, { retryCount: 0 }) });
      const code = await client.getCode({ address: manifest.contracts.ticketBroker });
      expect(code!.length).toBeGreaterThan(2);
      const chain = await connectChain({ network: "devnet", manifest });
      expect(await chain.getTranscoderPoolSize()).toBe(2n);
      // Rounds move: the keeper mines a block every 100 ms.
      const head = await chain.blockNumber();
      const until = Date.now() + 5000;
      while ((await chain.blockNumber()) === head) {
        if (Date.now() > until) throw new Error("no new block");
        await new Promise((r) => setTimeout(r, 100));
      }

      // A second devnet on the same manifest is refused while the first one runs.
      let err = "";
      const io: CliIo = {
        stdout: () => undefined,
        stderr: (t) => void (err += t),
        readStdin: () => Promise.resolve(""),
      };
      expect(await runDevnet(["--manifest", path], io, AbortSignal.timeout(10_000))).toBe(2);
      expect(err).toBe(
        `error: a devnet is already running at ${manifest.rpcUrl} (manifest ${path}): stop it, or pass another --manifest\n`,
      );

      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(stderr).toBe("devnet stopped\n");
      expect(existsSync(path)).toBe(false);
      await expect(client.getChainId()).rejects.toThrow();
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  }, 60_000);

  it("--rpc-url deploys onto a running chain and stays up until SIGTERM", async () => {
    const path = join(dir, "rpc-devnet.json");
    const deployer = devnet.manifest.accounts.find((a) => a.name === "user-3")!;
    const child = spawn(
      process.execPath,
      [
        CLI,
        "devnet",
        "--json",
        "--rpc-url",
        devnet.manifest.rpcUrl,
        "--manifest",
        path,
        "--orchestrators",
        "1",
      ],
      {
        stdio: ["ignore", "pipe", "pipe"],
        env: { PATH: process.env.PATH ?? "", LIVEPAY_PRIVATE_KEY: deployer.privateKey! },
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      const deadline = Date.now() + 20_000;
      while (!stdout.trimEnd().endsWith("}")) {
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(`devnet did not start: ${stderr}`);
        await new Promise((r) => setTimeout(r, 25));
      }
      const manifest = parseManifest(JSON.parse(stdout));
      expect(manifest.rpcUrl).toBe(devnet.manifest.rpcUrl);
      expect(manifest.contracts.ticketBroker).not.toBe(devnet.manifest.contracts.ticketBroker);
      expect(manifest.accounts[0]).toMatchObject({ role: "deployer", address: deployer.address });
      // Nothing of its own holds the event loop (no anvil child): it must still be running.
      await new Promise((r) => setTimeout(r, 1500));
      expect(child.exitCode).toBeNull();
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(stderr).toBe("devnet stopped\n");
      // The chain it deployed to is not its own: it keeps running, and so does the manifest.
      expect(existsSync(path)).toBe(true);
      const chain = await connectChain({ network: "devnet", manifest });
      expect(await chain.getTranscoderPoolSize()).toBe(1n);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  }, 60_000);
});
