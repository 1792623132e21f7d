import { Rational } from "@livepay/protocol";
import type { Selectable } from "kysely";
import type { Db } from "./db.js";
import {
  countArg,
  intFromDb,
  numberFromDb,
  rationalFromDb,
  rationalToDb,
  textToDb,
  utcDay,
  weiFromDb,
  weiToDb,
} from "./codec.js";
import { StoreError } from "./errors.js";
import type { UsageRecordsTable } from "./schema.js";

/** One request's usage, as the gateway records it. */
export interface UsageRecordInput {
  keyId: string;
  /** Unique per request; recording the same id twice is a no-op. */
  requestId: string;
  /** e.g. `"llm"`, `"text-to-image"`. */
  pipeline: string;
  model: string;
  /** Billed units (tokens, pixels, milliseconds, characters). */
  units: bigint;
  /** What the key was charged, in wei. */
  feeWei: bigint;
  /**
   * The gateway's own fee within `feeWei` (the rest paid the orchestrator), default 0: recorded as
   * its own line so it is never hidden in a charge. Must not exceed `feeWei`.
   */
  gatewayFeeWei?: bigint;
  /** Who served it (address or URL), if anyone did. */
  orchestrator?: string;
  ticketsSent: number;
  /** Expected value of the tickets sent, in wei (exact). */
  evSent: Rational | bigint;
  /** Outcome label, e.g. `"ok"`, `"error"`, `"cancelled"`. */
  status: string;
  /** ms since the epoch; defaults to the store clock. */
  createdAt?: number;
}

/** A stored usage record. */
export interface UsageRecord extends Omit<
  UsageRecordInput,
  "evSent" | "createdAt" | "orchestrator" | "gatewayFeeWei"
> {
  seq: bigint;
  gatewayFeeWei: bigint;
  orchestrator: string | undefined;
  evSent: Rational;
  createdAt: number;
  /** UTC day of `createdAt`, `YYYY-MM-DD`. */
  day: string;
}

/** Totals for one key on one UTC day. */
export interface UsageAggregate {
  keyId: string;
  day: string;
  requests: number;
  units: bigint;
  feeWei: bigint;
  gatewayFeeWei: bigint;
  ticketsSent: number;
  evSent: Rational;
}

/** Filter for listing and aggregating usage. Days are inclusive `YYYY-MM-DD` (UTC). */
export interface UsageQuery {
  keyId?: string;
  fromDay?: string;
  toDay?: string;
}

/**
 * One usage record per gateway request: where each key's credit went, per request and per day.
 * Sums are exact (bigint and rational arithmetic in TypeScript, not SQL SUM over text).
 */
export interface UsageRecords {
  /**
   * Stores a record; returns false (changing nothing) if `requestId` was already recorded.
   * @example await store.usage.record({ keyId, requestId, pipeline: "llm", model, units: 120n, feeWei, orchestrator, ticketsSent: 1, evSent, status: "ok" })
   */
  record(u: UsageRecordInput): Promise<boolean>;
  /** By request id. @example await store.usage.get(requestId) */
  get(requestId: string): Promise<UsageRecord | undefined>;
  /**
   * A key's records, newest first (at most `limit`, default 100), optionally within days.
   * @example await store.usage.listByKey(key.id, { limit: 20 })
   */
  listByKey(
    keyId: string,
    options?: { fromDay?: string; toDay?: string; limit?: number },
  ): Promise<UsageRecord[]>;
  /**
   * Totals per (key, day), sorted by day then key.
   * @example await store.usage.aggregate({ keyId: key.id, fromDay: "2025-01-01" })
   */
  aggregate(query?: UsageQuery): Promise<UsageAggregate[]>;
}

const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

function dayArg(day: string, field: string): string {
  if (typeof day !== "string" || !DAY_RE.test(day)) {
    throw new StoreError("STORE_INVALID_INPUT", `${field}: must be YYYY-MM-DD`, {
      field,
      value: String(day),
    });
  }
  return day;
}

function fromRow(r: Selectable<UsageRecordsTable>): UsageRecord {
  return {
    seq: intFromDb(r.seq, "seq"),
    keyId: r.key_id,
    requestId: r.request_id,
    pipeline: r.pipeline,
    model: r.model,
    units: weiFromDb(r.units, "units"),
    feeWei: weiFromDb(r.fee_wei, "fee_wei"),
    gatewayFeeWei: weiFromDb(r.gateway_fee_wei, "gateway_fee_wei"),
    orchestrator: r.orchestrator ?? undefined,
    ticketsSent: numberFromDb(r.tickets_sent, "tickets_sent"),
    evSent: rationalFromDb(r.ev_sent_num, r.ev_sent_den, "ev_sent"),
    status: r.status,
    createdAt: numberFromDb(r.created_at, "created_at"),
    day: r.day,
  };
}

/** The SQL implementation of {@link UsageRecords}. */
export class SqlUsageRecords implements UsageRecords {
  constructor(private readonly db: Db) {}

  async record(u: UsageRecordInput): Promise<boolean> {
    const createdAt = u.createdAt ?? this.db.now();
    if (!Number.isSafeInteger(createdAt) || createdAt < 0) {
      throw new StoreError("STORE_INVALID_INPUT", "createdAt: must be ms since the epoch");
    }
    const ev = rationalToDb(u.evSent, "evSent", true);
    const gatewayFee = u.gatewayFeeWei ?? 0n;
    if (typeof gatewayFee === "bigint" && typeof u.feeWei === "bigint" && gatewayFee > u.feeWei) {
      throw new StoreError("STORE_INVALID_INPUT", "gatewayFeeWei: must not exceed feeWei", {
        gatewayFeeWei: String(gatewayFee),
        feeWei: String(u.feeWei),
      });
    }
    const res = await this.db.kysely
      .insertInto("usage_records")
      .values({
        request_id: textToDb(u.requestId, "requestId"),
        key_id: textToDb(u.keyId, "keyId"),
        pipeline: textToDb(u.pipeline, "pipeline"),
        model: textToDb(u.model, "model", 1024),
        units: weiToDb(u.units, "units"),
        fee_wei: weiToDb(u.feeWei, "feeWei"),
        gateway_fee_wei: weiToDb(gatewayFee, "gatewayFeeWei"),
        orchestrator: u.orchestrator === undefined ? null : textToDb(u.orchestrator, "orchestrator", 2048),
        tickets_sent: countArg(u.ticketsSent, "ticketsSent", 0),
        ev_sent_num: ev.num,
        ev_sent_den: ev.den,
        status: textToDb(u.status, "status"),
        day: utcDay(createdAt),
        created_at: createdAt,
      })
      .onConflict((oc) => oc.column("request_id").doNothing())
      .executeTakeFirst();
    return (res.numInsertedOrUpdatedRows ?? 0n) > 0n;
  }

  async get(requestId: string): Promise<UsageRecord | undefined> {
    const row = await this.db.kysely
      .selectFrom("usage_records")
      .selectAll()
      .where("request_id", "=", textToDb(requestId, "requestId"))
      .executeTakeFirst();
    return row ? fromRow(row) : undefined;
  }

  async listByKey(
    keyId: string,
    options: { fromDay?: string; toDay?: string; limit?: number } = {},
  ): Promise<UsageRecord[]> {
    const rows = await this.query({ keyId, fromDay: options.fromDay, toDay: options.toDay })
      .orderBy("seq", "desc")
      .limit(countArg(options.limit ?? 100, "limit"))
      .execute();
    return rows.map(fromRow);
  }

  async aggregate(query: UsageQuery = {}): Promise<UsageAggregate[]> {
    const rows = await this.query(query).orderBy("day").orderBy("key_id").execute();
    const groups = new Map<string, UsageAggregate>();
    for (const r of rows) {
      const id = `${r.day}\u0000${r.key_id}`;
      let g = groups.get(id);
      if (!g) {
        g = {
          keyId: r.key_id,
          day: r.day,
          requests: 0,
          units: 0n,
          feeWei: 0n,
          gatewayFeeWei: 0n,
          ticketsSent: 0,
          evSent: Rational.ZERO,
        };
        groups.set(id, g);
      }
      g.requests++;
      g.units += weiFromDb(r.units, "units");
      g.feeWei += weiFromDb(r.fee_wei, "fee_wei");
      g.gatewayFeeWei += weiFromDb(r.gateway_fee_wei, "gateway_fee_wei");
      g.ticketsSent += numberFromDb(r.tickets_sent, "tickets_sent");
      g.evSent = g.evSent.add(rationalFromDb(r.ev_sent_num, r.ev_sent_den, "ev_sent"));
    }
    return [...groups.values()];
  }

  private query(q: UsageQuery) {
    return this.db.kysely
      .selectFrom("usage_records")
      .selectAll()
      .$if(q.keyId !== undefined, (b) => b.where("key_id", "=", textToDb(q.keyId!, "keyId")))
      .$if(q.fromDay !== undefined, (b) => b.where("day", ">=", dayArg(q.fromDay!, "fromDay")))
      .$if(q.toDay !== undefined, (b) => b.where("day", "<=", dayArg(q.toDay!, "toDay")));
  }
}
