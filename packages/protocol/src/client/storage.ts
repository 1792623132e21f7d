import type { JsonValue } from "../persistent/canonicalJson.js";

/**
 * Where a payer keeps its record (tickets, quotes, vouchers, receipts, approvals): a small async
 * key-value store of JSON values, so that a browser can back it with localStorage or IndexedDB and a
 * server with a file or database. Keys are `/`-separated; `list(prefix)` returns entries under a prefix.
 * Writes must be durable when their promise resolves: a voucher is recorded before it is sent.
 */
export interface PayerStorage {
  get(key: string): Promise<JsonValue | undefined>;
  set(key: string, value: JsonValue): Promise<void>;
  delete(key: string): Promise<void>;
  list(prefix: string): Promise<[string, JsonValue][]>;
}

/**
 * The default store: in memory, lost when the process ends. Values are copied in and out.
 * @example createPayer({ ..., storage: memoryStorage() })
 */
export function memoryStorage(): PayerStorage {
  const map = new Map<string, string>();
  return {
    async get(key) {
      const v = map.get(key);
      return v === undefined ? undefined : (JSON.parse(v) as JsonValue);
    },
    async set(key, value) {
      map.set(key, JSON.stringify(value));
    },
    async delete(key) {
      map.delete(key);
    },
    async list(prefix) {
      const out: [string, JsonValue][] = [];
      for (const [k, v] of map) if (k.startsWith(prefix)) out.push([k, JSON.parse(v) as JsonValue]);
      return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    },
  };
}

/** The part of the Web Storage API (`localStorage`, `sessionStorage`) a payer uses. */
export interface WebStorageLike {
  readonly length: number;
  key(index: number): string | null;
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/**
 * A store over Web Storage (e.g. `localStorage` in a browser), keys prefixed with `namespace`.
 * @example createPayer({ ..., storage: webStorage(localStorage) })
 */
export function webStorage(store: WebStorageLike, namespace = "livepay/"): PayerStorage {
  return {
    async get(key) {
      const v = store.getItem(namespace + key);
      return v === null ? undefined : (JSON.parse(v) as JsonValue);
    },
    async set(key, value) {
      store.setItem(namespace + key, JSON.stringify(value));
    },
    async delete(key) {
      store.removeItem(namespace + key);
    },
    async list(prefix) {
      const out: [string, JsonValue][] = [];
      for (let i = 0; i < store.length; i++) {
        const k = store.key(i);
        if (k !== null && k.startsWith(namespace + prefix)) {
          out.push([k.slice(namespace.length), JSON.parse(store.getItem(k)!) as JsonValue]);
        }
      }
      return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    },
  };
}
