// `livepay orchestrator` argument handling, in process (the full run is exercised as a child
// process by orchestrator.test.ts).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { privateKeyToAddress, type Hex } from "@livepay/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliIo } from "../cli/command.js";
import { runOrchestrator } from "../cli/commands/orchestrator.js";

const KEY: Hex = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const ONE = "0x0000000000000000000000000000000000000001";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "livepay-orch-cli-"));
  await writeFile(
    join(dir, "devnet.json"),
    JSON.stringify({
      version: 1,
      network: "devnet",
      rpcUrl: "http://127.0.0.1:1",
      chainId: 31337,
      contracts: { roundsManager: ONE, orchestratorRegistry: ONE, ticketBroker: ONE },
      params: { roundLength: 50, unlockPeriod: 2, ticketValidityPeriod: 2, poolMaxSize: 100 },
      accounts: [
        { role: "orchestrator", name: "orchestrator-1", address: privateKeyToAddress(KEY), privateKey: KEY },
      ],
      startBlock: 1,
      startedAt: "2026-01-01T00:00:00Z",
    }),
  );
  await writeFile(
    join(dir, "models.json"),
    JSON.stringify([{ pipeline: "llm", model_id: "m", runner: "synthetic", price_per_unit: "7" }]),
  );
  await writeFile(
    join(dir, "orchestrator.json"),
    JSON.stringify({ chain: { manifest: "devnet.json" }, models: "models.json", tickets: { ev: "1gwei" } }),
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: CliIo = {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    readStdin: () => Promise.resolve(""),
  };
  const code = await runOrchestrator(args, io, AbortSignal.timeout(10_000));
  return { code, stdout, stderr };
}

describe("livepay orchestrator", () => {
  it("--print-config resolves file paths against the config file, applies flags, and hides the key", async () => {
    const r = await run([
      "--config",
      join(dir, "orchestrator.json"),
      "--ticket-ev",
      "3gwei",
      "--print-config",
    ]);
    expect(r.code).toBe(0);
    const printed = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(printed).toMatchObject({
      address: privateKeyToAddress(KEY),
      privateKey: "***",
      store: { path: join(dir, ".livepay/orchestrator/orchestrator.db") },
      tickets: { ev: "3000000000" },
      models: [{ modelId: "m", priceWeiPerUnit: "7/1" }],
    });
    expect(r.stdout).not.toContain(KEY.slice(2));
  });

  it("exits 2 on bad usage or configuration, with a message", async () => {
    expect((await run([])).stderr).toMatch(/give --config FILE/);
    const missing = await run(["--config", join(dir, "nope.json")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error: cannot read config/);
    const bad = await run(["--config", join(dir, "orchestrator.json"), "--ticket-ev=1.5wei"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/tickets\.ev/);
  });

  it("exits 1 when the chain is unreachable", async () => {
    const r = await run([
      "--config",
      join(dir, "orchestrator.json"),
      "--store",
      join(dir, "x.db"),
      "--grpc-port",
      "0",
      "--http-port",
      "0",
      "--log-level",
      "silent",
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:1/);
  });
});
