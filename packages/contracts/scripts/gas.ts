// Gas report on anvil: the TicketBroker (compared with gas-snapshot.json) and the PersistentTicketBroker
// (compared with test/persistent/gas-snapshot.json by its own test). Run: npm run gas
// Run: npx tsx packages/contracts/scripts/gas.ts [--write] [--breakdown]
//   --write      record the measurement as the new gas-snapshot.json
//   --breakdown  also trace one redemption and print where its gas goes
import {
  GAS_TOLERANCE,
  compareGas,
  formatGasTable,
  measureGas,
  readGasSnapshot,
  redemptionGasBreakdown,
  writeGasSnapshot,
} from "../src/gas.js";
import { measurePersistentGas } from "../src/persistentGas.js";

const rows = await measureGas();
const snapshot = readGasSnapshot();
console.log("TicketBroker (target: winning ticket <= 60,000 gas)");
console.log(formatGasTable(rows, snapshot));
console.log(
  "\nPersistentTicketBroker (targets: voucher <= 40,000 alone, <= 15,000 per voucher in a steady batch of 10)",
);
console.log(formatGasTable((await measurePersistentGas()).map((r) => ({ ...r, note: "" }))));
if (process.argv.includes("--breakdown")) {
  const parts = await redemptionGasBreakdown();
  const width = Math.max(...parts.map((p) => p.part.length));
  console.log("\nwhere a steady-state redeemWinningTicket spends its gas:");
  for (const p of parts)
    console.log(`  ${p.part.padEnd(width)}  ${p.gas.toLocaleString("en-US").padStart(7)}`);
}
if (process.argv.includes("--write")) {
  writeGasSnapshot(rows);
  console.log("\nwrote gas-snapshot.json");
} else {
  const problems = compareGas(rows, snapshot);
  if (problems.length > 0) {
    console.error(
      `\ngas grew more than ${GAS_TOLERANCE * 100} % over the snapshot:\n  ${problems.join("\n  ")}`,
    );
    process.exitCode = 1;
  }
}
