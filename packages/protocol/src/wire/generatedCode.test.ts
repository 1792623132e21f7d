import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, expect, it } from "vitest";

const pkg = fileURLToPath(new URL("../..", import.meta.url));
const bin = fileURLToPath(new URL("../../../../node_modules/.bin", import.meta.url));
const out = mkdtempSync(join(tmpdir(), "livepay-gen-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name).slice(dir.length + 1))
    .sort();
}

it("the committed generated code is what `npm run gen:proto` produces from proto/", () => {
  // Offline: buf runs the local protoc-gen-es from node_modules/.bin.
  execFileSync(join(bin, "buf"), ["generate", "--output", out], {
    cwd: pkg,
    env: { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? ""}` },
    stdio: "pipe",
  });
  const committed = join(pkg, "src/wire/generated");
  const fresh = join(out, "src/wire/generated");
  expect(files(fresh)).toStrictEqual(files(committed));
  for (const f of files(committed)) {
    expect(readFileSync(join(fresh, f), "utf8"), f).toBe(readFileSync(join(committed, f), "utf8"));
  }
}, 60_000);
