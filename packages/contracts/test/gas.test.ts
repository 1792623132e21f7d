// Gas benchmark vs the committed snapshot: fails when an operation costs more than 2 % above it.
import { expect, test } from "vitest";
import {
  GAS_TOLERANCE,
  compareGas,
  formatGasTable,
  measureGas,
  readGasSnapshot,
  type GasRow,
} from "../src/gas.js";

test("compareGas flags growth above the tolerance and unknown rows only", () => {
  const rows: GasRow[] = [
    { name: "a", gas: 10_200, note: "" },
    { name: "b", gas: 10_201, note: "" },
    { name: "c", gas: 5, note: "" },
    { name: "d", gas: 1, note: "" },
  ];
  expect(GAS_TOLERANCE).toBe(0.02);
  expect(compareGas(rows, { a: 10_000, b: 10_000, c: 50 })).toEqual([
    "b: 10201 gas > snapshot 10000 + 2 %",
    "d: not in the snapshot (measured 1)",
  ]);
});

test("TicketBroker gas is within 2 % of gas-snapshot.json", { timeout: 120_000 }, async () => {
  const rows = await measureGas();
  const snapshot = readGasSnapshot();
  console.log(formatGasTable(rows, snapshot));
  expect(compareGas(rows, snapshot)).toEqual([]);
  const names = rows.map((r) => r.name);
  for (const required of [
    "redeemWinningTicket (payee's first)",
    "redeemWinningTicket (steady state)",
    "batchRedeemWinningTickets (10)",
    "fundDepositAndReserve (first)",
    "withdraw",
  ]) {
    expect(names).toContain(required);
  }
});
