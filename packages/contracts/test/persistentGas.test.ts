// Gas of PersistentTicketBroker's main paths against the snapshot checked in beside this test
// (test/persistent/gas-snapshot.json). A change beyond ±2 % fails: rerun with
// LIVEPAY_UPDATE_GAS_SNAPSHOT=1 to accept it, and update PERSISTENT.md's figures.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { measurePersistentGas, type PersistentGasRow } from "../src/persistentGas.js";

const snapshotPath = fileURLToPath(new URL("./persistent/gas-snapshot.json", import.meta.url));

describe("PersistentTicketBroker gas", () => {
  it("matches the snapshot within 2 %", { timeout: 60_000 }, async () => {
    const rows = await measurePersistentGas();
    console.log(rows.map((r) => `${r.name.padEnd(70)} ${String(r.gas).padStart(7)}`).join("\n"));
    if (process.env.LIVEPAY_UPDATE_GAS_SNAPSHOT || !existsSync(snapshotPath)) {
      writeFileSync(snapshotPath, `${JSON.stringify(rows, null, 2)}\n`);
    }
    const snapshot = JSON.parse(readFileSync(snapshotPath, "utf8")) as PersistentGasRow[];
    expect(rows.map((r) => r.name)).toEqual(snapshot.map((r) => r.name));
    for (const [i, row] of rows.entries()) {
      const was = snapshot[i]!.gas;
      expect(
        Math.abs(row.gas - was) / was,
        `${row.name}: ${row.gas} gas, snapshot ${was}`,
      ).toBeLessThanOrEqual(0.02);
    }
    // What the design relies on, independent of the snapshot: a steady-state voucher in a batch
    // of ten costs a third of one claimed alone, and the pair's second ticket is not a new slot.
    const gas = (name: string) => rows.find((r) => r.name.startsWith(name))!.gas;
    expect(gas("claimBatch 10 steady state, one payer (per voucher)")).toBeLessThan(
      gas("claim: steady state") / 3,
    );
    expect(gas("claim: first claim on the pair's second ticket")).toBeLessThan(
      gas("claim: first claim on a new ticket") - 15_000,
    );
  });
});
