// `npm start` end to end: the built CLI brings up the whole network, the openai package gets a paid,
// streamed chat completion through the printed URL and key, and SIGTERM stops everything.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import OpenAI from "openai";
import { afterAll, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../../..", import.meta.url));
let child: ChildProcess | undefined;
let dir: string | undefined;

afterAll(async () => {
  child?.kill("SIGKILL");
  if (dir) await rm(dir, { recursive: true, force: true });
});

it("livepay start serves a paid, streamed chat completion within a minute and stops on SIGTERM", async () => {
  dir = await mkdtemp(join(tmpdir(), "livepay-start-"));
  const started = Date.now();
  const proc = spawn(
    process.execPath,
    ["packages/node/dist/cli/main.js", "start", "--port", "0", "--data-dir", dir],
    {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  child = proc;
  let out = "";
  let err = "";
  proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  while (!/Press Ctrl-C/.test(out)) {
    if (Date.now() - started > 60_000) throw new Error(`no banner within 60 s\n${out}\n${err}`);
    if (proc.exitCode !== null) throw new Error(`exited ${proc.exitCode}\n${out}\n${err}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const url = /gateway\s+(http:\/\/\S+)/.exec(out)![1]!;
  const key = /API key\s+(\S+)/.exec(out)![1]!;
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 });
  const stream = await client.chat.completions.create({
    model: "synthetic-llm",
    stream: true,
    max_tokens: 12,
    messages: [{ role: "user", content: "Hello" }],
  });
  let text = "";
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
  expect(text.length).toBeGreaterThan(0);
  expect(Date.now() - started).toBeLessThan(60_000);
  // The key was charged exactly the tokens at the chosen orchestrator's price, and tickets flowed.
  const account = (await (
    await fetch(`${url}/v1/account`, { headers: { authorization: `Bearer ${key}` } })
  ).json()) as {
    spent_wei: string;
    usage: { units: string; fee_wei: string; tickets_sent: number }[];
  };
  expect(account.usage).toHaveLength(1);
  expect(account.usage[0]!.units).toBe("12");
  expect(BigInt(account.spent_wei)).toBe(BigInt(account.usage[0]!.fee_wei));
  expect(account.usage[0]!.tickets_sent).toBeGreaterThan(0);
  proc.kill("SIGTERM");
  expect(await exited).toBe(0);
  expect(err).toMatch(/stopped/);
}, 120_000);
