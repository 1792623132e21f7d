// The persistent store's schema migration: rows written before replayed responses became bytes stay
// readable (their JSON text replays as application/json), and binary responses round-trip exactly.
import { createRequire } from "node:module";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openTicket, utf8, type Hex } from "@livepay/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { PersistentStore } from "./store.js";

const require = createRequire(import.meta.url);
const Database = require("better-sqlite3") as new (p: string) => {
  exec(sql: string): void;
  prepare(sql: string): { run(...p: unknown[]): unknown; get(...p: unknown[]): unknown };
  pragma(s: string, o?: { simple?: boolean }): unknown;
  close(): void;
};

// The schema of pt_requests before version 1 (response as JSON text only).
const V0 = `
CREATE TABLE pt_requests (
  quote_id TEXT PRIMARY KEY, payer TEXT NOT NULL, epoch TEXT NOT NULL, ticket_id TEXT NOT NULL,
  max_charge TEXT NOT NULL, voucher TEXT NOT NULL, status TEXT NOT NULL,
  salt TEXT NOT NULL, input_hash TEXT NOT NULL,
  receipt TEXT, receipt_hash TEXT, response TEXT, in_claim INTEGER NOT NULL DEFAULT 0);`;

const PAYER: Hex = `0x${"11".repeat(20)}`;
const PAYEE: Hex = `0x${"22".repeat(20)}`;
const qid = (n: number): Hex => `0x${n.toString(16).padStart(64, "0")}`;
const H: Hex = `0x${"ab".repeat(32)}`;

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe("PersistentStore schema", () => {
  it("migrates a version-0 file: old JSON responses replay as application/json, new ones keep bytes", async () => {
    dir = await mkdtemp(join(tmpdir(), "livepay-ptstore-"));
    const path = join(dir, "persistent.db");
    const old = new Database(path);
    old.exec(V0);
    old
      .prepare(
        "INSERT INTO pt_requests (quote_id, payer, epoch, ticket_id, max_charge, voucher, status, salt, input_hash, response) VALUES (?, ?, '0', '0', '5', '{}', 'done', ?, ?, ?)",
      )
      .run(qid(1), PAYER, H, H, '{"id":"chatcmpl-1"}');
    expect(old.pragma("user_version", { simple: true })).toBe(0);
    old.close();

    let store = new PersistentStore(path);
    expect(store.request(qid(1))!.response).toEqual({
      body: utf8('{"id":"chatcmpl-1"}'),
      contentType: "application/json",
    });

    // A binary response (every byte value) is stored and read back exactly.
    const state = openTicket({ payer: PAYER, payee: PAYEE, ticketId: 0n, epoch: 0n });
    store.acceptVoucher(
      state,
      { cumulativeAmount: 9n, context: H, signature: `0x${"cd".repeat(65)}` },
      { quoteId: qid(2), maxCharge: 9n, salt: H, inputHash: H },
    );
    const audio = new Uint8Array(256).map((_, i) => i);
    const signed = {
      receipt: {
        payee: PAYEE,
        payer: PAYER,
        ticketId: 0n,
        epoch: 0n,
        seq: 1n,
        quoteHash: H,
        units: 3n,
        charge: 3n,
        cumulativeCharged: 3n,
        inputHash: H,
        outputHash: H,
        prevReceiptHash: H,
      },
      signature: `0x${"ef".repeat(65)}` as Hex,
      salt: H,
    };
    store.saveReceipt(state, qid(2), signed, H, { body: audio, contentType: "audio/wav" });
    store.close();

    // Re-opened: the migration does not run twice and both rows read back.
    store = new PersistentStore(path);
    expect(store.request(qid(2))!.response).toEqual({ body: audio, contentType: "audio/wav" });
    expect(store.request(qid(2))!.receipt).toEqual(signed);
    expect(store.request(qid(1))!.response!.contentType).toBe("application/json");
    store.close();
    const check = new Database(path);
    expect(check.pragma("user_version", { simple: true })).toBe(1);
    check.close();
  });
});
