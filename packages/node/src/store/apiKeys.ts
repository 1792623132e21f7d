import { createHash, randomBytes } from "node:crypto";
import { lockRows, writeTx, type Db } from "./db.js";
import { numberFromDb, textToDb, weiFromDb, weiToDb } from "./codec.js";
import { StoreError } from "./errors.js";
import type { ApiKeysTable } from "./schema.js";
import type { Selectable } from "kysely";

/** Every API key starts with this, so leaked keys are recognizable (secret scanners, logs). */
export const API_KEY_PREFIX = "lp_";

/** Spending limits of a key, in wei; an absent field means no limit. */
export interface SpendingCaps {
  /** Largest amount one request may reserve. */
  perRequestWei?: bigint;
  /** Largest amount reserved + spent per UTC day. */
  perDayWei?: bigint;
}

/**
 * An API key's account. Conservation: `grantedWei = availableWei + reservedWei + spentWei` always.
 */
export interface ApiKey {
  id: string;
  name: string;
  /** The first characters of the plaintext key (e.g. `"lp_Ab3dE"`), for display only. */
  prefix: string;
  /** All credit ever given to the key. */
  grantedWei: bigint;
  /** Credit that new requests may reserve. */
  availableWei: bigint;
  /** Credit held by open reservations (requests in flight). */
  reservedWei: bigint;
  /** Credit committed by finished requests. */
  spentWei: bigint;
  caps: SpendingCaps;
  disabled: boolean;
  createdAt: number;
}

/**
 * Gateway API keys. The plaintext key is 32 random bytes (base64url) behind `"lp_"` and is returned
 * once by `create`; only its SHA-256 is stored. A plain fast hash is enough here (unlike passwords):
 * the input has 256 bits of entropy, so a leaked table cannot be brute-forced, and a fast hash keeps
 * the per-request lookup cheap.
 */
export interface ApiKeys {
  /**
   * Creates a key with `creditWei` of credit. The plaintext `key` is not stored: show it once.
   * @example const { key, apiKey } = await store.apiKeys.create("my app", 10n ** 18n, { perDayWei: 10n ** 17n })
   */
  create(name: string, creditWei: bigint, caps?: SpendingCaps): Promise<{ key: string; apiKey: ApiKey }>;
  /**
   * The key whose plaintext this is (disabled keys included, `disabled: true`), or undefined.
   * @example const k = await store.apiKeys.lookup(bearerToken)
   */
  lookup(plaintext: string): Promise<ApiKey | undefined>;
  /** By id. @example await store.apiKeys.get(id) */
  get(id: string): Promise<ApiKey | undefined>;
  /** All keys, oldest first. @example await store.apiKeys.list() */
  list(): Promise<ApiKey[]>;
  /** Disables a key (idempotent); throws `KEY_NOT_FOUND`. @example await store.apiKeys.disable(id) */
  disable(id: string): Promise<void>;
  /** Adds credit; throws `KEY_NOT_FOUND`. @example await store.apiKeys.addCredit(id, 10n ** 18n) */
  addCredit(id: string, amountWei: bigint): Promise<ApiKey>;
  /** Replaces the caps; throws `KEY_NOT_FOUND`. @example await store.apiKeys.setCaps(id, { perRequestWei: 10n ** 15n }) */
  setCaps(id: string, caps: SpendingCaps): Promise<ApiKey>;
}

/**
 * SHA-256 (hex) of a plaintext API key: the only form the store keeps.
 * @example hashApiKey("lp_...") // "3f0a..."
 */
export function hashApiKey(plaintext: string): string {
  return createHash("sha256").update(plaintext, "utf8").digest("hex");
}

/** Maps an `api_keys` row to an {@link ApiKey}. */
export function apiKeyFromRow(r: Selectable<ApiKeysTable>): ApiKey {
  const caps: SpendingCaps = {};
  if (r.cap_per_request_wei !== null)
    caps.perRequestWei = weiFromDb(r.cap_per_request_wei, "cap_per_request_wei");
  if (r.cap_per_day_wei !== null) caps.perDayWei = weiFromDb(r.cap_per_day_wei, "cap_per_day_wei");
  return {
    id: r.id,
    name: r.name,
    prefix: r.key_prefix,
    grantedWei: weiFromDb(r.granted_wei, "granted_wei"),
    availableWei: weiFromDb(r.available_wei, "available_wei"),
    reservedWei: weiFromDb(r.reserved_wei, "reserved_wei"),
    spentWei: weiFromDb(r.spent_wei, "spent_wei"),
    caps,
    disabled: r.disabled_at !== null,
    createdAt: numberFromDb(r.created_at, "created_at"),
  };
}

function capsToDb(caps: SpendingCaps | undefined): {
  cap_per_request_wei: string | null;
  cap_per_day_wei: string | null;
} {
  if (caps !== undefined && (typeof caps !== "object" || caps === null)) {
    throw new StoreError("STORE_INVALID_INPUT", "caps: must be an object");
  }
  return {
    cap_per_request_wei:
      caps?.perRequestWei === undefined ? null : weiToDb(caps.perRequestWei, "caps.perRequestWei"),
    cap_per_day_wei: caps?.perDayWei === undefined ? null : weiToDb(caps.perDayWei, "caps.perDayWei"),
  };
}

/** The SQL implementation of {@link ApiKeys}. */
export class SqlApiKeys implements ApiKeys {
  constructor(private readonly db: Db) {}

  async create(
    name: string,
    creditWei: bigint,
    caps?: SpendingCaps,
  ): Promise<{ key: string; apiKey: ApiKey }> {
    const credit = weiToDb(creditWei, "creditWei");
    const capCols = capsToDb(caps);
    const key = API_KEY_PREFIX + randomBytes(32).toString("base64url");
    const id = "key_" + randomBytes(12).toString("hex");
    const now = this.db.now();
    const row = {
      id,
      name: textToDb(name, "name"),
      key_hash: hashApiKey(key),
      key_prefix: key.slice(0, 8),
      granted_wei: credit,
      available_wei: credit,
      reserved_wei: "0",
      spent_wei: "0",
      ...capCols,
      disabled_at: null,
      created_at: now,
      updated_at: now,
    };
    await this.db.kysely.insertInto("api_keys").values(row).execute();
    return { key, apiKey: apiKeyFromRow(row) };
  }

  async lookup(plaintext: string): Promise<ApiKey | undefined> {
    if (typeof plaintext !== "string" || !plaintext.startsWith(API_KEY_PREFIX) || plaintext.length > 200) {
      return undefined;
    }
    const row = await this.db.kysely
      .selectFrom("api_keys")
      .selectAll()
      .where("key_hash", "=", hashApiKey(plaintext))
      .executeTakeFirst();
    return row ? apiKeyFromRow(row) : undefined;
  }

  async get(id: string): Promise<ApiKey | undefined> {
    const row = await this.db.kysely
      .selectFrom("api_keys")
      .selectAll()
      .where("id", "=", textToDb(id, "id"))
      .executeTakeFirst();
    return row ? apiKeyFromRow(row) : undefined;
  }

  async list(): Promise<ApiKey[]> {
    const rows = await this.db.kysely
      .selectFrom("api_keys")
      .selectAll()
      .orderBy("created_at")
      .orderBy("id")
      .execute();
    return rows.map(apiKeyFromRow);
  }

  async disable(id: string): Promise<void> {
    await this.update(id, (_row, now) => ({ disabled_at: now }), true);
  }

  async addCredit(id: string, amountWei: bigint): Promise<ApiKey> {
    const amount = BigInt(weiToDb(amountWei, "amountWei"));
    return this.update(id, (row) => ({
      granted_wei: (weiFromDb(row.granted_wei, "granted_wei") + amount).toString(),
      available_wei: (weiFromDb(row.available_wei, "available_wei") + amount).toString(),
    }));
  }

  async setCaps(id: string, caps: SpendingCaps): Promise<ApiKey> {
    const capCols = capsToDb(caps);
    return this.update(id, () => capCols);
  }

  private async update(
    id: string,
    f: (row: Selectable<ApiKeysTable>, now: number) => Partial<Selectable<ApiKeysTable>>,
    keepDisabledAt = false,
  ): Promise<ApiKey> {
    const keyId = textToDb(id, "id");
    return writeTx(this.db, async (tx) => {
      const row = await lockRows(
        tx,
        tx.kysely.selectFrom("api_keys").selectAll().where("id", "=", keyId),
      ).executeTakeFirst();
      if (!row) throw new StoreError("KEY_NOT_FOUND", "API key not found", { keyId });
      const now = tx.now();
      const changes = f(row, now);
      // Disabling twice keeps the first time.
      if (keepDisabledAt && row.disabled_at !== null) delete changes.disabled_at;
      const next = { ...row, ...changes, updated_at: now };
      await tx.kysely
        .updateTable("api_keys")
        .set({
          granted_wei: next.granted_wei,
          available_wei: next.available_wei,
          cap_per_request_wei: next.cap_per_request_wei,
          cap_per_day_wei: next.cap_per_day_wei,
          disabled_at: next.disabled_at === null ? null : BigInt(String(next.disabled_at)),
          updated_at: now,
        })
        .where("id", "=", keyId)
        .execute();
      return apiKeyFromRow(next);
    });
  }
}
