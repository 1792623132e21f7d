// Concurrency: two stores on one database (two pg pools = two gateway replicas on PostgreSQL; two
// connections to one file on SQLite), many operations in flight at once. Lost updates, double
// refunds, overdrafts and overlapping nonces would all show up as wrong totals here.
import { Rational, type Hex } from "@livepay/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BACKENDS, testDatabase, type TestDatabase } from "../../test/storeBackends.js";
import { StoreError, type Store } from "./index.js";

const SENDER: Hex = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";
const RECIPIENT: Hex = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";

function codeOf(r: PromiseSettledResult<unknown>): string {
  if (r.status === "fulfilled") return "ok";
  return r.reason instanceof StoreError ? r.reason.code : String(r.reason);
}

describe.each(BACKENDS)("store concurrency on %s", (backend) => {
  let db: TestDatabase;
  let a: Store;
  let b: Store;
  // Alternates between the two stores.
  const pick = (i: number) => (i % 2 === 0 ? a : b);

  beforeEach(async () => {
    db = await testDatabase(backend);
    a = await db.open();
    b = await db.open();
  });
  afterEach(async () => {
    await db?.cleanup();
  });

  it("concurrent credits and debits of one balance lose no update", async () => {
    const n = 120;
    const ops = Array.from({ length: n }, (_, i) =>
      i % 3 === 2
        ? pick(i).payerBalances.debit(SENDER, "mid", Rational.of(1n, 3n))
        : pick(i).payerBalances.credit(SENDER, "mid", Rational.of(1n, 7n)),
    );
    const gw = Array.from({ length: 60 }, (_, i) =>
      pick(i).gatewayBalances.credit(RECIPIENT, "sid", Rational.of(1n, 11n)),
    );
    await Promise.all([...ops, ...gw]);
    // 80 credits of 1/7, 40 debits of 1/3.
    const expected = Rational.of(80n, 7n).sub(Rational.of(40n, 3n));
    expect((await a.payerBalances.get(SENDER, "mid"))?.amount.toString()).toBe(expected.toString());
    expect((await b.gatewayBalances.get(RECIPIENT, "sid")).toString()).toBe(Rational.of(60n, 11n).toString());
  });

  it("concurrent reservations never overdraw a key; concurrent commits refund once", async () => {
    const { apiKey } = await a.apiKeys.create("k", 500n);
    const results = await Promise.allSettled(
      Array.from({ length: 80 }, (_, i) => pick(i).reservations.reserve(apiKey.id, 10n)),
    );
    const codes = results.map(codeOf);
    expect(codes.filter((c) => c === "ok")).toHaveLength(50);
    expect(codes.filter((c) => c === "INSUFFICIENT_CREDIT")).toHaveLength(30);
    expect(await b.apiKeys.get(apiKey.id)).toMatchObject({
      availableWei: 0n,
      reservedWei: 500n,
      spentWei: 0n,
    });

    const first = (results.find((r) => r.status === "fulfilled") as PromiseFulfilledResult<{ id: string }>)
      .value;
    const commits = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        i % 2 === 0 ? pick(i).reservations.commit(first.id, 4n) : pick(i).reservations.release(first.id),
      ),
    );
    expect(commits.map(codeOf).filter((c) => c === "ok")).toHaveLength(1);
    expect(commits.map(codeOf).filter((c) => c === "RESERVATION_NOT_OPEN")).toHaveLength(9);
    const k = (await a.apiKeys.get(apiKey.id))!;
    expect(k.reservedWei).toBe(490n);
    expect(k.availableWei + k.spentWei).toBe(10n);
    expect(k.grantedWei).toBe(k.availableWei + k.reservedWei + k.spentWei);
  });

  it("concurrent nonce reservations return disjoint ranges covering 1..total", async () => {
    const counts = Array.from({ length: 100 }, (_, i) => 1 + (i % 5));
    const ranges = await Promise.all(counts.map((c, i) => pick(i).sessionNonces.reserveNonces("0xsess", c)));
    const seen = new Set<bigint>();
    ranges.forEach((r, i) => {
      expect(r.last - r.first + 1n).toBe(BigInt(counts[i]!));
      for (let n = r.first; n <= r.last; n++) {
        expect(seen.has(n)).toBe(false);
        seen.add(n);
      }
    });
    const total = counts.reduce((s, c) => s + c, 0);
    expect(seen.size).toBe(total);
    expect([...seen].every((n) => n >= 1n && n <= BigInt(total))).toBe(true);
    expect(await a.sessionNonces.lastNonce("0xsess")).toBe(BigInt(total));
  });

  it("a replayed nonce or idempotency key is accepted exactly once under concurrency", async () => {
    const nonces = await Promise.all(
      Array.from({ length: 20 }, (_, i) => pick(i).senderNonces.record(42n, 7n, 100n)),
    );
    expect(nonces.filter((r) => r === "recorded")).toHaveLength(1);
    const capped = await Promise.all(
      Array.from({ length: 20 }, (_, i) => pick(i).senderNonces.record(43n, BigInt(i), 100n, 5)),
    );
    expect(capped.filter((r) => r === "recorded")).toHaveLength(5);
    const begins = await Promise.all(
      Array.from({ length: 20 }, (_, i) => pick(i).idempotency.begin("k", "idem", "h")),
    );
    expect(begins.filter((r) => r.state === "started")).toHaveLength(1);
    const inserts = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        pick(i).usage.record({
          keyId: "k",
          requestId: "same",
          pipeline: "llm",
          model: "m",
          units: 1n,
          feeWei: 1n,
          ticketsSent: 0,
          evSent: 0n,
          status: "ok",
        }),
      ),
    );
    expect(inserts.filter(Boolean)).toHaveLength(1);
  });
});
