// The gateway-funded payer's record (tickets, quotes, vouchers, receipts, approvals: the SDK's
// PayerStorage) in its own table, `persistent_payer_records(namespace, key, value)`, primary key
// (namespace, key). Listing a "directory" is a range scan of that key, `prefix <= key < successor`,
// never a LIKE: no pattern characters to escape and the index is always usable.
//
// Both backends order the key column by UTF-8 bytes, i.e. by code point: SQLite's default BINARY
// collation is memcmp, and the PostgreSQL column is declared `COLLATE "C"` (a linguistic collation
// such as en_US.UTF-8 would make the range scan miss keys). That is why keys must be well-formed
// Unicode (no lone surrogates) and free of NUL, which PostgreSQL text cannot hold.
import { textFromDb } from "./codec.js";
import type { Db } from "./db.js";
import { StoreError } from "./errors.js";

/** Longest namespace, in characters. */
export const PAYER_NAMESPACE_MAX = 128;
/** Longest key or prefix, in UTF-8 bytes (with the namespace, well under PostgreSQL's index row limit). */
export const PAYER_KEY_MAX_BYTES = 1024;

/**
 * Raw rows of the payer's record: JSON text under `(namespace, key)`. The gateway uses it through
 * `storePayerStorage` (gateway/persistentStorage.ts), which encodes values and orders writes.
 * Every write is one statement that has committed when its promise resolves.
 */
export interface PayerRecords {
  /** The stored text, or undefined. @example await store.payerRecords.get(ns, "ticket/0x…/0/3") */
  get(namespace: string, key: string): Promise<string | undefined>;
  /** Inserts or overwrites. @example await store.payerRecords.set(ns, "quote/0x…", '{"hash":"0x…"}') */
  set(namespace: string, key: string, value: string): Promise<void>;
  /** Deletes; true if the key existed. @example await store.payerRecords.delete(ns, "approval/…") */
  delete(namespace: string, key: string): Promise<boolean>;
  /**
   * Every entry whose key starts with `prefix` ("" = all), in key order (UTF-16 code units, as
   * JavaScript's `<` sorts: the SDK's memoryStorage order).
   * @example await store.payerRecords.list(ns, "receipt/0x…/0/3/")
   */
  list(namespace: string, prefix: string): Promise<[string, string][]>;
}

const NUL_OR_LONE_SURROGATE = /\0|\p{Cs}/u;

function invalid(field: string, message: string, value: unknown): StoreError {
  return new StoreError("STORE_INVALID_INPUT", `${field}: ${message}`, {
    field,
    value: String(value).slice(0, 80),
  });
}

/**
 * Validates a namespace: 1 to 128 characters, well-formed, no NUL.
 * @example payerNamespaceArg("persistent.payer/31337/0xbroker/0xgateway/")
 */
export function payerNamespaceArg(namespace: string): string {
  if (
    typeof namespace !== "string" ||
    namespace.length === 0 ||
    namespace.length > PAYER_NAMESPACE_MAX ||
    NUL_OR_LONE_SURROGATE.test(namespace)
  ) {
    throw invalid(
      "namespace",
      `must be a non-empty string of at most ${PAYER_NAMESPACE_MAX} characters, without NUL or lone surrogates`,
      namespace,
    );
  }
  return namespace;
}

/**
 * Validates a key (non-empty) or a list prefix (may be empty): at most 1024 UTF-8 bytes,
 * well-formed Unicode, no NUL.
 * @example payerKeyArg("ticket/0xabc/0/1", "key")
 */
export function payerKeyArg(key: string, field: "key" | "prefix"): string {
  if (
    typeof key !== "string" ||
    (field === "key" && key.length === 0) ||
    Buffer.byteLength(key, "utf8") > PAYER_KEY_MAX_BYTES ||
    NUL_OR_LONE_SURROGATE.test(key)
  ) {
    throw invalid(
      field,
      `must be a ${field === "key" ? "non-empty " : ""}string of at most ${PAYER_KEY_MAX_BYTES} UTF-8 bytes, without NUL or lone surrogates`,
      key,
    );
  }
  return key;
}

/**
 * The smallest string above every string that starts with `prefix`, in code point order (the last
 * code point incremented, skipping the surrogate block; trailing U+10FFFF dropped first), or
 * undefined when there is none. Keys `k` with `prefix <= k < successor` are exactly those starting
 * with `prefix`.
 * @example prefixSuccessor("receipt/") // "receipt0"
 */
export function prefixSuccessor(prefix: string): string | undefined {
  const points = Array.from(prefix, (c) => c.codePointAt(0)!);
  while (points.length > 0) {
    let last = points.pop()! + 1;
    if (last === 0xd800) last = 0xe000;
    if (last <= 0x10ffff) {
      points.push(last);
      return String.fromCodePoint(...points);
    }
  }
  return undefined;
}

/** JavaScript's default string order (UTF-16 code units), which memoryStorage's list uses. */
function byCodeUnits(a: [string, string], b: [string, string]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/** The SQL implementation of {@link PayerRecords}. */
export class SqlPayerRecords implements PayerRecords {
  constructor(private readonly db: Db) {}

  async get(namespace: string, key: string): Promise<string | undefined> {
    const row = await this.db.kysely
      .selectFrom("persistent_payer_records")
      .select("value")
      .where("namespace", "=", payerNamespaceArg(namespace))
      .where("key", "=", payerKeyArg(key, "key"))
      .executeTakeFirst();
    return row === undefined ? undefined : textFromDb(row.value, "value");
  }

  async set(namespace: string, key: string, value: string): Promise<void> {
    const ns = payerNamespaceArg(namespace);
    const k = payerKeyArg(key, "key");
    if (typeof value !== "string") throw invalid("value", "must be a string", value);
    if (value.includes("\0")) throw invalid("value", "must not contain NUL", value);
    // One upsert statement: atomic, and committed (fsynced) before the promise resolves.
    await this.db.kysely
      .insertInto("persistent_payer_records")
      .values({ namespace: ns, key: k, value })
      .onConflict((oc) => oc.columns(["namespace", "key"]).doUpdateSet({ value }))
      .execute();
  }

  async delete(namespace: string, key: string): Promise<boolean> {
    const res = await this.db.kysely
      .deleteFrom("persistent_payer_records")
      .where("namespace", "=", payerNamespaceArg(namespace))
      .where("key", "=", payerKeyArg(key, "key"))
      .executeTakeFirst();
    return res.numDeletedRows > 0n;
  }

  async list(namespace: string, prefix: string): Promise<[string, string][]> {
    const ns = payerNamespaceArg(namespace);
    const p = payerKeyArg(prefix, "prefix");
    const end = prefixSuccessor(p);
    let q = this.db.kysely
      .selectFrom("persistent_payer_records")
      .select(["key", "value"])
      .where("namespace", "=", ns);
    if (p !== "") q = q.where("key", ">=", p);
    if (end !== undefined) q = q.where("key", "<", end);
    const rows = await q.orderBy("key").execute();
    const out = rows.map((r): [string, string] => [textFromDb(r.key, "key"), textFromDb(r.value, "value")]);
    // The database sorts by code point; JavaScript by UTF-16 code unit. They differ only between
    // U+E000–U+FFFF and astral characters, but the contract is memoryStorage's order.
    return out.sort(byCodeUnits);
  }
}
