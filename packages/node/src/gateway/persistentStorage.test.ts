import { memoryStorage } from "@livepay/protocol/client";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BACKENDS, testDatabase, type TestDatabase } from "../../test/storeBackends.js";
import { isStoreError } from "../store/errors.js";
import { storePayerStorage } from "./persistentStorage.js";

describe.each(BACKENDS)("storePayerStorage on %s", (backend) => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await testDatabase(backend);
  });
  afterEach(async () => {
    await db.cleanup();
  });

  it("keeps what was written across a reopen of the store, listed by prefix in key order", async () => {
    const longPayee = "0x" + "ab".repeat(20);
    const receiptKey = `receipt/${longPayee}/7/${"9".repeat(78)}/${"0".repeat(15)}`;
    const first = await db.open();
    const s = storePayerStorage(first, "payer/test/");
    await s.set("ticket/0xp/7/1", { charged: "10", seq: 3, done: false, nested: [1, null, "x"] });
    await s.set("ticket/0xp/7/2", { charged: "20" });
    await s.set(receiptKey, { quoteId: "0xq" });
    await s.set("origin/https://api.example.com", "0xpayee");
    await s.set("approval/000000000000001/0xq1", { amount: "5" });
    await s.set("approval/000000000000002/0xq2", { amount: "6" });
    await s.set("ticket/0xp/7/1", { charged: "11", seq: 4, done: true, nested: [] }); // overwrite
    await s.delete("approval/000000000000001/0xq1");
    await s.delete("never/written");
    // Another namespace in the same store is invisible.
    await storePayerStorage(first, "payer/other/").set("ticket/0xp/7/3", 1);
    await first.close();

    const second = await db.open();
    const r = storePayerStorage(second, "payer/test/");
    expect(await r.get("ticket/0xp/7/1")).toEqual({ charged: "11", seq: 4, done: true, nested: [] });
    expect(await r.get("approval/000000000000001/0xq1")).toBeUndefined();
    expect(await r.list("ticket/")).toEqual([
      ["ticket/0xp/7/1", { charged: "11", seq: 4, done: true, nested: [] }],
      ["ticket/0xp/7/2", { charged: "20" }],
    ]);
    expect(await r.list(`receipt/${longPayee}/7/`)).toEqual([[receiptKey, { quoteId: "0xq" }]]);
    expect(await r.list("origin/")).toEqual([["origin/https://api.example.com", "0xpayee"]]);
    expect(await r.list("approval/")).toEqual([["approval/000000000000002/0xq2", { amount: "6" }]]);
    expect((await r.list("")).map(([k]) => k)).toEqual([
      "approval/000000000000002/0xq2",
      "origin/https://api.example.com",
      receiptKey,
      "ticket/0xp/7/1",
      "ticket/0xp/7/2",
    ]);
    expect(await r.list("tick")).toHaveLength(2); // a prefix that is not a directory
    expect(await r.list("ticket/0xp/7/1")).toHaveLength(1);
    expect(await r.list("nothing/")).toEqual([]);
  });

  it("rejects a bad key with a typed error and writes nothing", async () => {
    const s = storePayerStorage(await db.open(), "payer/test/");
    for (const bad of ["", "dir/"]) {
      const e = await s.set(bad, 1).catch((x: unknown) => x);
      expect(isStoreError(e, "STORE_INVALID_INPUT")).toBe(true);
    }
    expect(await s.list("")).toEqual([]);
  });

  it("concurrent writes from one process all land in the index", async () => {
    const s = storePayerStorage(await db.open(), "payer/test/");
    await Promise.all(Array.from({ length: 20 }, (_, i) => s.set(`voucher/q${i}`, i)));
    expect((await s.list("voucher/")).map(([, v]) => v).sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: 20 }, (_, i) => i),
    );
  });

  it("behaves like memoryStorage for any sequence of sets and deletes", async () => {
    const store = await db.open();
    let run = 0;
    const seg = fc.constantFrom("a", "b", "ab", "", "x:");
    const key = fc
      .array(seg, { minLength: 1, maxLength: 4 })
      .map((p) => p.join("/"))
      .filter((k) => k.length > 0 && !k.endsWith("/"));
    const op = fc.oneof(fc.record({ set: key, v: fc.integer() }), fc.record({ del: key }));
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { maxLength: 12 }),
        fc.constantFrom("", "a", "a/", "a/b/", "b"),
        async (ops, prefix) => {
          const s = storePayerStorage(store, `prop/${run++}/`);
          const m = memoryStorage();
          for (const o of ops) {
            if ("set" in o) await Promise.all([s.set(o.set, o.v), m.set(o.set, o.v)]);
            else await Promise.all([s.delete(o.del), m.delete(o.del)]);
          }
          expect(await s.list(prefix)).toEqual(await m.list(prefix));
          expect(await s.list("")).toEqual(await m.list(""));
        },
      ),
      { numRuns: backend === "sqlite" ? 60 : 25 },
    );
  });
});
