// The payee's durable record of persistent tickets: issued quotes, accepted vouchers (before any
// work), ticket states, signed receipts (before they are sent) and what claims were paid.
//
// A separate SQLite file next to the orchestrator's store: store/ exposes no raw handle to add
// tables without a migration there, and better-sqlite3's synchronous API makes "commit, then
// answer" a single call. WAL + synchronous=FULL, as store/drivers.ts opens the main store.
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import {
  Rational,
  receiptFromJson,
  receiptToJson,
  signedReceiptFromJson,
  signedReceiptToJson,
  type Hex,
  type SignedReceipt,
  type TicketState,
} from "@livepay/protocol";

interface Statement {
  run(...params: unknown[]): { changes: number };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}
interface SqliteDb {
  pragma(source: string, options?: { simple?: boolean }): unknown;
  exec(sql: string): void;
  prepare(sql: string): Statement;
  transaction<A extends unknown[], R>(fn: (...a: A) => R): (...a: A) => R;
  close(): void;
}

/** The highest voucher the payee holds on a ticket: what a claim submits. */
export interface HeldVoucher {
  cumulativeAmount: bigint;
  context: Hex;
  signature: Hex;
}

/** One ticket's payee-side record. */
export interface TicketRow {
  state: TicketState;
  voucher: HeldVoucher | undefined;
  /** What the broker has PAID on this ticket so far (VoucherClaimed.paid summed). */
  claimed: bigint;
}

/** A response kept for idempotent replays: the exact body bytes and their Content-Type. */
export interface StoredResponse {
  body: Uint8Array;
  contentType: string;
}

/** A paid request: its voucher (persisted before work) and, once served, its signed receipt. */
export interface RequestRow {
  quoteId: Hex;
  payer: Hex;
  epoch: bigint;
  ticketId: bigint;
  maxCharge: bigint;
  status: "inflight" | "done";
  /** Salt of the receipt's content hashes, chosen when the voucher was accepted. */
  salt: Hex;
  inputHash: Hex;
  receipt: SignedReceipt | undefined;
  receiptHash: Hex | undefined;
  /** The body sent with the receipt (non-streamed replays, JSON or binary), if kept. */
  response: StoredResponse | undefined;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS pt_quotes (
  quote_id TEXT PRIMARY KEY, payer TEXT NOT NULL, ticket_id TEXT NOT NULL,
  body TEXT NOT NULL, created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS pt_tickets (
  payer TEXT NOT NULL, epoch TEXT NOT NULL, ticket_id TEXT NOT NULL,
  state TEXT NOT NULL, voucher TEXT, claimed TEXT NOT NULL DEFAULT '0',
  PRIMARY KEY (payer, epoch, ticket_id));
CREATE TABLE IF NOT EXISTS pt_requests (
  quote_id TEXT PRIMARY KEY, payer TEXT NOT NULL, epoch TEXT NOT NULL, ticket_id TEXT NOT NULL,
  max_charge TEXT NOT NULL, voucher TEXT NOT NULL, status TEXT NOT NULL,
  salt TEXT NOT NULL, input_hash TEXT NOT NULL,
  receipt TEXT, receipt_hash TEXT, response TEXT, in_claim INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS pt_requests_ticket ON pt_requests (payer, epoch, ticket_id, in_claim);
`;

/**
 * Schema migrations by `PRAGMA user_version`, each run once in a transaction. Version 1: replayed
 * responses become bytes with a Content-Type (text-to-speech answers audio); the JSON text of rows
 * written before is copied over as `application/json`, so they replay unchanged.
 */
const MIGRATIONS: readonly ((db: SqliteDb) => void)[] = [
  (db) => {
    const cols = (db.prepare("PRAGMA table_info(pt_requests)").all() as { name: string }[]).map(
      (c) => c.name,
    );
    if (!cols.includes("response_body")) db.exec("ALTER TABLE pt_requests ADD COLUMN response_body BLOB");
    if (!cols.includes("response_type")) db.exec("ALTER TABLE pt_requests ADD COLUMN response_type TEXT");
    db.exec(
      `UPDATE pt_requests SET response_body = CAST(response AS BLOB), response_type = 'application/json'
       WHERE response IS NOT NULL AND response_body IS NULL`,
    );
  },
];

function stateToJson(s: TicketState): string {
  return JSON.stringify({
    payer: s.payer,
    payee: s.payee,
    ticketId: s.ticketId.toString(),
    epoch: s.epoch.toString(),
    signedCumulative: s.signedCumulative.toString(),
    chargedNum: s.chargedExact.num.toString(),
    chargedDen: s.chargedExact.den.toString(),
    cumulativeCharged: s.cumulativeCharged.toString(),
    seq: s.seq.toString(),
    lastReceiptHash: s.lastReceiptHash,
    lastReceipt: s.lastReceipt ? receiptToJson(s.lastReceipt) : null,
    signer: s.signer ?? null,
    pendingQuoteHash: s.pendingQuoteHash ?? null,
  });
}

function stateFromJson(text: string): TicketState {
  const o = JSON.parse(text) as Record<string, string | null | object>;
  const str = (k: string) => o[k] as string;
  return {
    payer: str("payer") as Hex,
    payee: str("payee") as Hex,
    ticketId: BigInt(str("ticketId")),
    epoch: BigInt(str("epoch")),
    signedCumulative: BigInt(str("signedCumulative")),
    chargedExact: Rational.of(BigInt(str("chargedNum")), BigInt(str("chargedDen"))),
    cumulativeCharged: BigInt(str("cumulativeCharged")),
    seq: BigInt(str("seq")),
    lastReceiptHash: str("lastReceiptHash") as Hex,
    lastReceipt: o.lastReceipt ? receiptFromJson(o.lastReceipt) : undefined,
    signer: (o.signer as Hex | null) ?? undefined,
    pendingQuoteHash: (o.pendingQuoteHash as Hex | null) ?? undefined,
  };
}

function voucherToText(v: HeldVoucher): string {
  return JSON.stringify({
    cumulativeAmount: v.cumulativeAmount.toString(),
    context: v.context,
    signature: v.signature,
  });
}
function voucherFromText(t: string | null): HeldVoucher | undefined {
  if (!t) return undefined;
  const o = JSON.parse(t) as { cumulativeAmount: string; context: Hex; signature: Hex };
  return { cumulativeAmount: BigInt(o.cumulativeAmount), context: o.context, signature: o.signature };
}

interface RawRequest {
  quote_id: string;
  payer: string;
  epoch: string;
  ticket_id: string;
  max_charge: string;
  status: string;
  salt: string;
  input_hash: string;
  receipt: string | null;
  receipt_hash: string | null;
  response: string | null;
  response_body: Uint8Array | null;
  response_type: string | null;
}
function requestFromRaw(r: RawRequest): RequestRow {
  return {
    quoteId: r.quote_id as Hex,
    payer: r.payer as Hex,
    epoch: BigInt(r.epoch),
    ticketId: BigInt(r.ticket_id),
    maxCharge: BigInt(r.max_charge),
    status: r.status === "done" ? "done" : "inflight",
    salt: r.salt as Hex,
    inputHash: r.input_hash as Hex,
    receipt: r.receipt ? signedReceiptFromJson(JSON.parse(r.receipt)) : undefined,
    receiptHash: (r.receipt_hash as Hex | null) ?? undefined,
    response:
      r.response_body !== null
        ? {
            body: new Uint8Array(r.response_body),
            contentType: r.response_type ?? "application/octet-stream",
          }
        : undefined,
  };
}

/**
 * The persistent-ticket payee store. Every write is one SQLite transaction, committed (fsync) when
 * the call returns.
 * @example const store = openPersistentStore(".livepay/orchestrator/persistent.db"); store.close();
 */
export class PersistentStore {
  private readonly db: SqliteDb;

  constructor(path: string) {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    const require = createRequire(import.meta.url);
    const Database = require("better-sqlite3") as new (p: string) => SqliteDb;
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = FULL");
    this.db.pragma("busy_timeout = 5000");
    this.db.exec(SCHEMA);
    this.migrate();
  }

  /** Runs the migrations this file has not seen yet (`PRAGMA user_version` counts them). */
  private migrate(): void {
    const version = this.db.pragma("user_version", { simple: true }) as number;
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        MIGRATIONS[v]!(this.db);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  /** Saves an issued quote (its JSON with hash and signature) so a retry after a restart finds it. */
  saveQuote(quoteId: Hex, payer: Hex, ticketId: bigint, body: string): void {
    this.db
      .prepare(
        "INSERT OR IGNORE INTO pt_quotes (quote_id, payer, ticket_id, body, created_ms) VALUES (?, ?, ?, ?, ?)",
      )
      .run(quoteId, payer, ticketId.toString(), body, Date.now());
  }

  quote(quoteId: Hex): string | undefined {
    const r = this.db.prepare("SELECT body FROM pt_quotes WHERE quote_id = ?").get(quoteId) as
      { body: string } | undefined;
    return r?.body;
  }

  ticket(payer: Hex, epoch: bigint, ticketId: bigint): TicketRow | undefined {
    const r = this.db
      .prepare(
        "SELECT state, voucher, claimed FROM pt_tickets WHERE payer = ? AND epoch = ? AND ticket_id = ?",
      )
      .get(payer, epoch.toString(), ticketId.toString()) as
      { state: string; voucher: string | null; claimed: string } | undefined;
    if (!r) return undefined;
    return { state: stateFromJson(r.state), voucher: voucherFromText(r.voucher), claimed: BigInt(r.claimed) };
  }

  /** Every ticket of a payer in an epoch (or of every payer when payer is undefined). */
  tickets(payer?: Hex, epoch?: bigint): TicketRow[] {
    const rows = (
      payer === undefined
        ? this.db.prepare("SELECT state, voucher, claimed FROM pt_tickets").all()
        : this.db
            .prepare("SELECT state, voucher, claimed FROM pt_tickets WHERE payer = ? AND epoch = ?")
            .all(payer, (epoch ?? 0n).toString())
    ) as { state: string; voucher: string | null; claimed: string }[];
    return rows.map((r) => ({
      state: stateFromJson(r.state),
      voucher: voucherFromText(r.voucher),
      claimed: BigInt(r.claimed),
    }));
  }

  /**
   * Records an accepted voucher before any work: the ticket's new state, its highest voucher, and
   * the request in flight. Atomic.
   */
  acceptVoucher(
    state: TicketState,
    voucher: HeldVoucher,
    req: { quoteId: Hex; maxCharge: bigint; salt: Hex; inputHash: Hex },
  ): void {
    this.db.transaction(() => {
      const prev = this.ticket(state.payer, state.epoch, state.ticketId);
      const held =
        prev?.voucher && prev.voucher.cumulativeAmount >= voucher.cumulativeAmount ? prev.voucher : voucher;
      this.upsertTicket(state, held, prev?.claimed ?? 0n);
      this.db
        .prepare(
          "INSERT INTO pt_requests (quote_id, payer, epoch, ticket_id, max_charge, voucher, status, salt, input_hash) VALUES (?, ?, ?, ?, ?, ?, 'inflight', ?, ?)",
        )
        .run(
          req.quoteId,
          state.payer,
          state.epoch.toString(),
          state.ticketId.toString(),
          req.maxCharge.toString(),
          voucherToText(voucher),
          req.salt,
          req.inputHash,
        );
    })();
  }

  /** Records a signed receipt and the ticket state after it, before the receipt is sent. Atomic. */
  saveReceipt(
    state: TicketState,
    quoteId: Hex,
    signed: SignedReceipt,
    hash: Hex,
    response?: StoredResponse,
  ): void {
    this.db.transaction(() => {
      const prev = this.ticket(state.payer, state.epoch, state.ticketId);
      this.upsertTicket(state, prev?.voucher, prev?.claimed ?? 0n);
      this.db
        .prepare(
          "UPDATE pt_requests SET status = 'done', receipt = ?, receipt_hash = ?, response_body = ?, response_type = ? WHERE quote_id = ?",
        )
        .run(
          JSON.stringify(signedReceiptToJson(signed)),
          hash,
          response
            ? Buffer.from(response.body.buffer, response.body.byteOffset, response.body.byteLength)
            : null,
          response?.contentType ?? null,
          quoteId,
        );
    })();
  }

  request(quoteId: Hex): RequestRow | undefined {
    const r = this.db.prepare("SELECT * FROM pt_requests WHERE quote_id = ?").get(quoteId) as
      RawRequest | undefined;
    return r ? requestFromRaw(r) : undefined;
  }

  /** Requests whose voucher was accepted and that have no receipt yet (e.g. after a crash). */
  inflight(): RequestRow[] {
    return (this.db.prepare("SELECT * FROM pt_requests WHERE status = 'inflight'").all() as RawRequest[]).map(
      requestFromRaw,
    );
  }

  /** Sum of maxCharge of a payer's requests in flight in an epoch. */
  inflightMax(payer: Hex, epoch: bigint): bigint {
    const rows = this.db
      .prepare("SELECT max_charge FROM pt_requests WHERE status = 'inflight' AND payer = ? AND epoch = ?")
      .all(payer, epoch.toString()) as { max_charge: string }[];
    return rows.reduce((a, r) => a + BigInt(r.max_charge), 0n);
  }

  /** Receipts on a ticket not yet covered by a submitted claim, in seq order. */
  unclaimedReceipts(payer: Hex, epoch: bigint, ticketId: bigint): { quoteId: Hex; receipt: SignedReceipt }[] {
    const rows = this.db
      .prepare(
        "SELECT * FROM pt_requests WHERE payer = ? AND epoch = ? AND ticket_id = ? AND status = 'done' AND in_claim = 0",
      )
      .all(payer, epoch.toString(), ticketId.toString()) as RawRequest[];
    return rows
      .map(requestFromRaw)
      .filter((r) => r.receipt !== undefined)
      .map((r) => ({ quoteId: r.quoteId, receipt: r.receipt! }))
      .sort((a, b) => (a.receipt.receipt.seq < b.receipt.receipt.seq ? -1 : 1));
  }

  /**
   * Advances a ticket's claimed amount by what the broker PAID and marks the receipts the claim
   * covered (only when it was paid in full; a shortfall keeps them in the next claim's root).
   */
  recordClaim(
    payer: Hex,
    epoch: bigint,
    ticketId: bigint,
    paid: bigint,
    fullyPaid: boolean,
    quoteIds: Hex[],
  ): void {
    this.db.transaction(() => {
      const row = this.ticket(payer, epoch, ticketId);
      const claimed = (row?.claimed ?? 0n) + paid;
      this.db
        .prepare("UPDATE pt_tickets SET claimed = ? WHERE payer = ? AND epoch = ? AND ticket_id = ?")
        .run(claimed.toString(), payer, epoch.toString(), ticketId.toString());
      if (fullyPaid) {
        const mark = this.db.prepare("UPDATE pt_requests SET in_claim = 1 WHERE quote_id = ?");
        for (const q of quoteIds) mark.run(q);
      }
    })();
  }

  close(): void {
    this.db.close();
  }

  private upsertTicket(state: TicketState, voucher: HeldVoucher | undefined, claimed: bigint): void {
    this.db
      .prepare(
        `INSERT INTO pt_tickets (payer, epoch, ticket_id, state, voucher, claimed) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (payer, epoch, ticket_id) DO UPDATE SET state = excluded.state, voucher = excluded.voucher, claimed = excluded.claimed`,
      )
      .run(
        state.payer,
        state.epoch.toString(),
        state.ticketId.toString(),
        stateToJson(state),
        voucher ? voucherToText(voucher) : null,
        claimed.toString(),
      );
  }
}
