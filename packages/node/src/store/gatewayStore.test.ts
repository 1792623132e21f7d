import { Rational, type Hex } from "@livepay/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BACKENDS, testDatabase, type TestDatabase } from "../../test/storeBackends.js";
import {
  API_KEY_PREFIX,
  MAX_SESSION_NONCE,
  StoreError,
  hashApiKey,
  type ApiKey,
  type Store,
  type StoreErrorCode,
} from "./index.js";

const RECIPIENT: Hex = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
const T0 = Date.UTC(2025, 0, 1, 12);
const DAY = 24 * 3600_000;

async function expectCode(p: Promise<unknown>, code: StoreErrorCode): Promise<StoreError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(StoreError);
  expect((e as StoreError).code).toBe(code);
  return e as StoreError;
}

function conserved(k: ApiKey): boolean {
  return k.grantedWei === k.availableWei + k.reservedWei + k.spentWei;
}

describe.each(BACKENDS)("gateway store on %s", (backend) => {
  let db: TestDatabase;
  let store: Store;
  const clock = { t: T0 };

  beforeEach(async () => {
    clock.t = T0;
    db = await testDatabase(backend);
    store = await db.open({ now: () => clock.t });
  });
  afterEach(async () => {
    await db?.cleanup();
  });

  describe("API keys", () => {
    it("returns the plaintext once, stores only its hash, looks keys up by plaintext", async () => {
      const { key, apiKey } = await store.apiKeys.create("my app", 1000n, {
        perRequestWei: 10n,
        perDayWei: 100n,
      });
      expect(key.startsWith(API_KEY_PREFIX)).toBe(true);
      expect(Buffer.from(key.slice(API_KEY_PREFIX.length), "base64url")).toHaveLength(32);
      expect(apiKey).toMatchObject({
        name: "my app",
        grantedWei: 1000n,
        availableWei: 1000n,
        reservedWei: 0n,
        spentWei: 0n,
        caps: { perRequestWei: 10n, perDayWei: 100n },
        disabled: false,
        createdAt: T0,
      });
      expect(key.startsWith(apiKey.prefix)).toBe(true);
      expect(
        JSON.stringify(await store.apiKeys.list(), (_k, v) => (typeof v === "bigint" ? String(v) : v)),
      ).not.toContain(key.slice(8));
      expect(await store.apiKeys.lookup(key)).toEqual(apiKey);
      expect(await store.apiKeys.lookup(key + "x")).toBeUndefined();
      expect(await store.apiKeys.lookup("not a key")).toBeUndefined();
      expect(hashApiKey(key)).toMatch(/^[0-9a-f]{64}$/);

      const second = await store.apiKeys.create("other", 0n);
      expect(second.key).not.toBe(key);
      expect((await store.apiKeys.list()).map((k) => k.id).sort()).toEqual(
        [apiKey.id, second.apiKey.id].sort(),
      );
    });

    it("disables keys, adds credit, replaces caps; unknown ids are KEY_NOT_FOUND", async () => {
      const { key, apiKey } = await store.apiKeys.create("k", 5n);
      const more = await store.apiKeys.addCredit(apiKey.id, 10n);
      expect(more).toMatchObject({ grantedWei: 15n, availableWei: 15n });
      expect((await store.apiKeys.setCaps(apiKey.id, { perDayWei: 3n })).caps).toEqual({ perDayWei: 3n });
      expect((await store.apiKeys.setCaps(apiKey.id, {})).caps).toEqual({});
      await store.apiKeys.disable(apiKey.id);
      await store.apiKeys.disable(apiKey.id);
      expect((await store.apiKeys.lookup(key))?.disabled).toBe(true);
      await expectCode(store.reservations.reserve(apiKey.id, 1n), "KEY_DISABLED");
      await expectCode(store.apiKeys.disable("key_missing"), "KEY_NOT_FOUND");
      await expectCode(store.apiKeys.addCredit("key_missing", 1n), "KEY_NOT_FOUND");
      await expectCode(store.apiKeys.addCredit(apiKey.id, -1n), "STORE_INVALID_INPUT");
      await expectCode(store.apiKeys.create("", 1n), "STORE_INVALID_INPUT");
      await expectCode(store.apiKeys.create("x", -1n), "STORE_INVALID_INPUT");
      await expectCode(store.apiKeys.create("x", 1n, { perDayWei: -2n }), "STORE_INVALID_INPUT");
      expect(await store.apiKeys.list()).toHaveLength(1);
    });
  });

  describe("credit reservations", () => {
    it("reserves, commits the actual cost and refunds the rest, exactly once", async () => {
      const { apiKey } = await store.apiKeys.create("k", 1000n);
      const r = await store.reservations.reserve(apiKey.id, 300n);
      expect(r).toMatchObject({ keyId: apiKey.id, amountWei: 300n, status: "open", day: "2025-01-01" });
      expect(await store.apiKeys.get(apiKey.id)).toMatchObject({
        availableWei: 700n,
        reservedWei: 300n,
        spentWei: 0n,
      });
      expect(await store.reservations.spentToday(apiKey.id)).toBe(300n);

      const c = await store.reservations.commit(r.id, 120n);
      expect(c).toMatchObject({ status: "committed", committedWei: 120n, closedAt: T0 });
      expect(await store.reservations.get(r.id)).toEqual(c);
      const after = (await store.apiKeys.get(apiKey.id))!;
      expect(after).toMatchObject({ availableWei: 880n, reservedWei: 0n, spentWei: 120n });
      expect(await store.reservations.spentToday(apiKey.id)).toBe(120n);

      await expectCode(store.reservations.commit(r.id, 120n), "RESERVATION_NOT_OPEN");
      await expectCode(store.reservations.release(r.id), "RESERVATION_NOT_OPEN");
      expect(await store.apiKeys.get(apiKey.id)).toEqual(after);
      await expectCode(store.reservations.commit("res_missing", 1n), "RESERVATION_NOT_FOUND");
    });

    it("releases a reservation in full, once", async () => {
      const { apiKey } = await store.apiKeys.create("k", 1000n);
      const r = await store.reservations.reserve(apiKey.id, 1000n);
      expect((await store.reservations.release(r.id)).status).toBe("released");
      expect(await store.apiKeys.get(apiKey.id)).toMatchObject({
        availableWei: 1000n,
        reservedWei: 0n,
        spentWei: 0n,
      });
      expect(await store.reservations.spentToday(apiKey.id)).toBe(0n);
      await expectCode(store.reservations.release(r.id), "RESERVATION_NOT_OPEN");
      await expectCode(store.reservations.commit(r.id, 0n), "RESERVATION_NOT_OPEN");
      expect((await store.apiKeys.get(apiKey.id))?.availableWei).toBe(1000n);
    });

    it("fails with typed errors that change nothing", async () => {
      const { apiKey } = await store.apiKeys.create("k", 100n, { perRequestWei: 60n, perDayWei: 150n });
      const first = await store.reservations.reserve(apiKey.id, 60n);
      await store.reservations.commit(first.id, 60n);
      await store.apiKeys.addCredit(apiKey.id, 0n);
      const before = await store.apiKeys.get(apiKey.id);
      const spentBefore = await store.reservations.spentToday(apiKey.id);

      const perRequest = await expectCode(store.reservations.reserve(apiKey.id, 61n), "CAP_EXCEEDED");
      expect(perRequest.details).toMatchObject({ cap: "perRequest", limitWei: "60" });
      const insufficient = await expectCode(
        store.reservations.reserve(apiKey.id, 41n),
        "INSUFFICIENT_CREDIT",
      );
      expect(insufficient.details).toMatchObject({ availableWei: "40", requestedWei: "41" });
      await store.apiKeys.addCredit(apiKey.id, 1000n);
      const second = await store.reservations.reserve(apiKey.id, 60n);
      const beforeDaily = await store.apiKeys.get(apiKey.id);
      const daily = await expectCode(store.reservations.reserve(apiKey.id, 31n), "CAP_EXCEEDED");
      expect(daily.details).toMatchObject({ cap: "perDay", limitWei: "150", usedTodayWei: "120" });
      await expectCode(store.reservations.commit(second.id, 61n), "COMMIT_EXCEEDS_RESERVATION");
      await expectCode(store.reservations.reserve(apiKey.id, -1n), "STORE_INVALID_INPUT");
      await expectCode(store.reservations.reserve("key_missing", 1n), "KEY_NOT_FOUND");

      expect(await store.apiKeys.get(apiKey.id)).toEqual(beforeDaily);
      expect(await store.reservations.get(second.id)).toMatchObject({ status: "open", amountWei: 60n });
      expect(await store.reservations.spentToday(apiKey.id)).toBe(120n);
      expect(before).toMatchObject({ availableWei: 40n, spentWei: 60n });
      expect(spentBefore).toBe(60n);
      // Exactly at the daily cap is allowed.
      await store.reservations.reserve(apiKey.id, 30n);
      expect(conserved((await store.apiKeys.get(apiKey.id))!)).toBe(true);
    });

    it("counts the daily cap per UTC day", async () => {
      const { apiKey } = await store.apiKeys.create("k", 1000n, { perDayWei: 100n });
      const r = await store.reservations.reserve(apiKey.id, 100n);
      await expectCode(store.reservations.reserve(apiKey.id, 1n), "CAP_EXCEEDED");
      clock.t += DAY;
      expect(await store.reservations.spentToday(apiKey.id)).toBe(0n);
      const next = await store.reservations.reserve(apiKey.id, 100n);
      expect(next.day).toBe("2025-01-02");
      // Committing yesterday's reservation refunds yesterday's bucket, not today's.
      await store.reservations.commit(r.id, 10n);
      expect(await store.reservations.spentToday(apiKey.id)).toBe(100n);
      clock.t -= DAY;
      expect(await store.reservations.spentToday(apiKey.id)).toBe(10n);
    });

    it("is idempotent on the reservation's idempotency key", async () => {
      const { apiKey } = await store.apiKeys.create("k", 100n);
      const a = await store.reservations.reserve(apiKey.id, 70n, "req-1");
      const b = await store.reservations.reserve(apiKey.id, 70n, "req-1");
      expect(b).toEqual(a);
      expect((await store.apiKeys.get(apiKey.id))?.reservedWei).toBe(70n);
      await expectCode(store.reservations.reserve(apiKey.id, 71n, "req-1"), "IDEMPOTENCY_CONFLICT");
      await store.reservations.commit(a.id, 5n);
      expect((await store.reservations.reserve(apiKey.id, 70n, "req-1")).status).toBe("committed");
      const other = await store.apiKeys.create("other", 100n);
      expect((await store.reservations.reserve(other.apiKey.id, 70n, "req-1")).id).not.toBe(a.id);
    });

    it("releases reservations left open by a crash", async () => {
      const { apiKey } = await store.apiKeys.create("k", 100n);
      const old = await store.reservations.reserve(apiKey.id, 30n);
      clock.t += 60_000;
      const fresh = await store.reservations.reserve(apiKey.id, 20n);
      expect(await store.reservations.releaseOpenBefore(T0 + 1)).toBe(1);
      expect((await store.reservations.get(old.id))?.status).toBe("released");
      expect((await store.reservations.get(fresh.id))?.status).toBe("open");
      expect(await store.apiKeys.get(apiKey.id)).toMatchObject({ availableWei: 80n, reservedWei: 20n });
    });
  });

  describe("idempotency records", () => {
    it("starts, reports in progress, replays the stored response, and detects conflicts", async () => {
      expect(await store.idempotency.begin("key_1", "idem", "hash-a")).toEqual({ state: "started" });
      expect(await store.idempotency.begin("key_1", "idem", "hash-a")).toEqual({ state: "in_progress" });
      const conflict = await expectCode(
        store.idempotency.begin("key_1", "idem", "hash-b"),
        "IDEMPOTENCY_CONFLICT",
      );
      expect(conflict.details).toMatchObject({ idempotencyKey: "idem" });
      await store.idempotency.complete("key_1", "idem", '{"status":200}');
      await store.idempotency.complete("key_1", "idem", '{"status":500}');
      expect(await store.idempotency.begin("key_1", "idem", "hash-a")).toEqual({
        state: "completed",
        response: '{"status":200}',
      });
      await expectCode(store.idempotency.begin("key_1", "idem", "hash-b"), "IDEMPOTENCY_CONFLICT");
      expect(await store.idempotency.get("key_1", "idem")).toMatchObject({
        requestHash: "hash-a",
        status: "completed",
        createdAt: T0,
      });
      // Keys are per API key.
      expect(await store.idempotency.begin("key_2", "idem", "hash-b")).toEqual({ state: "started" });
      await expectCode(store.idempotency.complete("key_3", "idem", "x"), "IDEMPOTENCY_NOT_FOUND");
    });

    it("abandons in-progress records only, and prunes old ones", async () => {
      await store.idempotency.begin("k", "a", "h");
      expect(await store.idempotency.abandon("k", "a")).toBe(true);
      expect(await store.idempotency.begin("k", "a", "other")).toEqual({ state: "started" });
      await store.idempotency.complete("k", "a", "done");
      expect(await store.idempotency.abandon("k", "a")).toBe(false);
      clock.t += DAY;
      await store.idempotency.begin("k", "b", "h");
      expect(await store.idempotency.pruneBefore(T0 + 1)).toBe(1);
      expect(await store.idempotency.get("k", "a")).toBeUndefined();
      expect(await store.idempotency.get("k", "b")).toBeDefined();
    });
  });

  describe("usage records", () => {
    it("records one row per request and aggregates exactly by key and day", async () => {
      const base = {
        keyId: "key_a",
        pipeline: "llm",
        model: "meta-llama/Llama-3.1-8B",
        orchestrator: "https://o1.example:8935",
        status: "ok",
      };
      expect(
        await store.usage.record({
          ...base,
          requestId: "r1",
          units: 100n,
          feeWei: 10n ** 20n,
          ticketsSent: 2,
          evSent: Rational.of(1n, 3n),
        }),
      ).toBe(true);
      expect(
        await store.usage.record({
          ...base,
          requestId: "r1",
          units: 1n,
          feeWei: 1n,
          ticketsSent: 0,
          evSent: 0n,
        }),
      ).toBe(false);
      clock.t += 1000;
      await store.usage.record({
        ...base,
        requestId: "r2",
        units: 50n,
        feeWei: 5n,
        gatewayFeeWei: 2n,
        ticketsSent: 1,
        evSent: Rational.of(1n, 6n),
      });
      await store.usage.record({
        ...base,
        keyId: "key_b",
        requestId: "r3",
        units: 7n,
        feeWei: 7n,
        ticketsSent: 0,
        evSent: 0n,
      });
      clock.t += DAY;
      await store.usage.record({
        ...base,
        requestId: "r4",
        units: 1n,
        feeWei: 1n,
        ticketsSent: 0,
        evSent: 0n,
        status: "error",
      });
      await store.usage.record({
        ...base,
        orchestrator: undefined,
        requestId: "r5",
        units: 2n,
        feeWei: 0n,
        ticketsSent: 0,
        evSent: 0n,
        createdAt: T0 - DAY,
      });

      const r1 = await store.usage.get("r1");
      expect(r1).toMatchObject({
        ...base,
        requestId: "r1",
        units: 100n,
        feeWei: 10n ** 20n,
        gatewayFeeWei: 0n,
        ticketsSent: 2,
        day: "2025-01-01",
        createdAt: T0,
      });
      expect(r1?.evSent.toString()).toBe("1/3");
      expect((await store.usage.get("r5"))?.orchestrator).toBeUndefined();
      expect((await store.usage.get("r2"))?.gatewayFeeWei).toBe(2n);

      expect((await store.usage.listByKey("key_a")).map((u) => u.requestId)).toEqual([
        "r5",
        "r4",
        "r2",
        "r1",
      ]);
      expect((await store.usage.listByKey("key_a", { limit: 2 })).map((u) => u.requestId)).toEqual([
        "r5",
        "r4",
      ]);
      expect(
        (await store.usage.listByKey("key_a", { fromDay: "2025-01-01", toDay: "2025-01-01" })).map(
          (u) => u.requestId,
        ),
      ).toEqual(["r2", "r1"]);

      const agg = await store.usage.aggregate();
      expect(
        agg.map((a) => [
          a.day,
          a.keyId,
          a.requests,
          a.units,
          a.feeWei,
          a.gatewayFeeWei,
          a.ticketsSent,
          a.evSent.toString(),
        ]),
      ).toEqual([
        ["2024-12-31", "key_a", 1, 2n, 0n, 0n, 0, "0/1"],
        ["2025-01-01", "key_a", 2, 150n, 10n ** 20n + 5n, 2n, 3, "1/2"],
        ["2025-01-01", "key_b", 1, 7n, 7n, 0n, 0, "0/1"],
        ["2025-01-02", "key_a", 1, 1n, 1n, 0n, 0, "0/1"],
      ]);
      expect((await store.usage.aggregate({ keyId: "key_b" })).map((a) => a.requests)).toEqual([1]);
      expect((await store.usage.aggregate({ fromDay: "2025-01-02" })).map((a) => a.day)).toEqual([
        "2025-01-02",
      ]);
      await expectCode(store.usage.aggregate({ fromDay: "yesterday" }), "STORE_INVALID_INPUT");
      await expectCode(
        store.usage.record({ ...base, requestId: "bad", units: -1n, feeWei: 0n, ticketsSent: 0, evSent: 0n }),
        "STORE_INVALID_INPUT",
      );
      // The gateway's fee is a part of what the key was charged, never more.
      await expectCode(
        store.usage.record({
          ...base,
          requestId: "bad",
          units: 1n,
          feeWei: 5n,
          gatewayFeeWei: 6n,
          ticketsSent: 0,
          evSent: 0n,
        }),
        "STORE_INVALID_INPUT",
      );
      expect(await store.usage.get("bad")).toBeUndefined();
    });

    it("schema 4 keeps older usage rows, their gateway fee read as 0", async () => {
      const old = await testDatabase(backend);
      try {
        await old.open({ migrateTo: 3 });
        await old.exec(
          `insert into usage_records (request_id, key_id, pipeline, model, units, fee_wei, orchestrator,
             tickets_sent, ev_sent_num, ev_sent_den, status, day, created_at)
           values ('before', 'key_a', 'llm', 'm', '3', '9', null, 1, '1', '2', 'ok', '2025-01-01', ${T0})`,
        );
        const latest = await old.open();
        expect(await latest.usage.get("before")).toMatchObject({ feeWei: 9n, gatewayFeeWei: 0n, units: 3n });
        expect((await latest.usage.aggregate())[0]).toMatchObject({ feeWei: 9n, gatewayFeeWei: 0n });
      } finally {
        await old.cleanup();
      }
    });
  });

  describe("gateway PM state", () => {
    it("reserves consecutive nonce ranges per session, starting at 1, durable across restarts", async () => {
      expect(await store.sessionNonces.lastNonce("0xsession")).toBe(0n);
      expect(await store.sessionNonces.reserveNonces("0xsession", 3)).toEqual({ first: 1n, last: 3n });
      expect(await store.sessionNonces.reserveNonces("0xsession", 1)).toEqual({ first: 4n, last: 4n });
      expect(await store.sessionNonces.reserveNonces("0xother", 2)).toEqual({ first: 1n, last: 2n });
      await store.close();
      const reopened = await db.open();
      expect(await reopened.sessionNonces.lastNonce("0xsession")).toBe(4n);
      expect(await reopened.sessionNonces.reserveNonces("0xsession", 2)).toEqual({ first: 5n, last: 6n });
      await expectCode(reopened.sessionNonces.reserveNonces("0xsession", 0), "STORE_INVALID_INPUT");
    });

    it("never passes the uint32 nonce limit and never lowers a restored nonce", async () => {
      expect(await store.sessionNonces.restoreAtLeast("s", MAX_SESSION_NONCE - 2n)).toBe(
        MAX_SESSION_NONCE - 2n,
      );
      expect(await store.sessionNonces.restoreAtLeast("s", 5n)).toBe(MAX_SESSION_NONCE - 2n);
      await expectCode(store.sessionNonces.reserveNonces("s", 3), "NONCE_EXHAUSTED");
      expect(await store.sessionNonces.lastNonce("s")).toBe(MAX_SESSION_NONCE - 2n);
      expect(await store.sessionNonces.reserveNonces("s", 2)).toEqual({
        first: MAX_SESSION_NONCE - 1n,
        last: MAX_SESSION_NONCE,
      });
      await expectCode(store.sessionNonces.reserveNonces("s", 1), "NONCE_EXHAUSTED");
      await expectCode(store.sessionNonces.reserveNonces("new", 2 ** 32), "NONCE_EXHAUSTED");
      expect(await store.sessionNonces.lastNonce("new")).toBe(0n);
      clock.t += DAY;
      await store.sessionNonces.reserveNonces("recent", 1);
      expect(await store.sessionNonces.pruneBefore(T0 + 1)).toBe(1);
      expect(await store.sessionNonces.lastNonce("s")).toBe(0n);
    });

    it("keeps exact rational balances per (recipient, session)", async () => {
      expect((await store.gatewayBalances.get(RECIPIENT, "sid")).toString()).toBe("0/1");
      expect((await store.gatewayBalances.credit(RECIPIENT, "sid", Rational.of(2n, 3n))).toString()).toBe(
        "2/3",
      );
      expect((await store.gatewayBalances.debit(RECIPIENT, "sid", 1n)).toString()).toBe("-1/3");
      expect((await store.gatewayBalances.adjust(RECIPIENT, "sid", Rational.of(5n, 6n))).toString()).toBe(
        "1/2",
      );
      expect((await store.gatewayBalances.reserve(RECIPIENT, "sid")).toString()).toBe("1/2");
      expect((await store.gatewayBalances.get(RECIPIENT, "sid")).toString()).toBe("0/1");
      expect((await store.gatewayBalances.adjust(RECIPIENT, "sid", Rational.of(-1n, 4n))).toString()).toBe(
        "-1/4",
      );
      expect((await store.gatewayBalances.get(RECIPIENT, "sid2")).toString()).toBe("0/1");
      await expectCode(store.gatewayBalances.credit(RECIPIENT, "sid", -1n), "STORE_INVALID_INPUT");
      await expectCode(store.gatewayBalances.credit("nope", "sid", 1n), "STORE_INVALID_INPUT");
      clock.t += DAY;
      await store.gatewayBalances.credit(RECIPIENT, "sid2", 1n);
      expect(await store.gatewayBalances.pruneBefore(T0 + 1)).toBe(1);
      expect((await store.gatewayBalances.get(RECIPIENT, "sid2")).toString()).toBe("1/1");
    });
  });

  describe("transactions", () => {
    it("commits several repositories together, or none of them", async () => {
      const { apiKey } = await store.apiKeys.create("k", 100n);
      const r = await store.reservations.reserve(apiKey.id, 50n);
      const usage = {
        keyId: apiKey.id,
        pipeline: "llm",
        model: "m",
        units: 3n,
        ticketsSent: 1,
        evSent: 1n,
        status: "ok",
      };
      await expect(
        store.transaction(async (tx) => {
          await tx.reservations.commit(r.id, 30n);
          await tx.usage.record({ ...usage, requestId: "req", feeWei: 30n });
          throw new Error("crash before the response");
        }),
      ).rejects.toThrow("crash before the response");
      expect((await store.reservations.get(r.id))?.status).toBe("open");
      expect(await store.usage.get("req")).toBeUndefined();
      expect((await store.apiKeys.get(apiKey.id))?.availableWei).toBe(50n);

      const result = await store.transaction(async (tx) => {
        const c = await tx.reservations.commit(r.id, 30n);
        await tx.usage.record({ ...usage, requestId: "req", feeWei: c.committedWei! });
        return c.status;
      });
      expect(result).toBe("committed");
      expect((await store.usage.get("req"))?.feeWei).toBe(30n);
      expect(await store.apiKeys.get(apiKey.id)).toMatchObject({ availableWei: 70n, spentWei: 30n });
    });
  });
});
