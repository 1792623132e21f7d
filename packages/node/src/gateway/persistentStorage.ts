// The gateway-funded payer's record (tickets, quotes, vouchers, receipts, approvals) kept in the
// gateway's durable store, so a restart resumes the same tickets instead of losing them (corrective
// 402s, no audit). One row per entry in the store's `persistent_payer_records` table (schema
// version 3, which also imported the rows older gateways kept in `meta`): a write is one upsert, a
// listing one index range scan, whatever the number of entries.
import type { PayerStorage } from "@livepay/protocol/client";
import { StoreError } from "../store/errors.js";
import type { Store } from "../store/openStore.js";
import { payerKeyArg, payerNamespaceArg } from "../store/payerRecords.js";

type JsonValue = Parameters<PayerStorage["set"]>[1];

function encode(value: JsonValue): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value) as string | undefined;
  } catch {
    text = undefined; // a bigint or a cycle
  }
  if (text === undefined) throw new StoreError("STORE_INVALID_INPUT", "value: must be JSON");
  return text;
}

function decode(text: string, key: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    throw new StoreError("STORE_CORRUPT", "unexpected database value for a payer record", {
      key: key.slice(0, 160),
    });
  }
}

/**
 * The storage namespace of a gateway's own persistent-ticket payer: one per chain, broker and gateway
 * key, so records never mix (and a restarted gateway finds its tickets again).
 * @example gatewayPayerNamespace(31337, "0xBroker…", "0xGateway…") // "persistent.payer/31337/0xbroker…/0xgateway…/"
 */
export function gatewayPayerNamespace(chainId: number | bigint, broker: string, payer: string): string {
  return `persistent.payer/${chainId}/${broker.toLowerCase()}/${payer.toLowerCase()}/`;
}

/**
 * A {@link PayerStorage} in the gateway's store (SQLite or PostgreSQL) under `namespace`.
 *
 * - Durable: `set`/`delete` resolve once their statement committed (fsynced on SQLite, flushed by
 *   PostgreSQL), so a voucher the SDK records is on disk before it is sent.
 * - Atomic per call: each write is a single statement; `list` reads one consistent snapshot.
 * - Ordered as called, as memoryStorage is: every result is the one the calls would give one after
 *   the other, even when they are not awaited (a `get` sees the `set` called before it and not the
 *   one called after). Without this, two un-awaited writes to one key could commit in either order
 *   on a PostgreSQL pool. Operations on different keys still run concurrently. The order holds
 *   within one storage object, which is one payer's.
 * - Keys: non-empty, at most 1024 UTF-8 bytes, no NUL or lone surrogate (else `STORE_INVALID_INPUT`,
 *   nothing written); values round-trip through JSON, as memoryStorage's do.
 *
 * @example createPayer({ ..., storage: storePayerStorage(store, "persistent.payer/31337/0xbroker/0xgateway/") })
 */
export function storePayerStorage(store: Store, namespace: string): PayerStorage {
  const ns = payerNamespaceArg(namespace);
  const records = store.payerRecords;
  // Call order, without serializing unrelated work: an operation on a key waits for the earlier
  // operations on that key and for the earlier lists; a list waits for every earlier operation.
  // Each is registered synchronously when called, so nothing called later can overtake it.
  const keyTails = new Map<string, Promise<void>>();
  const unsettled = new Set<Promise<void>>();
  let listTail: Promise<void> | undefined;

  function enqueue<T>(
    deps: (Promise<void> | undefined)[],
    op: () => Promise<T>,
  ): [Promise<T>, Promise<void>] {
    const waits = deps.filter((d): d is Promise<void> => d !== undefined);
    const run = waits.length === 0 ? op() : Promise.all(waits).then(op);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    return [run, tail];
  }

  function onKey<T>(key: string, op: () => Promise<T>): Promise<T> {
    const [run, tail] = enqueue([keyTails.get(key), listTail], op);
    keyTails.set(key, tail);
    unsettled.add(tail);
    void tail.then(() => {
      unsettled.delete(tail);
      if (keyTails.get(key) === tail) keyTails.delete(key);
    });
    return run;
  }

  function onAll<T>(op: () => Promise<T>): Promise<T> {
    const [run, tail] = enqueue([...unsettled, listTail], op);
    listTail = tail;
    void tail.then(() => {
      if (listTail === tail) listTail = undefined;
    });
    return run;
  }

  // Bad input is refused at once (a rejected promise), before anything is queued or written.
  function checked<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return fn();
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  return {
    get(key) {
      return checked(() => {
        payerKeyArg(key, "key");
        return onKey(key, async () => {
          const text = await records.get(ns, key);
          return text === undefined ? undefined : decode(text, key);
        });
      });
    },

    set(key, value) {
      return checked(() => {
        payerKeyArg(key, "key");
        const text = encode(value); // copied now, as memoryStorage does
        return onKey(key, () => records.set(ns, key, text));
      });
    },

    delete(key) {
      return checked(() => {
        payerKeyArg(key, "key");
        return onKey(key, async () => {
          await records.delete(ns, key);
        });
      });
    },

    list(prefix) {
      return checked(() => {
        payerKeyArg(prefix, "prefix");
        return onAll(async () =>
          (await records.list(ns, prefix)).map(([k, v]): [string, JsonValue] => [k, decode(v, k)]),
        );
      });
    },
  };
}
