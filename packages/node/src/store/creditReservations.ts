import { randomBytes } from "node:crypto";
import type { Selectable } from "kysely";
import { lockRows, writeTx, type Db } from "./db.js";
import { numberFromDb, textToDb, utcDay, weiFromDb, weiToDb } from "./codec.js";
import { StoreError } from "./errors.js";
import type { CreditReservationsTable } from "./schema.js";

/** `open` while the request runs; then exactly one of `committed` or `released`. */
export type ReservationStatus = "open" | "committed" | "released";

/** Credit held for one request. */
export interface Reservation {
  id: string;
  keyId: string;
  /** Wei held. */
  amountWei: bigint;
  /** Wei actually charged, once committed. */
  committedWei: bigint | undefined;
  status: ReservationStatus;
  idempotencyKey: string | undefined;
  /** UTC day (`YYYY-MM-DD`) whose daily cap this reservation counts against. */
  day: string;
  createdAt: number;
  closedAt: number | undefined;
}

/**
 * Per-request credit for API keys: reserve before the request is sent to an orchestrator, then commit
 * the actual cost (the rest is refunded) or release everything. Each step is one transaction that
 * locks the key's row, committed before the promise resolves, and exactly-once: a reservation closes
 * once, so there is never a double charge or a double refund. Conservation holds after every call:
 * `granted = available + reserved + spent`.
 *
 * Daily caps count, per UTC day of the reservation, what was reserved minus what was refunded, so a
 * request in flight already counts against the cap.
 */
export interface CreditReservations {
  /**
   * Holds `amountWei` of the key's credit. Checks, in order: key exists (`KEY_NOT_FOUND`) and is
   * enabled (`KEY_DISABLED`); per-request cap, then per-day cap (`CAP_EXCEEDED`, `details.cap` =
   * `"perRequest"` | `"perDay"`); available credit (`INSUFFICIENT_CREDIT`). A failure changes
   * nothing. With an `idempotencyKey`, a repeated call returns the first reservation (whatever its
   * status) instead of holding credit twice; a different amount is `IDEMPOTENCY_CONFLICT`.
   * @example const r = await store.reservations.reserve(key.id, maxFee, req.headers["idempotency-key"])
   */
  reserve(keyId: string, amountWei: bigint, idempotencyKey?: string): Promise<Reservation>;
  /**
   * Charges `actualWei` (`<= amountWei`, else `COMMIT_EXCEEDS_RESERVATION`) and refunds the rest.
   * Throws `RESERVATION_NOT_OPEN` if it was already committed or released.
   * @example await store.reservations.commit(r.id, actualFee)
   */
  commit(reservationId: string, actualWei: bigint): Promise<Reservation>;
  /**
   * Refunds the whole reservation (request failed before any work was paid for). Throws
   * `RESERVATION_NOT_OPEN` if it was already committed or released.
   * @example await store.reservations.release(r.id)
   */
  release(reservationId: string): Promise<Reservation>;
  /** One reservation. @example await store.reservations.get(id) */
  get(reservationId: string): Promise<Reservation | undefined>;
  /**
   * Reserved-or-spent wei counted against today's cap (UTC day of the store clock).
   * @example const used = await store.reservations.spentToday(key.id)
   */
  spentToday(keyId: string): Promise<bigint>;
  /**
   * Releases every reservation still open that was created before `beforeMs`: credit held by requests
   * that a crash interrupted. Run at start-up with a margin above the longest request.
   * @example await store.reservations.releaseOpenBefore(Date.now() - 3_600_000)
   */
  releaseOpenBefore(beforeMs: number): Promise<number>;
}

function fromRow(r: Selectable<CreditReservationsTable>): Reservation {
  return {
    id: r.id,
    keyId: r.key_id,
    amountWei: weiFromDb(r.amount_wei, "amount_wei"),
    committedWei: r.committed_wei === null ? undefined : weiFromDb(r.committed_wei, "committed_wei"),
    status: r.status as ReservationStatus,
    idempotencyKey: r.idempotency_key ?? undefined,
    day: r.day,
    createdAt: numberFromDb(r.created_at, "created_at"),
    closedAt: r.closed_at === null ? undefined : numberFromDb(r.closed_at, "closed_at"),
  };
}

/** The SQL implementation of {@link CreditReservations}. */
export class SqlCreditReservations implements CreditReservations {
  constructor(private readonly db: Db) {}

  async reserve(keyId: string, amountWei: bigint, idempotencyKey?: string): Promise<Reservation> {
    const id = textToDb(keyId, "keyId");
    const amount = BigInt(weiToDb(amountWei, "amountWei"));
    const idem = idempotencyKey === undefined ? null : textToDb(idempotencyKey, "idempotencyKey");
    return writeTx(this.db, async (tx) => {
      // Lock order everywhere: api_keys row, then reservation, then daily row (no deadlock cycles).
      const key = await lockRows(
        tx,
        tx.kysely.selectFrom("api_keys").selectAll().where("id", "=", id),
      ).executeTakeFirst();
      if (!key) throw new StoreError("KEY_NOT_FOUND", "API key not found", { keyId: id });
      if (idem !== null) {
        const prior = await tx.kysely
          .selectFrom("credit_reservations")
          .selectAll()
          .where("key_id", "=", id)
          .where("idempotency_key", "=", idem)
          .executeTakeFirst();
        if (prior) {
          const r = fromRow(prior);
          if (r.amountWei !== amount) {
            throw new StoreError("IDEMPOTENCY_CONFLICT", "idempotency key reused with a different amount", {
              keyId: id,
              idempotencyKey: idem,
            });
          }
          return r;
        }
      }
      if (key.disabled_at !== null) throw new StoreError("KEY_DISABLED", "API key disabled", { keyId: id });

      const now = tx.now();
      const day = utcDay(now);
      if (key.cap_per_request_wei !== null) {
        const cap = weiFromDb(key.cap_per_request_wei, "cap_per_request_wei");
        if (amount > cap) {
          throw new StoreError("CAP_EXCEEDED", "request exceeds the key's per-request cap", {
            keyId: id,
            cap: "perRequest",
            limitWei: cap.toString(),
            requestedWei: amount.toString(),
          });
        }
      }
      const daily = await lockRows(
        tx,
        tx.kysely
          .selectFrom("key_daily_spend")
          .select("amount_wei")
          .where("key_id", "=", id)
          .where("day", "=", day),
      ).executeTakeFirst();
      const usedToday = daily ? weiFromDb(daily.amount_wei, "amount_wei") : 0n;
      if (key.cap_per_day_wei !== null) {
        const cap = weiFromDb(key.cap_per_day_wei, "cap_per_day_wei");
        if (usedToday + amount > cap) {
          throw new StoreError("CAP_EXCEEDED", "request exceeds the key's daily cap", {
            keyId: id,
            cap: "perDay",
            limitWei: cap.toString(),
            usedTodayWei: usedToday.toString(),
            requestedWei: amount.toString(),
          });
        }
      }
      const available = weiFromDb(key.available_wei, "available_wei");
      if (amount > available) {
        throw new StoreError("INSUFFICIENT_CREDIT", "insufficient credit", {
          keyId: id,
          availableWei: available.toString(),
          requestedWei: amount.toString(),
        });
      }

      await tx.kysely
        .updateTable("api_keys")
        .set({
          available_wei: (available - amount).toString(),
          reserved_wei: (weiFromDb(key.reserved_wei, "reserved_wei") + amount).toString(),
          updated_at: now,
        })
        .where("id", "=", id)
        .execute();
      await tx.kysely
        .insertInto("key_daily_spend")
        .values({ key_id: id, day, amount_wei: (usedToday + amount).toString() })
        .onConflict((oc) =>
          oc.columns(["key_id", "day"]).doUpdateSet({ amount_wei: (usedToday + amount).toString() }),
        )
        .execute();
      const row = {
        id: "res_" + randomBytes(16).toString("hex"),
        key_id: id,
        amount_wei: amount.toString(),
        committed_wei: null,
        status: "open",
        idempotency_key: idem,
        day,
        created_at: now,
        closed_at: null,
      };
      await tx.kysely.insertInto("credit_reservations").values(row).execute();
      return fromRow(row);
    });
  }

  async commit(reservationId: string, actualWei: bigint): Promise<Reservation> {
    const actual = BigInt(weiToDb(actualWei, "actualWei"));
    return this.close(reservationId, (r) => {
      if (actual > r.amountWei) {
        throw new StoreError("COMMIT_EXCEEDS_RESERVATION", "commit exceeds the reserved amount", {
          reservationId: r.id,
          reservedWei: r.amountWei.toString(),
          actualWei: actual.toString(),
        });
      }
      return actual;
    });
  }

  async release(reservationId: string): Promise<Reservation> {
    return this.close(reservationId, () => undefined);
  }

  async get(reservationId: string): Promise<Reservation | undefined> {
    const row = await this.db.kysely
      .selectFrom("credit_reservations")
      .selectAll()
      .where("id", "=", textToDb(reservationId, "reservationId"))
      .executeTakeFirst();
    return row ? fromRow(row) : undefined;
  }

  async spentToday(keyId: string): Promise<bigint> {
    const row = await this.db.kysely
      .selectFrom("key_daily_spend")
      .select("amount_wei")
      .where("key_id", "=", textToDb(keyId, "keyId"))
      .where("day", "=", utcDay(this.db.now()))
      .executeTakeFirst();
    return row ? weiFromDb(row.amount_wei, "amount_wei") : 0n;
  }

  async releaseOpenBefore(beforeMs: number): Promise<number> {
    const rows = await this.db.kysely
      .selectFrom("credit_reservations")
      .select("id")
      .where("status", "=", "open")
      .where("created_at", "<", beforeMs)
      .execute();
    let released = 0;
    for (const { id } of rows) {
      try {
        await this.release(id);
        released++;
      } catch (e) {
        // Closed concurrently by the request that owns it: nothing to recover.
        if (!(e instanceof StoreError && e.code === "RESERVATION_NOT_OPEN")) throw e;
      }
    }
    return released;
  }

  // Closes an open reservation: `charge` returns the wei to charge (undefined = release everything).
  private async close(
    reservationId: string,
    charge: (r: Reservation) => bigint | undefined,
  ): Promise<Reservation> {
    const resId = textToDb(reservationId, "reservationId");
    return writeTx(this.db, async (tx) => {
      const peek = await tx.kysely
        .selectFrom("credit_reservations")
        .select("key_id")
        .where("id", "=", resId)
        .executeTakeFirst();
      if (!peek)
        throw new StoreError("RESERVATION_NOT_FOUND", "reservation not found", { reservationId: resId });
      const key = await lockRows(
        tx,
        tx.kysely.selectFrom("api_keys").selectAll().where("id", "=", peek.key_id),
      ).executeTakeFirstOrThrow();
      const res = fromRow(
        await lockRows(
          tx,
          tx.kysely.selectFrom("credit_reservations").selectAll().where("id", "=", resId),
        ).executeTakeFirstOrThrow(),
      );
      if (res.status !== "open") {
        throw new StoreError("RESERVATION_NOT_OPEN", `reservation already ${res.status}`, {
          reservationId: resId,
          status: res.status,
        });
      }
      const charged = charge(res);
      const spent = charged ?? 0n;
      const refund = res.amountWei - spent;
      const now = tx.now();

      await tx.kysely
        .updateTable("api_keys")
        .set({
          available_wei: (weiFromDb(key.available_wei, "available_wei") + refund).toString(),
          reserved_wei: (weiFromDb(key.reserved_wei, "reserved_wei") - res.amountWei).toString(),
          spent_wei: (weiFromDb(key.spent_wei, "spent_wei") + spent).toString(),
          updated_at: now,
        })
        .where("id", "=", key.id)
        .execute();
      if (refund > 0n) {
        const daily = await lockRows(
          tx,
          tx.kysely
            .selectFrom("key_daily_spend")
            .select("amount_wei")
            .where("key_id", "=", key.id)
            .where("day", "=", res.day),
        ).executeTakeFirst();
        if (daily) {
          const left = weiFromDb(daily.amount_wei, "amount_wei") - refund;
          await tx.kysely
            .updateTable("key_daily_spend")
            .set({ amount_wei: (left < 0n ? 0n : left).toString() })
            .where("key_id", "=", key.id)
            .where("day", "=", res.day)
            .execute();
        }
      }
      const status: ReservationStatus = charged === undefined ? "released" : "committed";
      await tx.kysely
        .updateTable("credit_reservations")
        .set({ status, committed_wei: charged === undefined ? null : charged.toString(), closed_at: now })
        .where("id", "=", resId)
        .execute();
      return { ...res, status, committedWei: charged, closedAt: now };
    });
  }
}
