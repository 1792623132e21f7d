// The gateway-funded payer's record (tickets, quotes, vouchers, receipts, approvals) kept in the
// gateway's durable store, so a restart resumes the same tickets instead of losing them (corrective
// 402s, no audit). Built on `store.meta` (a string key/value table) because the store exposes no raw
// SQL: each entry is one meta row, and `list(prefix)` walks a per-directory index of child names.
import { createHash } from "node:crypto";
import type { PayerStorage } from "@livepay/protocol/client";
import { StoreError } from "../store/errors.js";
import type { MetaStore } from "../store/meta.js";
import type { Store } from "../store/openStore.js";

type JsonValue = Parameters<PayerStorage["set"]>[1];

// Meta keys hold at most 256 characters and payer keys (`receipt/<payee>/<epoch>/<ticket>/…`,
// `origin/https://…`) can be longer, so rows are addressed by a hash of the key; the full names
// live in the directory indexes. A per-directory index (not one flat list) keeps a write O(siblings).
function digest(s: string): string {
  return createHash("sha256").update(s, "utf8").digest("hex");
}

/** The directory of `key`: everything up to and including its last `/` ("" at the root). */
function dirOf(key: string): string {
  return key.slice(0, key.lastIndexOf("/") + 1);
}

function checkKey(key: unknown, field = "key"): string {
  if (typeof key !== "string" || key.length === 0 || key.endsWith("/")) {
    throw new StoreError("STORE_INVALID_INPUT", `${field}: must be a non-empty string not ending in "/"`);
  }
  return key;
}

/**
 * A {@link PayerStorage} in the gateway's store (SQLite or PostgreSQL) under `namespace`. Every
 * `set`/`delete` is one store transaction that has committed when its promise resolves, so a voucher
 * recorded by the SDK is on disk before it is sent. Writes in a namespace are serialized by a lock
 * row (PostgreSQL row lock; SQLite's BEGIN IMMEDIATE already excludes other writers).
 * @example createPayer({ ..., storage: storePayerStorage(store, "payer/0xabc…/") })
 */
export function storePayerStorage(store: Store, namespace: string): PayerStorage {
  if (typeof namespace !== "string" || namespace.length === 0 || namespace.length > 128) {
    throw new StoreError(
      "STORE_INVALID_INPUT",
      "namespace: must be a non-empty string of at most 128 characters",
    );
  }
  const entryKey = (key: string) => `${namespace}e/${digest(key)}`;
  const dirKey = (dir: string) => `${namespace}d/${digest(dir)}`;
  const lockKey = `${namespace}lock`;

  async function readDir(meta: MetaStore, dir: string): Promise<string[]> {
    const v = await meta.get(dirKey(dir));
    return v === undefined ? [] : (JSON.parse(v) as string[]);
  }

  async function writeDir(meta: MetaStore, dir: string, children: string[]): Promise<void> {
    if (children.length === 0) await meta.delete(dirKey(dir));
    else await meta.set(dirKey(dir), JSON.stringify(children.sort()));
  }

  // Upserting the lock row first makes a concurrent writer on PostgreSQL wait for our commit; its
  // later reads (READ COMMITTED: a fresh snapshot per statement) then see our index updates.
  const locked = <T>(fn: (meta: MetaStore) => Promise<T>) =>
    store.transaction(async (tx) => {
      await tx.meta.set(lockKey, "1");
      return fn(tx.meta);
    });

  return {
    async get(key) {
      const v = await store.meta.get(entryKey(checkKey(key)));
      return v === undefined ? undefined : (JSON.parse(v) as JsonValue);
    },

    async set(key, value) {
      checkKey(key);
      const text = JSON.stringify(value) as string | undefined;
      if (text === undefined) throw new StoreError("STORE_INVALID_INPUT", "value: must be JSON");
      await locked(async (meta) => {
        const existed = (await meta.get(entryKey(key))) !== undefined;
        await meta.set(entryKey(key), text);
        if (existed) return;
        // Register the name in its directory, then each new directory in its parent, stopping at the
        // first ancestor that already lists it.
        let child = key;
        for (;;) {
          const dir = dirOf(child.endsWith("/") ? child.slice(0, -1) : child);
          const name = child.slice(dir.length);
          const children = await readDir(meta, dir);
          if (children.includes(name)) return;
          children.push(name);
          await writeDir(meta, dir, children);
          if (dir === "") return;
          child = dir;
        }
      });
    },

    async delete(key) {
      checkKey(key);
      await locked(async (meta) => {
        if (!(await meta.delete(entryKey(key)))) return;
        // Unlist the name, and each directory left empty from its parent.
        let child = key;
        for (;;) {
          const dir = dirOf(child.endsWith("/") ? child.slice(0, -1) : child);
          const name = child.slice(dir.length);
          const children = (await readDir(meta, dir)).filter((c) => c !== name);
          await writeDir(meta, dir, children);
          if (children.length > 0 || dir === "") return;
          child = dir;
        }
      });
    },

    async list(prefix) {
      if (typeof prefix !== "string") throw new StoreError("STORE_INVALID_INPUT", "prefix: must be a string");
      const out: [string, JsonValue][] = [];
      const walk = async (dir: string): Promise<void> => {
        for (const name of await readDir(store.meta, dir)) {
          const full = dir + name;
          if (name.endsWith("/")) {
            if (full.startsWith(prefix) || prefix.startsWith(full)) await walk(full);
          } else if (full.startsWith(prefix)) {
            const v = await store.meta.get(entryKey(full));
            // Deleted between reading the index and the entry: it is gone, skip it.
            if (v !== undefined) out.push([full, JSON.parse(v) as JsonValue]);
          }
        }
      };
      await walk(dirOf(prefix));
      return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    },
  };
}
