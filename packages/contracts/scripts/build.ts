// Regenerates src/generated/ from contracts/. Run: npm run build:contracts
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { compile, generatedDir, renderArtifact, renderIndex } from "./compile.js";

const started = Date.now();
const { version, artifacts } = compile();
mkdirSync(generatedDir, { recursive: true });
for (const f of readdirSync(generatedDir)) rmSync(join(generatedDir, f));
for (const a of artifacts) writeFileSync(join(generatedDir, `${a.name}.ts`), renderArtifact(a, version));
writeFileSync(join(generatedDir, "index.ts"), renderIndex(artifacts));
console.log(
  `compiled ${artifacts.length} contracts with solc ${version} in ${Date.now() - started} ms: ${artifacts.map((a) => a.name).join(", ")}`,
);
