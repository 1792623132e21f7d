// Durability on SQLite: a child process writes winning tickets (and reserves nonces, credits a
// balance) and reports each write once its promise resolved; the parent kills it with SIGKILL in the
// middle of the stream. Every write the child acknowledged must be in the database when reopened.
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openStore } from "./index.js";

const repoRoot = fileURLToPath(new URL("../../../../", import.meta.url));
const storeIndex = fileURLToPath(new URL("./index.ts", import.meta.url));

// Runs in the child (tsx). Writes forever until killed; prints "W <i>" after each write resolved.
const CHILD = (dbPath: string) => `
import { openStore } from ${JSON.stringify(storeIndex)};
const store = await openStore({ path: ${JSON.stringify(dbPath)} });
const hex = (n, bytes) => "0x" + n.toString(16).padStart(bytes * 2, "0");
for (let i = 1n; ; i++) {
  await store.winningTickets.insert({
    sender: "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
    recipient: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
    faceValue: 10n ** 18n + i,
    winProb: (1n << 255n) + i,
    senderNonce: i,
    recipientRand: (1n << 200n) + i,
    recipientRandHash: hex(i, 32),
    creationRound: 3500n,
    creationRoundBlockHash: hex(7n, 32),
    sig: hex(i, 65),
    paramsExpirationBlock: 1000n + i,
  });
  await store.sessionNonces.reserveNonces("0xsession", 1);
  await store.payerBalances.credit("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266", "mid", 1n);
  process.stdout.write("W " + i + "\\n");
}
`;

describe("SQLite durability", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "livepay-durability-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it(
    "keeps every acknowledged write after the writer is killed with SIGKILL",
    { timeout: 60_000 },
    async () => {
      const dbPath = join(dir, "orchestrator.db");
      // Resolve @livepay/protocol to its sources in the child too, as vitest's alias does here.
      const tsconfig = join(dir, "tsconfig.json");
      await writeFile(
        tsconfig,
        JSON.stringify({
          compilerOptions: {
            baseUrl: repoRoot,
            paths: { "@livepay/protocol": ["packages/protocol/src/index.ts"] },
          },
        }),
      );
      const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", CHILD(dbPath)], {
        cwd: repoRoot,
        env: { ...process.env, TSX_TSCONFIG_PATH: tsconfig },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
        child.on("exit", (code, signal) => resolve(signal ?? code)),
      );

      // Kill right after the 25th acknowledged write: the child is mid-way through the next one.
      let acknowledged = 0;
      await new Promise<void>((resolve, reject) => {
        let buf = "";
        child.stdout.on("data", (d: Buffer) => {
          buf += d.toString();
          const lines = buf.split("\n");
          buf = lines.pop()!;
          for (const line of lines) {
            const m = /^W (\d+)$/.exec(line);
            if (!m) continue;
            acknowledged = Number(m[1]);
            if (acknowledged >= 25) {
              child.kill("SIGKILL");
              resolve();
            }
          }
        });
        void exited.then(() => reject(new Error(`child exited early: ${stderr.slice(-2000)}`)));
      });
      expect(await exited).toBe("SIGKILL");
      expect(acknowledged).toBeGreaterThanOrEqual(25);

      const store = await openStore({ path: dbPath });
      try {
        const tickets = await store.winningTickets.list();
        const nonces = tickets.map((t) => t.senderNonce);
        for (let i = 1n; i <= BigInt(acknowledged); i++) expect(nonces).toContain(i);
        const t25 = tickets.find((t) => t.senderNonce === 25n)!;
        expect(t25).toMatchObject({
          faceValue: 10n ** 18n + 25n,
          winProb: (1n << 255n) + 25n,
          recipientRand: (1n << 200n) + 25n,
          paramsExpirationBlock: 1025n,
          status: "pending",
        });
        expect(await store.sessionNonces.lastNonce("0xsession")).toBeGreaterThanOrEqual(BigInt(acknowledged));
        const balance = await store.payerBalances.get("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266", "mid");
        expect(balance!.amount.gte(BigInt(acknowledged))).toBe(true);
        // A reopened queue still hands the tickets out for redemption.
        expect(
          (await store.winningTickets.listRedeemable({ block: 1001n, minRound: 3500n })).map(
            (t) => t.senderNonce,
          ),
        ).toEqual([1n]);
      } finally {
        await store.close();
      }
    },
  );
});
