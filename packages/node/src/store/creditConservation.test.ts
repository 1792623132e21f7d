// Property: any sequence of reserve / commit / release / top-up calls on an API key conserves credit
// (granted = available + reserved + spent, nothing negative) after every step, matches a simple model
// exactly, and every refused call (typed error) changes nothing.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BACKENDS, testDatabase, type TestDatabase } from "../../test/storeBackends.js";
import { StoreError, type ApiKey, type Store } from "./index.js";

type Op =
  | { kind: "reserve"; amount: bigint; idem: number | undefined }
  | { kind: "commit"; pick: number; permille: number; overshoot: boolean }
  | { kind: "release"; pick: number }
  | { kind: "addCredit"; amount: bigint };

const amount = fc.oneof(fc.bigInt({ min: 0n, max: 1000n }), fc.bigInt({ min: 0n, max: 10n ** 30n }));
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant("reserve" as const),
    amount,
    idem: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
  }),
  fc.record({
    kind: fc.constant("commit" as const),
    pick: fc.nat(),
    permille: fc.integer({ min: 0, max: 1000 }),
    overshoot: fc.boolean(),
  }),
  fc.record({ kind: fc.constant("release" as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant("addCredit" as const), amount }),
);
const scenario = fc.record({
  initial: amount,
  perRequestWei: fc.option(amount, { nil: undefined }),
  perDayWei: fc.option(amount, { nil: undefined }),
  ops: fc.array(op, { maxLength: 20 }),
});

interface ModelReservation {
  id: string;
  amount: bigint;
  status: "open" | "committed" | "released";
  charged: bigint;
  idem: number | undefined;
}

describe.each(BACKENDS)("credit conservation on %s", (backend) => {
  let db: TestDatabase;
  let store: Store;
  beforeAll(async () => {
    db = await testDatabase(backend);
    store = await db.open();
  });
  afterAll(async () => {
    await db?.cleanup();
  });

  it("holds for every reserve/commit/release sequence", { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ initial, perRequestWei, perDayWei, ops }) => {
        const caps = {
          ...(perRequestWei === undefined ? {} : { perRequestWei }),
          ...(perDayWei === undefined ? {} : { perDayWei }),
        };
        const { apiKey } = await store.apiKeys.create("prop", initial, caps);
        const model = { granted: initial, available: initial, reserved: 0n, spent: 0n };
        const reservations: ModelReservation[] = [];
        const usedToday = () =>
          reservations.reduce(
            (s, r) => s + (r.status === "open" ? r.amount : r.status === "committed" ? r.charged : 0n),
            0n,
          );

        const check = async (): Promise<ApiKey> => {
          const k = (await store.apiKeys.get(apiKey.id))!;
          expect(k.grantedWei).toBe(k.availableWei + k.reservedWei + k.spentWei);
          expect(k.availableWei >= 0n && k.reservedWei >= 0n && k.spentWei >= 0n).toBe(true);
          expect({
            granted: k.grantedWei,
            available: k.availableWei,
            reserved: k.reservedWei,
            spent: k.spentWei,
          }).toEqual(model);
          expect(await store.reservations.spentToday(apiKey.id)).toBe(usedToday());
          return k;
        };
        // A refused call must throw the expected code and leave the key exactly as it was.
        const refused = async (call: () => Promise<unknown>, code: string) => {
          const before = await check();
          const e = await call().then(
            () => undefined,
            (err: unknown) => err,
          );
          expect(e).toBeInstanceOf(StoreError);
          expect((e as StoreError).code).toBe(code);
          expect(await check()).toEqual(before);
        };

        for (const o of ops) {
          if (o.kind === "addCredit") {
            await store.apiKeys.addCredit(apiKey.id, o.amount);
            model.granted += o.amount;
            model.available += o.amount;
          } else if (o.kind === "reserve") {
            const idemKey = o.idem === undefined ? undefined : `idem-${o.idem}`;
            const prior = o.idem === undefined ? undefined : reservations.find((r) => r.idem === o.idem);
            if (prior && prior.amount !== o.amount) {
              await refused(
                () => store.reservations.reserve(apiKey.id, o.amount, idemKey),
                "IDEMPOTENCY_CONFLICT",
              );
            } else if (prior) {
              expect((await store.reservations.reserve(apiKey.id, o.amount, idemKey)).id).toBe(prior.id);
            } else if (perRequestWei !== undefined && o.amount > perRequestWei) {
              await refused(() => store.reservations.reserve(apiKey.id, o.amount, idemKey), "CAP_EXCEEDED");
            } else if (perDayWei !== undefined && usedToday() + o.amount > perDayWei) {
              await refused(() => store.reservations.reserve(apiKey.id, o.amount, idemKey), "CAP_EXCEEDED");
            } else if (o.amount > model.available) {
              await refused(
                () => store.reservations.reserve(apiKey.id, o.amount, idemKey),
                "INSUFFICIENT_CREDIT",
              );
            } else {
              const r = await store.reservations.reserve(apiKey.id, o.amount, idemKey);
              reservations.push({ id: r.id, amount: o.amount, status: "open", charged: 0n, idem: o.idem });
              model.available -= o.amount;
              model.reserved += o.amount;
            }
          } else if (reservations.length > 0) {
            const r = reservations[o.pick % reservations.length]!;
            if (o.kind === "commit") {
              const actual = o.overshoot ? r.amount + 1n : (r.amount * BigInt(o.permille)) / 1000n;
              if (r.status !== "open") {
                await refused(() => store.reservations.commit(r.id, actual), "RESERVATION_NOT_OPEN");
              } else if (o.overshoot) {
                await refused(() => store.reservations.commit(r.id, actual), "COMMIT_EXCEEDS_RESERVATION");
              } else {
                await store.reservations.commit(r.id, actual);
                r.status = "committed";
                r.charged = actual;
                model.reserved -= r.amount;
                model.spent += actual;
                model.available += r.amount - actual;
              }
            } else if (r.status !== "open") {
              await refused(() => store.reservations.release(r.id), "RESERVATION_NOT_OPEN");
            } else {
              await store.reservations.release(r.id);
              r.status = "released";
              model.reserved -= r.amount;
              model.available += r.amount;
            }
          }
          await check();
        }
      }),
      { numRuns: backend === "sqlite" ? 60 : 25 },
    );
  });
});
