import { MAX_UINT256, Rational, ticketHash, type Hex } from "@livepay/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BACKENDS, testDatabase, type TestDatabase } from "../../test/storeBackends.js";
import {
  SCHEMA_VERSION,
  StoreError,
  openStore,
  type Store,
  type StoreErrorCode,
  type WinningTicketInput,
} from "./index.js";

const SENDER: Hex = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";
const SENDER_MIXED = "0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const OTHER_SENDER: Hex = "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc";
const RECIPIENT: Hex = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
const FOO_HASH: Hex = "0x41b1a0649752af1b28b3dc29a1556eee781e4a4c3a1f7f53f90fa834de098c4d";
const RAND_HASH: Hex = "0x2aad9be4d3937d8f6bb30b5a3f9f3f19138a56efa8727e268558c9993a286264";
const T0 = Date.UTC(2025, 0, 1, 12);

function ticket(nonce: bigint, over: Partial<WinningTicketInput> = {}): WinningTicketInput {
  return {
    sender: SENDER,
    recipient: RECIPIENT,
    faceValue: 12_000_000_000_000_000n,
    winProb: MAX_UINT256 / 3n,
    senderNonce: nonce,
    recipientRand: MAX_UINT256 - 12345n,
    recipientRandHash: RAND_HASH,
    creationRound: 3500n,
    creationRoundBlockHash: FOO_HASH,
    sig: `0x${"ab".repeat(65)}`,
    paramsExpirationBlock: 1000n,
    ...over,
  };
}

async function expectCode(p: Promise<unknown>, code: StoreErrorCode): Promise<StoreError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(StoreError);
  expect((e as StoreError).code).toBe(code);
  return e as StoreError;
}

describe.each(BACKENDS)("orchestrator store on %s", (backend) => {
  let db: TestDatabase;
  let store: Store;
  const clock = { t: T0 };

  beforeEach(async () => {
    clock.t = T0;
    db = await testDatabase(backend);
    store = await db.open({ now: () => clock.t });
  });
  afterEach(async () => {
    await db?.cleanup();
  });

  describe("migrations", () => {
    it("applies every version once; reopening changes nothing and keeps data", async () => {
      expect(store.dialect).toBe(backend);
      expect(await store.schemaVersion()).toBe(SCHEMA_VERSION);
      await store.meta.set("k", "v");
      const again = await db.open();
      expect(await again.schemaVersion()).toBe(SCHEMA_VERSION);
      expect(await again.meta.get("k")).toBe("v");
    });

    it("upgrades a database from version 1 to the latest, keeping version-1 rows", async () => {
      const old = await testDatabase(backend);
      try {
        const v1 = await old.open({ migrateTo: 1 });
        expect(await v1.schemaVersion()).toBe(1);
        await v1.payerBalances.credit(SENDER, "mid", 5n);
        // Version 2's tables do not exist yet.
        await expect(v1.apiKeys.list()).rejects.toThrow();
        await v1.close();
        const latest = await old.open();
        expect(await latest.schemaVersion()).toBe(SCHEMA_VERSION);
        expect((await latest.payerBalances.get(SENDER, "mid"))?.amount.eq(5n)).toBe(true);
        const { apiKey } = await latest.apiKeys.create("k", 1n);
        expect(apiKey.availableWei).toBe(1n);
      } finally {
        await old.cleanup();
      }
    });

    it("refuses a database written by a newer schema", async () => {
      await db.exec(`update meta set value = '${SCHEMA_VERSION + 1}' where key = 'schema_version'`);
      await expectCode(db.open(), "STORE_SCHEMA_TOO_NEW");
    });

    it("refuses bad options with STORE_CONFIG", async () => {
      await expectCode(openStore({}), "STORE_CONFIG");
      await expectCode(openStore({ url: "mysql://x/y" }), "STORE_CONFIG");
      await expectCode(openStore({ url: "postgres://x/y", path: "/tmp/x.db" }), "STORE_CONFIG");
    });
  });

  describe("meta", () => {
    it("gets, sets, sets once and deletes; schema_version is read-only", async () => {
      expect(await store.meta.get("secret")).toBeUndefined();
      expect(await store.meta.setIfAbsent("secret", "a")).toBe("a");
      expect(await store.meta.setIfAbsent("secret", "b")).toBe("a");
      await store.meta.set("secret", "c");
      expect(await store.meta.get("secret")).toBe("c");
      expect(await store.meta.delete("secret")).toBe(true);
      expect(await store.meta.delete("secret")).toBe(false);
      await expectCode(store.meta.set("schema_version", "1"), "STORE_INVALID_INPUT");
      await expectCode(store.meta.delete("schema_version"), "STORE_INVALID_INPUT");
      expect(await store.schemaVersion()).toBe(SCHEMA_VERSION);
    });
  });

  describe("payer balances", () => {
    it("credits and debits exact rationals, may go negative, keyed by (sender, manifestId)", async () => {
      expect(await store.payerBalances.get(SENDER, "27_model")).toBeUndefined();
      expect((await store.payerBalances.credit(SENDER, "27_model", Rational.of(1n, 3n))).toString()).toBe(
        "1/3",
      );
      expect(
        (await store.payerBalances.credit(SENDER_MIXED, "27_model", Rational.of(1n, 6n))).toString(),
      ).toBe("1/2");
      expect((await store.payerBalances.debit(SENDER, "27_model", 2n)).toString()).toBe("-3/2");
      await store.payerBalances.credit(SENDER, "33_llm", 10n ** 30n);
      await store.payerBalances.credit(OTHER_SENDER, "27_model", 1n);

      const b = await store.payerBalances.get(SENDER, "27_model");
      expect(b?.amount.toString()).toBe("-3/2");
      expect(b?.sender).toBe(SENDER);
      expect(b?.fixedPrice).toBeUndefined();
      expect((await store.payerBalances.get(SENDER, "33_llm"))?.amount.eq(10n ** 30n)).toBe(true);
      expect((await store.payerBalances.list(SENDER)).map((x) => x.manifestId)).toEqual([
        "27_model",
        "33_llm",
      ]);
      expect(await store.payerBalances.list()).toHaveLength(3);
    });

    it("keeps balances without expiry across time and restarts", async () => {
      await store.payerBalances.credit(SENDER, "mid", Rational.of(7n, 9n));
      clock.t += 30 * 24 * 3600_000;
      await store.close();
      const reopened = await db.open({ now: () => clock.t });
      expect((await reopened.payerBalances.get(SENDER, "mid"))?.amount.toString()).toBe("7/9");
    });

    it("sets and clears a fixed price", async () => {
      await store.payerBalances.setFixedPrice(SENDER, "mid", Rational.of(2n, 4n));
      expect((await store.payerBalances.get(SENDER, "mid"))?.fixedPrice?.toString()).toBe("1/2");
      await store.payerBalances.credit(SENDER, "mid", 1n);
      expect((await store.payerBalances.get(SENDER, "mid"))?.fixedPrice?.toString()).toBe("1/2");
      await store.payerBalances.setFixedPrice(SENDER, "mid", undefined);
      expect((await store.payerBalances.get(SENDER, "mid"))?.fixedPrice).toBeUndefined();
    });

    it("rejects bad input with STORE_INVALID_INPUT and changes nothing", async () => {
      await store.payerBalances.credit(SENDER, "mid", 1n);
      await expectCode(store.payerBalances.credit(SENDER, "mid", -1n), "STORE_INVALID_INPUT");
      await expectCode(store.payerBalances.debit(SENDER, "mid", Rational.of(-1n, 2n)), "STORE_INVALID_INPUT");
      await expectCode(store.payerBalances.credit("0x1234", "mid", 1n), "STORE_INVALID_INPUT");
      await expectCode(store.payerBalances.credit(SENDER, "", 1n), "STORE_INVALID_INPUT");
      await expectCode(
        store.payerBalances.credit(SENDER, "mid", 1.5 as unknown as bigint),
        "STORE_INVALID_INPUT",
      );
      expect((await store.payerBalances.get(SENDER, "mid"))?.amount.eq(1n)).toBe(true);
      expect(await store.payerBalances.list()).toHaveLength(1);
    });
  });

  describe("winning tickets", () => {
    it("stores every field exactly and is idempotent on the ticket hash", async () => {
      const t = ticket(1n, { faceValue: MAX_UINT256, recipientRand: MAX_UINT256 });
      const { hash, inserted } = await store.winningTickets.insert(t);
      expect(inserted).toBe(true);
      expect(hash).toBe(ticketHash(t));
      const again = await store.winningTickets.insert({ ...t, sender: SENDER_MIXED as Hex });
      expect(again).toEqual({ hash, inserted: false });

      const got = await store.winningTickets.get(hash);
      expect(got).toMatchObject({ ...t, hash, status: "pending", attempts: 0, createdAt: T0 });
      expect(got?.lastError).toBeUndefined();
      expect(got?.txHash).toBeUndefined();
      expect(await store.winningTickets.list()).toHaveLength(1);
      expect(await store.winningTickets.get(FOO_HASH)).toBeUndefined();
    });

    it("lists redeemable tickets: params expired, round recent enough, pending, in insertion order", async () => {
      const late = await store.winningTickets.insert(ticket(5n, { paramsExpirationBlock: 2000n }));
      const first = await store.winningTickets.insert(ticket(9n));
      const old = await store.winningTickets.insert(ticket(2n, { creationRound: 3400n }));
      const second = await store.winningTickets.insert(ticket(3n));
      const other = await store.winningTickets.insert(ticket(4n, { sender: OTHER_SENDER }));

      const list = (q: { block: bigint; minRound: bigint; sender?: string; limit?: number }) =>
        store.winningTickets.listRedeemable(q).then((l) => l.map((x) => x.hash));
      expect(await list({ block: 999n, minRound: 3498n })).toEqual([]);
      expect(await list({ block: 1000n, minRound: 3498n })).toEqual([first.hash, second.hash, other.hash]);
      expect(await list({ block: 1000n, minRound: 3498n, sender: SENDER })).toEqual([
        first.hash,
        second.hash,
      ]);
      expect(await list({ block: 1000n, minRound: 3498n, limit: 1 })).toEqual([first.hash]);
      expect(await list({ block: 1000n, minRound: 3400n })).toEqual([
        first.hash,
        old.hash,
        second.hash,
        other.hash,
      ]);
      expect(await list({ block: 5000n, minRound: 3498n })).toEqual([
        late.hash,
        first.hash,
        second.hash,
        other.hash,
      ]);

      expect(await store.winningTickets.markRedeemed(first.hash, FOO_HASH)).toBe(true);
      expect(await store.winningTickets.markRedeemed(first.hash, RAND_HASH)).toBe(false);
      expect((await store.winningTickets.get(first.hash))?.txHash).toBe(FOO_HASH);
      expect(await list({ block: 1000n, minRound: 3498n })).toEqual([second.hash, other.hash]);
    });

    it("counts failed attempts; retryable stays queued, non-retryable leaves the queue", async () => {
      const a = await store.winningTickets.insert(ticket(1n));
      const b = await store.winningTickets.insert(ticket(2n));
      clock.t += 1000;
      expect(
        await store.winningTickets.markFailed(a.hash, "insufficient sender funds for redeem tx cost", true),
      ).toBe(true);
      expect(await store.winningTickets.markFailed(a.hash, "gas too high", true)).toBe(true);
      expect(await store.winningTickets.get(a.hash)).toMatchObject({
        status: "pending",
        attempts: 2,
        lastError: "gas too high",
        updatedAt: T0 + 1000,
      });
      expect(await store.winningTickets.markFailed(b.hash, "ticket already used", false)).toBe(true);
      expect(await store.winningTickets.get(b.hash)).toMatchObject({ status: "failed", attempts: 1 });
      expect(await store.winningTickets.markFailed(b.hash, "again", true)).toBe(false);
      const redeemable = await store.winningTickets.listRedeemable({ block: 1000n, minRound: 0n });
      expect(redeemable.map((x) => x.hash)).toEqual([a.hash]);
      expect((await store.winningTickets.list({ status: "failed" })).map((x) => x.hash)).toEqual([b.hash]);
      // A failed ticket found redeemed later (e.g. the tx landed before a crash) can still be marked.
      expect(await store.winningTickets.markRedeemed(b.hash, FOO_HASH)).toBe(true);
      await expectCode(store.winningTickets.markFailed(FOO_HASH, "x", true), "TICKET_NOT_FOUND");
      await expectCode(store.winningTickets.markRedeemed(FOO_HASH, FOO_HASH), "TICKET_NOT_FOUND");
    });

    it("sums pending face values per sender exactly", async () => {
      expect(await store.winningTickets.pendingFaceValue(SENDER)).toBe(0n);
      const big = MAX_UINT256 / 2n;
      await store.winningTickets.insert(ticket(1n, { faceValue: big }));
      const t2 = await store.winningTickets.insert(ticket(2n, { faceValue: big + 1n }));
      const t3 = await store.winningTickets.insert(ticket(3n, { faceValue: 7n }));
      await store.winningTickets.insert(ticket(4n, { faceValue: 100n, sender: OTHER_SENDER }));
      expect(await store.winningTickets.pendingFaceValue(SENDER_MIXED)).toBe(2n * big + 8n);
      await store.winningTickets.markRedeemed(t2.hash, FOO_HASH);
      await store.winningTickets.markFailed(t3.hash, "bad", false);
      expect(await store.winningTickets.pendingFaceValue(SENDER)).toBe(big);
      expect(await store.winningTickets.pendingFaceValue(OTHER_SENDER)).toBe(100n);
    });

    it("rejects malformed tickets and stores nothing", async () => {
      await expectCode(store.winningTickets.insert(ticket(1n, { faceValue: -1n })), "STORE_INVALID_INPUT");
      await expectCode(
        store.winningTickets.insert(ticket(1n, { faceValue: MAX_UINT256 + 1n })),
        "STORE_INVALID_INPUT",
      );
      await expectCode(
        store.winningTickets.insert(ticket(1n, { sig: "0xabc" as Hex })),
        "STORE_INVALID_INPUT",
      );
      await expectCode(
        store.winningTickets.insert(ticket(1n, { recipientRandHash: "0x12" })),
        "STORE_INVALID_INPUT",
      );
      await expectCode(store.winningTickets.insert(ticket(1n, { recipient: "0x00" })), "STORE_INVALID_INPUT");
      expect(await store.winningTickets.list()).toEqual([]);
    });
  });

  describe("sender nonces", () => {
    const RAND = MAX_UINT256 - 99n;

    it("records once, refuses replays and more than the cap, and keeps refusing after a restart", async () => {
      expect(await store.senderNonces.record(RAND, 1n, 1040n, 3)).toBe("recorded");
      expect(await store.senderNonces.record(RAND, 1n, 1040n, 3)).toBe("duplicate");
      expect(await store.senderNonces.record(RAND, 7n, 1040n, 3)).toBe("recorded");
      expect(await store.senderNonces.record(RAND, 3n, 1040n, 3)).toBe("recorded");
      expect(await store.senderNonces.record(RAND, 4n, 1040n, 3)).toBe("too_many");
      expect(await store.senderNonces.record(RAND, 3n, 1040n, 3)).toBe("duplicate");
      expect(await store.senderNonces.record(5n, 1n, 1050n)).toBe("recorded");
      expect(await store.senderNonces.has(RAND, 4n)).toBe(false);

      await store.close();
      const reopened = await db.open();
      expect(await reopened.senderNonces.record(RAND, 7n, 1040n)).toBe("duplicate");
      expect(await reopened.senderNonces.has(RAND, 1n)).toBe(true);
      const entries = await reopened.senderNonces.entries();
      expect(entries).toEqual(
        expect.arrayContaining([
          { recipientRand: RAND, expirationBlock: 1040n, nonces: [1n, 3n, 7n] },
          { recipientRand: 5n, expirationBlock: 1050n, nonces: [1n] },
        ]),
      );
      expect(entries).toHaveLength(2);
    });

    it("cleans up entries whose params expired", async () => {
      await store.senderNonces.record(1n, 1n, 100n);
      await store.senderNonces.record(1n, 2n, 100n);
      await store.senderNonces.record(2n, 1n, 101n);
      expect(await store.senderNonces.cleanup(99n)).toBe(0);
      expect(await store.senderNonces.cleanup(100n)).toBe(2);
      expect(await store.senderNonces.has(1n, 1n)).toBe(false);
      expect(await store.senderNonces.has(2n, 1n)).toBe(true);
      // A forgotten rand can be recorded again (its params expired, so the ticket would be refused anyway).
      expect(await store.senderNonces.record(1n, 1n, 100n)).toBe("recorded");
    });

    it("rejects bad input", async () => {
      await expectCode(store.senderNonces.record(-1n, 1n, 1n), "STORE_INVALID_INPUT");
      await expectCode(store.senderNonces.record(1n, 1n, 1n, 0), "STORE_INVALID_INPUT");
      await expectCode(store.senderNonces.cleanup(-5n), "STORE_INVALID_INPUT");
    });
  });
});
