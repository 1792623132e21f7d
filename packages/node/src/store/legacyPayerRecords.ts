// Schema version 3 moves the gateway-funded payer's record out of `meta`. Before it, the gateway
// kept each PayerStorage entry as meta rows under its namespace `ns`:
//   `${ns}e/${sha256(key)}`  the entry's JSON text,
//   `${ns}d/${sha256(dir)}`  the JSON array of a directory's children ("name" or "sub/"), sorted,
//   `${ns}lock`              a row every write upserted to serialize writers.
// Keys were hashed, so only the directory indexes name them: the import walks each namespace's tree
// from its root index, copies every entry into persistent_payer_records and deletes the old rows,
// inside the migration's transaction (all or nothing). Frozen with the migration: do not change.
import { createHash } from "node:crypto";
import type { Db } from "./db.js";
import { StoreError } from "./errors.js";
import { payerKeyArg, payerNamespaceArg } from "./payerRecords.js";

function sha256(s: string): string {
  return createHash("sha256").update(s, "utf8").digest("hex");
}

/** The meta key suffix of a namespace's root directory index: `d/` + sha256(""). */
const ROOT_SUFFIX = `d/${sha256("")}`;
// SQLite's default variable limit is 32766 and PostgreSQL's 65535: 3 per row leaves ample room.
const BATCH = 500;

function corrupt(message: string, details: Record<string, unknown>): StoreError {
  return new StoreError("STORE_CORRUPT", `legacy payer record: ${message}`, details);
}

async function metaValue(db: Db, key: string): Promise<string | undefined> {
  const row = await db.kysely.selectFrom("meta").select("value").where("key", "=", key).executeTakeFirst();
  return row?.value;
}

/**
 * Copies every payer record of the pre-version-3 layout (meta rows) into `persistent_payer_records`
 * and deletes the meta rows it came from. Returns how many entries were imported. Throws
 * `STORE_CORRUPT` (failing the migration, so nothing is lost) on an unreadable directory index or a
 * key the new table cannot hold.
 * @example await importLegacyPayerRecords(tx) // 42
 */
export async function importLegacyPayerRecords(db: Db): Promise<number> {
  // The suffix is a constant hex digest (no LIKE metacharacters); matches are re-checked exactly.
  const roots = await db.kysely
    .selectFrom("meta")
    .select("key")
    .where("key", "like", `%${ROOT_SUFFIX}`)
    .execute();
  let imported = 0;
  for (const { key: rootKey } of roots) {
    if (!rootKey.endsWith(ROOT_SUFFIX) || rootKey.length === ROOT_SUFFIX.length) continue;
    const ns = rootKey.slice(0, -ROOT_SUFFIX.length);
    try {
      payerNamespaceArg(ns);
    } catch {
      throw corrupt("a namespace the new table cannot hold", { namespace: ns.slice(0, 160) });
    }
    // By key: a name listed twice (never written so, but cheap to tolerate) is imported once.
    const entries = new Map<string, { namespace: string; key: string; value: string }>();
    const oldRows: string[] = [`${ns}lock`];
    // Depth-first over the directory indexes; a child directory name always ends in "/" and makes a
    // strictly longer path, so the walk terminates.
    const stack = [""];
    while (stack.length > 0) {
      const dir = stack.pop()!;
      const dirRow = `${ns}d/${sha256(dir)}`;
      const text = await metaValue(db, dirRow);
      if (text === undefined) continue;
      oldRows.push(dirRow);
      let children: unknown;
      try {
        children = JSON.parse(text);
      } catch {
        children = undefined;
      }
      if (!Array.isArray(children) || !children.every((c) => typeof c === "string" && c.length > 0)) {
        throw corrupt("unreadable directory index", { namespace: ns.slice(0, 160), dir: dir.slice(0, 160) });
      }
      for (const name of children as string[]) {
        const full = dir + name;
        if (name.endsWith("/")) {
          stack.push(full);
          continue;
        }
        const entryRow = `${ns}e/${sha256(full)}`;
        const value = await metaValue(db, entryRow);
        if (value === undefined) continue; // listed but gone: the old list() skipped it too
        try {
          payerKeyArg(full, "key");
        } catch {
          throw corrupt("a key the new table cannot hold", {
            namespace: ns.slice(0, 160),
            key: full.slice(0, 160),
          });
        }
        entries.set(full, { namespace: ns, key: full, value });
        oldRows.push(entryRow);
      }
    }
    const rows = [...entries.values()];
    for (let i = 0; i < rows.length; i += BATCH) {
      await db.kysely
        .insertInto("persistent_payer_records")
        .values(rows.slice(i, i + BATCH))
        .execute();
    }
    for (let i = 0; i < oldRows.length; i += BATCH) {
      await db.kysely
        .deleteFrom("meta")
        .where("key", "in", oldRows.slice(i, i + BATCH))
        .execute();
    }
    imported += rows.length;
  }
  // A namespace whose entries were all deleted has no root index left, only its lock row. The
  // gateway's namespaces are `persistent.payer/<chain>/<broker>/<payer>/` (persistentGateway.ts):
  // drop their orphaned lock rows too, and no other meta row.
  const locks = await db.kysely
    .selectFrom("meta")
    .select("key")
    .where("key", "like", "persistent.payer/%lock")
    .execute();
  const orphans = locks.map((r) => r.key).filter((k) => /^persistent\.payer\/.+\/lock$/s.test(k));
  for (let i = 0; i < orphans.length; i += BATCH) {
    await db.kysely
      .deleteFrom("meta")
      .where("key", "in", orphans.slice(i, i + BATCH))
      .execute();
  }
  return imported;
}
