// persistent_payer_records on both backends: a reference-model property test under random
// put/delete/list sequences, the prefix range (successor) arithmetic, the index being used, and the
// schema-3 import of the rows older gateways kept in `meta`.
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BACKENDS, testDatabase, type TestDatabase } from "../../test/storeBackends.js";
import { isStoreError, type Store } from "./index.js";
import { PAYER_KEY_MAX_BYTES, prefixSuccessor } from "./payerRecords.js";

const require = createRequire(import.meta.url);

// Characters that matter to a range scan or a LIKE: LIKE metacharacters, the "/" separator and its
// neighbours, case, the top of the BMP next to astral characters (UTF-16 and code point order differ
// there), the surrogate gap and the last code point.
const CHARS = [
  "a",
  "b",
  "A",
  "/",
  ".",
  "0",
  "%",
  "_",
  "\\",
  "é",
  "\uD7FF",
  "\uE000",
  "\uFFFF",
  "😀",
  "\u{10FFFF}",
];
const text = (max: number) =>
  fc.array(fc.constantFrom(...CHARS), { minLength: 0, maxLength: max }).map((a) => a.join(""));
const keyArb = text(5).filter((k) => k.length > 0);

/** Code point order: what both databases sort by. */
function cmpCodePoints(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0)!);
  const y = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

const sortedEntries = (m: Map<string, string>, prefix: string): [string, string][] =>
  [...m].filter(([k]) => k.startsWith(prefix)).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));

// Runs a statement straight on the database, behind the store's back.
async function rawQuery(db: TestDatabase, statement: string): Promise<Record<string, unknown>[]> {
  if ("path" in db.location) {
    const Database = require("better-sqlite3") as new (p: string) => {
      prepare(s: string): { all(): Record<string, unknown>[] };
      close(): void;
    };
    const raw = new Database(db.location.path);
    try {
      return raw.prepare(statement).all();
    } finally {
      raw.close();
    }
  }
  const { Client } = require("pg") as {
    Client: new (c: { connectionString: string }) => {
      connect(): Promise<void>;
      query(s: string): Promise<{ rows: Record<string, unknown>[] }>;
      end(): Promise<void>;
    };
  };
  const c = new Client({ connectionString: db.location.url });
  await c.connect();
  try {
    await c.query("set enable_seqscan = off");
    return (await c.query(statement)).rows;
  } finally {
    await c.end();
  }
}

// The layout storePayerStorage wrote before schema version 3 (meta rows: hashed entries, one
// sorted child index per directory, a lock row), reproduced here to test the import.
function legacyWriter(store: Store, ns: string) {
  const digest = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");
  const dirOf = (k: string) => k.slice(0, k.lastIndexOf("/") + 1);
  const parent = (child: string) => {
    const dir = dirOf(child.endsWith("/") ? child.slice(0, -1) : child);
    return { dir, name: child.slice(dir.length) };
  };
  const entry = (k: string) => `${ns}e/${digest(k)}`;
  const dirRow = (d: string) => `${ns}d/${digest(d)}`;
  return {
    set: (key: string, value: unknown) =>
      store.transaction(async ({ meta }) => {
        await meta.set(`${ns}lock`, "1");
        const existed = (await meta.get(entry(key))) !== undefined;
        await meta.set(entry(key), JSON.stringify(value));
        if (existed) return;
        for (let child = key; ;) {
          const { dir, name } = parent(child);
          const v = await meta.get(dirRow(dir));
          const children = v === undefined ? [] : (JSON.parse(v) as string[]);
          if (children.includes(name)) return;
          await meta.set(dirRow(dir), JSON.stringify([...children, name].sort()));
          if (dir === "") return;
          child = dir;
        }
      }),
    delete: (key: string) =>
      store.transaction(async ({ meta }) => {
        await meta.set(`${ns}lock`, "1");
        if (!(await meta.delete(entry(key)))) return;
        for (let child = key; ;) {
          const { dir, name } = parent(child);
          const v = await meta.get(dirRow(dir));
          const children = (v === undefined ? [] : (JSON.parse(v) as string[])).filter((c) => c !== name);
          if (children.length === 0) await meta.delete(dirRow(dir));
          else await meta.set(dirRow(dir), JSON.stringify(children));
          if (children.length > 0 || dir === "") return;
          child = dir;
        }
      }),
    entryRow: entry,
    rootRow: dirRow(""),
  };
}

describe("prefixSuccessor", () => {
  it("bounds exactly the keys that start with the prefix, in code point order", () => {
    fc.assert(
      fc.property(text(4), text(6), (prefix, key) => {
        const end = prefixSuccessor(prefix);
        const inRange = cmpCodePoints(key, prefix) >= 0 && (end === undefined || cmpCodePoints(key, end) < 0);
        expect(inRange).toBe(key.startsWith(prefix));
      }),
      { numRuns: 2000 },
    );
    expect(prefixSuccessor("receipt/")).toBe("receipt0");
    expect(prefixSuccessor("a\uD7FF")).toBe("a\uE000");
    expect(prefixSuccessor("a\u{10FFFF}")).toBe("b");
    expect(prefixSuccessor("\u{10FFFF}\u{10FFFF}")).toBeUndefined();
    expect(prefixSuccessor("")).toBeUndefined();
  });
});

describe.each(BACKENDS)("persistent_payer_records on %s", (backend) => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await testDatabase(backend);
  });
  afterEach(async () => {
    await db.cleanup();
  });

  it("behaves like a sorted map under random put/delete/list sequences", async () => {
    const store = await db.open();
    let run = 0;
    const op = fc.oneof(
      { weight: 4, arbitrary: fc.record({ put: keyArb, v: fc.string({ maxLength: 6 }) }) },
      { weight: 2, arbitrary: fc.record({ del: keyArb }) },
      { weight: 2, arbitrary: fc.record({ list: text(3) }) },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 25 }), async (ops) => {
        const ns = `model/${run++}/`;
        const model = new Map<string, string>();
        for (const o of ops) {
          if ("put" in o) {
            await store.payerRecords.set(ns, o.put, o.v);
            model.set(o.put, o.v);
          } else if ("del" in o) {
            expect(await store.payerRecords.delete(ns, o.del)).toBe(model.delete(o.del));
          } else {
            expect(await store.payerRecords.list(ns, o.list)).toEqual(sortedEntries(model, o.list));
          }
        }
        for (const k of model.keys()) expect(await store.payerRecords.get(ns, k)).toBe(model.get(k));
        expect(await store.payerRecords.list(ns, "")).toEqual(sortedEntries(model, ""));
      }),
      { numRuns: backend === "sqlite" ? 150 : 60 },
    );
    // Namespaces never mix: every run above saw only its own rows.
    expect(await store.payerRecords.list("model/none/", "")).toEqual([]);
  });

  it("refuses keys and namespaces the table cannot hold, writing nothing", async () => {
    const store = await db.open();
    const ns = "ns/";
    const bad: [string, string][] = [
      [ns, ""],
      [ns, "a\0b"],
      [ns, "lone\uD800"],
      [ns, "x".repeat(PAYER_KEY_MAX_BYTES + 1)],
      [ns, "é".repeat(PAYER_KEY_MAX_BYTES / 2 + 1)], // within the characters, over the bytes
      ["", "k"],
      ["n".repeat(129), "k"],
      ["ns\0", "k"],
    ];
    for (const [n, k] of bad) {
      const e = await store.payerRecords.set(n, k, "1").catch((x: unknown) => x);
      expect(isStoreError(e, "STORE_INVALID_INPUT")).toBe(true);
    }
    expect(
      isStoreError(
        await store.payerRecords.list(ns, "\uDC00").catch((x: unknown) => x),
        "STORE_INVALID_INPUT",
      ),
    ).toBe(true);
    await store.payerRecords.set(ns, "x".repeat(PAYER_KEY_MAX_BYTES), "ok"); // the longest key fits
    expect(await store.payerRecords.list(ns, "")).toEqual([["x".repeat(PAYER_KEY_MAX_BYTES), "ok"]]);
  });

  it("lists a directory with an index range on (namespace, key), in byte order on PostgreSQL too", async () => {
    const store = await db.open();
    for (let i = 0; i < 50; i++) await store.payerRecords.set("ns/", `receipt/${i % 5}/${i}`, String(i));
    const plan = JSON.stringify(
      backend === "sqlite"
        ? await rawQuery(
            db,
            "explain query plan select key, value from persistent_payer_records where namespace = 'ns/' and key >= 'receipt/1/' and key < 'receipt/10'",
          )
        : await rawQuery(
            db,
            "explain select key, value from persistent_payer_records where namespace = 'ns/' and key >= 'receipt/1/' and key < 'receipt/10'",
          ),
    );
    if (backend === "sqlite") {
      expect(plan).toMatch(
        /SEARCH persistent_payer_records USING PRIMARY KEY \(namespace=\? AND key>\? AND key<\?\)/,
      );
    } else {
      expect(plan).toMatch(/Index (Only )?Scan using persistent_payer_records_pk/);
      expect(plan).toMatch(/Index Cond: .*key.*>=.*key.*</);
      const cols = await rawQuery(
        db,
        "select column_name, collation_name from information_schema.columns where table_schema = current_schema() and table_name = 'persistent_payer_records' order by column_name",
      );
      expect(cols).toEqual([
        { column_name: "key", collation_name: "C" },
        { column_name: "namespace", collation_name: "C" },
        { column_name: "value", collation_name: null },
      ]);
    }
    expect((await store.payerRecords.list("ns/", "receipt/1/")).map(([, v]) => v)).toEqual([
      "1",
      "11",
      "16",
      "21",
      "26",
      "31",
      "36",
      "41",
      "46",
      "6",
    ]);
  });

  it("schema 3 imports the payer records older gateways kept in meta, and removes those rows", async () => {
    const NS = "persistent.payer/31337/0xbroker/0xgateway/";
    const old = await db.open({ migrateTo: 2 });
    expect(await old.schemaVersion()).toBe(2);
    const legacy = legacyWriter(old, NS);
    const other = legacyWriter(old, "persistent.payer/1/0xb/0xother/");
    const longPayee = "0x" + "ab".repeat(20);
    const receiptKey = `receipt/${longPayee}/7/${"9".repeat(78)}/${"0".repeat(20)}`;
    await legacy.set("ticket/0xp/0/1", { status: "open", charged: "10" });
    await legacy.set("ticket/0xp/0/2", { status: "suspended" });
    await legacy.set(receiptKey, { quoteId: "0xq" });
    await legacy.set("origin/https://api.example.com", "0xpayee");
    await legacy.set("approval/000000000000001/0xq1", { at: 1, amount: "5" });
    await legacy.set("approval/000000000000002/0xq2", { at: 2, amount: "6" });
    await legacy.set("ticket/0xp/0/1", { status: "open", charged: "11" }); // overwritten
    await legacy.delete("approval/000000000000001/0xq1");
    await other.set("ticket/0xo/0/0", 1);
    await old.meta.set("orchestrator.secret", "keep me");
    await old.close();

    const store = await db.open({ migrateTo: 3 });
    expect(await store.schemaVersion()).toBe(3);
    const decoded = async (ns: string) =>
      (await store.payerRecords.list(ns, "")).map(([k, v]) => [k, JSON.parse(v) as unknown]);
    expect(await decoded(NS)).toEqual([
      ["approval/000000000000002/0xq2", { at: 2, amount: "6" }],
      ["origin/https://api.example.com", "0xpayee"],
      [receiptKey, { quoteId: "0xq" }],
      ["ticket/0xp/0/1", { status: "open", charged: "11" }],
      ["ticket/0xp/0/2", { status: "suspended" }],
    ]);
    expect(await decoded("persistent.payer/1/0xb/0xother/")).toEqual([["ticket/0xo/0/0", 1]]);
    // The old rows are gone; unrelated meta rows stay.
    expect(await store.meta.get(legacy.entryRow("ticket/0xp/0/1"))).toBeUndefined();
    expect(await store.meta.get(legacy.rootRow)).toBeUndefined();
    expect(await store.meta.get(`${NS}lock`)).toBeUndefined();
    expect(await store.meta.get("orchestrator.secret")).toBe("keep me");
    const metaRows = await rawQuery(db, "select key from meta order by key");
    expect(metaRows.map((r) => r.key)).toEqual(["orchestrator.secret", "schema_version"]);
    // Reopening migrates nothing twice.
    const again = await db.open();
    expect(await again.payerRecords.list(NS, "ticket/")).toHaveLength(2);
  });

  it("schema 3 imports any legacy history exactly (property: random sets and deletes, then upgrade)", async () => {
    const seg = fc.constantFrom("a", "b", "ab", "", "x:", "é", "%_");
    const key = fc
      .array(seg, { minLength: 1, maxLength: 4 })
      .map((p) => p.join("/"))
      .filter((k) => k.length > 0 && !k.endsWith("/"));
    const op = fc.oneof(fc.record({ set: key, v: fc.jsonValue({ maxDepth: 2 }) }), fc.record({ del: key }));
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 15 }), async (ops) => {
        const fresh = await testDatabase(backend);
        try {
          const old = await fresh.open({ migrateTo: 2 });
          const legacy = legacyWriter(old, "persistent.payer/1/0xb/0xg/");
          const model = new Map<string, string>();
          for (const o of ops) {
            if ("set" in o) {
              await legacy.set(o.set, o.v);
              model.set(o.set, JSON.stringify(o.v));
            } else {
              await legacy.delete(o.del);
              model.delete(o.del);
            }
          }
          await old.close();
          const store = await fresh.open();
          expect(await store.payerRecords.list("persistent.payer/1/0xb/0xg/", "")).toEqual(
            sortedEntries(model, ""),
          );
          expect((await rawQuery(fresh, "select key from meta")).map((r) => r.key)).toEqual([
            "schema_version",
          ]);
        } finally {
          await fresh.cleanup();
        }
      }),
      { numRuns: backend === "sqlite" ? 25 : 15 },
    );
  }, 120_000);

  it("a corrupt legacy index fails the upgrade and leaves the database at version 2", async () => {
    const old = await db.open({ migrateTo: 2 });
    const legacy = legacyWriter(old, "ns/");
    await legacy.set("a/b", 1);
    await old.meta.set(legacy.rootRow, "not json");
    await old.close();
    const e = await db.open().catch((x: unknown) => x);
    expect(isStoreError(e, "STORE_CORRUPT")).toBe(true);
    const v2 = await db.open({ migrateTo: 2 });
    expect(await v2.schemaVersion()).toBe(2);
    expect(await v2.meta.get(legacy.entryRow("a/b"))).toBe("1");
  });
});
