// The `livepay` CLI run from source (tsx) as a separate process, for tests that must kill -9 a real
// node: `@livepay/*` resolve to their sources, as vitest's aliases do in the test process.
import { spawn, type ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

/** A CLI child process and what it has printed so far (stdout and stderr). */
export interface CliProcess {
  readonly child: ChildProcess;
  /** Everything printed so far. */
  output(): string;
  /** Resolves when the process has exited (killed or not). */
  readonly exited: Promise<void>;
  /**
   * Waits for the first pino log line whose message is `msg` and returns it parsed; throws with the
   * output if the process exits or `timeoutMs` passes first (and kills it in the timeout case).
   */
  waitForLog<T = Record<string, unknown>>(msg: string, timeoutMs?: number): Promise<T>;
}

/**
 * Writes a tsconfig mapping `@livepay/*` to sources into `dir` and spawns
 * `livepay <args>` from `packages/node/src/cli/main.ts` under tsx.
 * @example const cli = await spawnCli(dir, ["orchestrator", "--config", cfgPath]); await cli.waitForLog("orchestrator listening");
 */
export async function spawnCli(dir: string, args: readonly string[]): Promise<CliProcess> {
  const tsconfig = join(dir, "tsconfig.cli.json");
  await writeFile(
    tsconfig,
    JSON.stringify({
      compilerOptions: {
        baseUrl: repoRoot,
        paths: {
          "@livepay/protocol/client": ["packages/protocol/src/client/index.ts"],
          "@livepay/protocol": ["packages/protocol/src/index.ts"],
          "@livepay/contracts": ["packages/contracts/src/index.ts"],
        },
      },
    }),
  );
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(repoRoot, "packages/node/src/cli/main.ts"), ...args],
    {
      cwd: repoRoot,
      env: { ...process.env, TSX_TSCONFIG_PATH: tsconfig },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return {
    child,
    output: () => out,
    exited,
    async waitForLog<T>(msg: string, timeoutMs = 60_000): Promise<T> {
      const needle = JSON.stringify(msg);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const line = out.split("\n").find((l) => l.includes(`"msg":${needle}`));
        if (line) return JSON.parse(line) as T;
        if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
          if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
          throw new Error(`livepay ${args[0] ?? ""} did not log ${needle}: ${out.slice(-2000)}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}
