// A real PostgreSQL for the tests. The vitest globalSetup (globalSetup.ts) calls `startTestPostgres`
// once per run: it uses LIVEPAY_TEST_PG_URL if set, else Debian's binaries (installing them with
// apt-get when missing and we are root), initdb's a fresh cluster in a temp dir, starts it on a free
// port and stops and deletes it at teardown. Tests call `freshPostgresUrl()` for an isolated schema.
// If PostgreSQL cannot be provided, PostgreSQL tests FAIL with the reason, unless LIVEPAY_SKIP_PG=1.
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { chown, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { inject } from "vitest";

const run = promisify(execFile);
const require = createRequire(import.meta.url);

/** What the globalSetup hands to test workers. */
export interface TestPostgresInfo {
  /** Connection URL of a database the tests may use freely, or null. */
  url: string | null;
  /** Why PostgreSQL is unavailable (null when `url` is set or when skipped). */
  error: string | null;
  /** LIVEPAY_SKIP_PG=1 was set: PostgreSQL tests are skipped on purpose. */
  skipped: boolean;
}

declare module "vitest" {
  export interface ProvidedContext {
    livepayPostgres: TestPostgresInfo;
  }
}

/** A running test PostgreSQL (or an external one) and how to stop it. */
export interface TestPostgres {
  info: TestPostgresInfo;
  stop(): Promise<void>;
}

const DIR_PREFIX = "livepay-pg-";

function log(message: string): void {
  console.log(`[livepay test postgres] ${message}`);
}

function findInitdb(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], "bin");
}

async function installWithApt(): Promise<void> {
  if (process.getuid?.() !== 0)
    throw new Error("PostgreSQL is not installed and we are not root to apt-get it");
  if (!existsSync("/usr/bin/apt-get"))
    throw new Error("PostgreSQL is not installed and apt-get is unavailable");
  log("PostgreSQL binaries not found: installing them with apt-get (about a minute, only once)...");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const opts = { env, maxBuffer: 64 << 20, timeout: 600_000 };
  await run("apt-get", ["update", "-qq"], opts);
  await run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "postgresql"], opts);
  log("PostgreSQL installed.");
}

function runuser(): string {
  for (const p of ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"]) if (existsSync(p)) return p;
  return "runuser";
}

// PostgreSQL refuses to run as root: as root, run its binaries as the `postgres` OS user.
async function runAsPostgres(bin: string, args: string[]): Promise<void> {
  const root = process.getuid?.() === 0;
  const [cmd, argv] = root ? [runuser(), ["-u", "postgres", "--", bin, ...args]] : [bin, args];
  await run(cmd, argv, { maxBuffer: 16 << 20, timeout: 60_000 });
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const uid = Number((await run("id", ["-u", "postgres"])).stdout.trim());
  const gid = Number((await run("id", ["-g", "postgres"])).stdout.trim());
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error("no `postgres` OS user");
  return { uid, gid };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

// Clusters left behind by a test run that was killed before its teardown (owner process gone).
async function removeStaleClusters(bin: string): Promise<void> {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(DIR_PREFIX)) continue;
    const dir = join(tmpdir(), name);
    let owner: number;
    try {
      owner = Number(readFileSync(join(dir, "owner.pid"), "utf8"));
    } catch {
      continue;
    }
    if (!Number.isInteger(owner) || alive(owner)) continue;
    if (existsSync(join(dir, "data", "postmaster.pid"))) {
      await runAsPostgres(join(bin, "pg_ctl"), [
        "-D",
        join(dir, "data"),
        "-m",
        "immediate",
        "-w",
        "stop",
      ]).catch(() => undefined);
    }
    await rm(dir, { recursive: true, force: true });
  }
}

async function startCluster(): Promise<TestPostgres> {
  let bin = findInitdb();
  if (!bin) {
    await installWithApt();
    bin = findInitdb();
    if (!bin)
      throw new Error("apt-get installed postgresql but no /usr/lib/postgresql/*/bin/initdb was found");
  }
  await removeStaleClusters(bin).catch(() => undefined);
  const started = Date.now();
  const dir = await mkdtemp(join(tmpdir(), DIR_PREFIX));
  await writeFile(join(dir, "owner.pid"), String(process.pid));
  if (process.getuid?.() === 0) {
    const { uid, gid } = await postgresIds();
    await chown(dir, uid, gid);
  }
  const data = join(dir, "data");
  const pgCtl = join(bin, "pg_ctl");
  let running = false;
  const stop = async () => {
    if (running) {
      await runAsPostgres(pgCtl, ["-D", data, "-m", "immediate", "-w", "stop"]).catch(() => undefined);
      running = false;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await runAsPostgres(join(bin, "initdb"), [
      "-D",
      data,
      "-U",
      "postgres",
      "-A",
      "trust",
      "-E",
      "UTF8",
      "--locale=C",
      "-N",
    ]);
    const port = await freePort();
    // Test-only settings: fsync off makes the throwaway cluster fast; livepay's durability tests run
    // on SQLite. Never use these for a real database.
    const serverOptions = [
      `-p ${port}`,
      `-k ${dir}`,
      "-c listen_addresses=127.0.0.1",
      "-c fsync=off",
      "-c full_page_writes=off",
      "-c max_connections=300",
    ].join(" ");
    await runAsPostgres(pgCtl, [
      "-D",
      data,
      "-l",
      join(dir, "server.log"),
      "-w",
      "-t",
      "60",
      "-o",
      serverOptions,
      "start",
    ]);
    running = true;
    const admin = `postgres://postgres@127.0.0.1:${port}/postgres`;
    await withClient(admin, (c) => c.query("create database livepay_test"));
    const url = `postgres://postgres@127.0.0.1:${port}/livepay_test`;
    log(`PostgreSQL ${bin.split("/").at(-2)} ready at ${url} in ${Date.now() - started} ms`);
    return { info: { url, error: null, skipped: false }, stop };
  } catch (e) {
    let serverLog = "";
    try {
      serverLog = readFileSync(join(dir, "server.log"), "utf8").slice(-2000);
    } catch {
      // no log yet
    }
    await stop();
    throw new Error(
      `${e instanceof Error ? e.message : String(e)}${serverLog ? `\nserver log:\n${serverLog}` : ""}`,
    );
  }
}

interface PgClient {
  connect(): Promise<void>;
  query(sql: string): Promise<unknown>;
  end(): Promise<void>;
}

async function withClient<T>(url: string, fn: (c: PgClient) => Promise<T>): Promise<T> {
  const { Client } = require("pg") as { Client: new (config: { connectionString: string }) => PgClient };
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Provides PostgreSQL for a test run; never throws: failures are reported in `info.error` so that
 * only PostgreSQL tests fail, with that reason.
 * @example const pg = await startTestPostgres(); project.provide("livepayPostgres", pg.info)
 */
export async function startTestPostgres(): Promise<TestPostgres> {
  if (process.env.LIVEPAY_SKIP_PG === "1") {
    log("LIVEPAY_SKIP_PG=1: PostgreSQL tests are skipped");
    return { info: { url: null, error: null, skipped: true }, stop: async () => undefined };
  }
  const external = process.env.LIVEPAY_TEST_PG_URL;
  if (external) return { info: { url: external, error: null, skipped: false }, stop: async () => undefined };
  try {
    return await startCluster();
  } catch (e) {
    const error =
      `PostgreSQL could not be provided for the tests: ${e instanceof Error ? e.message : String(e)}. ` +
      "Set LIVEPAY_TEST_PG_URL=postgres://... to use an existing server, or LIVEPAY_SKIP_PG=1 to skip PostgreSQL tests.";
    log(error);
    return { info: { url: null, error, skipped: false }, stop: async () => undefined };
  }
}

/**
 * In a test worker: what the globalSetup provided (falls back to the environment when the tests run
 * without it).
 * @example if (testPostgres().skipped) describe.skip(...)
 */
export function testPostgres(): TestPostgresInfo {
  let info: TestPostgresInfo | undefined;
  try {
    info = inject("livepayPostgres");
  } catch {
    info = undefined;
  }
  if (info) return info;
  if (process.env.LIVEPAY_SKIP_PG === "1") return { url: null, error: null, skipped: true };
  const url = process.env.LIVEPAY_TEST_PG_URL ?? null;
  return {
    url,
    error: url
      ? null
      : "PostgreSQL test setup did not run (packages/node/test/globalSetup.ts) and LIVEPAY_TEST_PG_URL is unset",
    skipped: false,
  };
}

/** Whether PostgreSQL tests are skipped on purpose (LIVEPAY_SKIP_PG=1). @example const backends = postgresSkipped() ? ["sqlite"] : ["sqlite", "postgres"] */
export function postgresSkipped(): boolean {
  return testPostgres().skipped;
}

/**
 * A fresh, empty schema in the test database and a URL whose connections use it (`search_path`), so
 * tests and test files never see each other's rows. Throws the setup's reason when PostgreSQL is
 * unavailable, so the calling test fails with it.
 * @example const store = await openStore({ url: await freshPostgresUrl() })
 */
export async function freshPostgresUrl(): Promise<string> {
  const info = testPostgres();
  if (!info.url) throw new Error(info.error ?? "PostgreSQL tests are skipped (LIVEPAY_SKIP_PG=1)");
  const schema = `t_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  await withClient(info.url, (c) => c.query(`create schema ${schema}`));
  const u = new URL(info.url);
  u.searchParams.set("options", `-c search_path=${schema}`);
  return u.toString();
}
