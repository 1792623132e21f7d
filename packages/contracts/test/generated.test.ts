// src/generated must be what `npm run build:contracts` produces from contracts/ (committed artifacts stay fresh).
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { compile, generatedDir, renderArtifact, renderIndex } from "../scripts/compile.js";

test("src/generated matches a fresh compilation of contracts/", { timeout: 120_000 }, () => {
  const { version, artifacts } = compile();
  const expected = new Map<string, string>(
    artifacts.map((a) => [`${a.name}.ts`, renderArtifact(a, version)]),
  );
  expected.set("index.ts", renderIndex(artifacts));
  expect(readdirSync(generatedDir).sort(), "run npm run build:contracts").toEqual(
    [...expected.keys()].sort(),
  );
  for (const [file, content] of expected) {
    const fresh = readFileSync(join(generatedDir, file), "utf8") === content;
    expect(fresh, `src/generated/${file} is stale: run npm run build:contracts`).toBe(true);
  }
});
