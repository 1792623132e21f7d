import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliIo } from "../cli/command.js";
import { runGateway } from "../cli/commands/gateway.js";
import { openStore } from "../store/openStore.js";

function bufferIo(): CliIo & { out: string; err: string } {
  const io = {
    out: "",
    err: "",
    stdout: (t: string) => void (io.out += t),
    stderr: (t: string) => void (io.err += t),
    readStdin: async () => "",
  };
  return io;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "livepay-gw-cli-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("livepay gateway keys", () => {
  it("creates a key with credit and caps in the store (hashed), lists and credits it", async () => {
    const store = join(dir, "gw.db");
    const io = bufferIo();
    const code = await runGateway(
      [
        "keys",
        "create",
        "--store",
        store,
        "--credit",
        "0.1eth",
        "--name",
        "app",
        "--cap-per-day",
        "0.01eth",
        "--json",
      ],
      io,
      new AbortController().signal,
    );
    expect(code).toBe(0);
    const made = JSON.parse(io.out) as { key: string; id: string; availableWei: string };
    expect(made.key).toMatch(/^lp_/);
    expect(made.availableWei).toBe("100000000000000000");

    const s = await openStore({ path: store });
    try {
      const k = await s.apiKeys.lookup(made.key);
      expect(k).toMatchObject({ id: made.id, name: "app", caps: { perDayWei: 10n ** 16n } });
    } finally {
      await s.close();
    }

    // The config file names the store; the plaintext key is nowhere in it.
    const cfg = join(dir, "gateway.json");
    await writeFile(cfg, JSON.stringify({ store: { path: store } }));
    const list = bufferIo();
    expect(await runGateway(["keys", "list", "--config", cfg], list, new AbortController().signal)).toBe(0);
    expect(list.out).toContain(made.id);
    expect(list.out).not.toContain(made.key);
    const credit = bufferIo();
    expect(
      await runGateway(
        ["keys", "credit", made.id, "0.05eth", "--config", cfg],
        credit,
        new AbortController().signal,
      ),
    ).toBe(0);
    expect(credit.out).toContain("0.15 ETH");
  });

  it("refuses bad usage with exit code 2", async () => {
    const io = bufferIo();
    expect(
      await runGateway(["keys", "create", "--store", join(dir, "x.db")], io, new AbortController().signal),
    ).toBe(2);
    expect(io.err).toContain("--credit");
    const bad = bufferIo();
    expect(await runGateway(["--port", "99999"], bad, new AbortController().signal)).toBe(2);
    expect(bad.err).toContain("port");
  });
});
