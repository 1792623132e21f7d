import { memoryStorage, type PayerStorage } from "@livepay/protocol/client";
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

  it("rejects a bad key, namespace or value with a typed error and writes nothing", async () => {
    const store = await db.open();
    const s = storePayerStorage(store, "payer/test/");
    const bad: [string, unknown][] = [
      ["", 1],
      ["a\0b", 1],
      ["lone\uD800", 1],
      ["x".repeat(1025), 1],
      ["k", undefined],
      ["k", 10n],
    ];
    for (const [k, v] of bad) {
      const e = await s.set(k, v as never).catch((x: unknown) => x);
      expect(isStoreError(e, "STORE_INVALID_INPUT")).toBe(true);
    }
    for (const ns of ["", "n".repeat(129)]) {
      expect(
        isStoreError(
          (() => {
            try {
              storePayerStorage(store, ns);
            } catch (e) {
              return e;
            }
          })(),
          "STORE_INVALID_INPUT",
        ),
      ).toBe(true);
    }
    expect(await s.list("")).toEqual([]);
    // A key ending in "/" is an ordinary key (the old meta layout could not hold one).
    await s.set("dir/", 1);
    expect(await s.list("dir")).toEqual([["dir/", 1]]);
  });

  it("concurrent writes from one process all land in the index", async () => {
    const s = storePayerStorage(await db.open(), "payer/test/");
    await Promise.all(Array.from({ length: 20 }, (_, i) => s.set(`voucher/q${i}`, i)));
    expect((await s.list("voucher/")).map(([, v]) => v).sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: 20 }, (_, i) => i),
    );
  });

  it("behaves like memoryStorage for any sequence of sets, deletes and lists, awaited or not", async () => {
    const store = await db.open();
    let run = 0;
    const seg = fc.constantFrom("a", "b", "ab", "", "x:", "%", "_", "é", "😀", "\uFFFF");
    const key = fc
      .array(seg, { minLength: 1, maxLength: 4 })
      .map((p) => p.join("/"))
      .filter((k) => k.length > 0);
    const json = fc.jsonValue({ maxDepth: 2 }).map((v) => v as Parameters<PayerStorage["set"]>[1]);
    const prefix = fc.array(seg, { maxLength: 3 }).map((p) => p.join("/"));
    const op = fc.oneof(
      { weight: 3, arbitrary: fc.record({ set: key, v: json }) },
      { weight: 2, arbitrary: fc.record({ del: key }) },
      { weight: 1, arbitrary: fc.record({ get: key }) },
      { weight: 1, arbitrary: fc.record({ list: prefix }) },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 16 }), fc.boolean(), async (ops, concurrent) => {
        const s = storePayerStorage(store, `prop/${run++}/`);
        const m = memoryStorage();
        const apply = (t: typeof s, o: (typeof ops)[number]): Promise<unknown> =>
          "set" in o
            ? t.set(o.set, o.v)
            : "del" in o
              ? t.delete(o.del)
              : "get" in o
                ? t.get(o.get)
                : t.list(o.list);
        const expected: unknown[] = [];
        for (const o of ops) expected.push(await apply(m, o));
        // Un-awaited, every operation is issued at once: results must still be those of call order.
        const actual: unknown[] = [];
        if (concurrent) actual.push(...(await Promise.all(ops.map((o) => apply(s, o)))));
        else for (const o of ops) actual.push(await apply(s, o));
        expect(actual).toEqual(expected);
        expect(await s.list("")).toEqual(await m.list(""));
        // And a second storage object on the same namespace (a restarted gateway) reads the same.
        expect(await storePayerStorage(store, `prop/${run - 1}/`).list("")).toEqual(await m.list(""));
      }),
      { numRuns: backend === "sqlite" ? 100 : 50 },
    );
  });
});
