import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../errors.js";
import { Rational, maxRational } from "../../money/rational.js";
import { Balances, balanceKey, type BalanceUpdateStatus } from "./balances.js";
import { BalanceUpdateError } from "./errors.js";
import { ticketsToStage } from "./ticketsToStage.js";

const r = (n: bigint, d = 1n) => Rational.of(n, d);
const rational = (min = -10_000n, max = 10_000n) =>
  fc.tuple(fc.bigInt(min, max), fc.bigInt(1n, 1000n)).map(([n, d]) => Rational.of(n, d));
const positive = fc.tuple(fc.bigInt(1n, 10_000n), fc.bigInt(1n, 1000n)).map(([n, d]) => Rational.of(n, d));

// core/accounting_test.go TestBalance_StageUpdate: (existing, minCredit, ev) -> (numTickets, newCredit).
const VECTORS: [Rational, Rational, Rational | undefined, number, Rational][] = [
  [r(2n), r(1n), undefined, 0, r(0n)],
  [r(2n), r(2n), undefined, 0, r(0n)],
  [r(1n), r(5n), r(1n), 4, r(4n)],
  [r(1n, 4n), r(2n), r(1n), 2, r(2n)],
  [r(-5n), r(2n), r(1n), 7, r(7n)],
  [r(0n), r(2n), r(1n), 2, r(2n)],
];

describe("ticketsToStage / Balance.stageUpdate (spec §3.4, §8.1 TestBalance_StageUpdate)", () => {
  it("matches every go-livepeer vector", () => {
    for (const [existing, minCredit, ev, n, credit] of VECTORS) {
      const out = ticketsToStage(existing, minCredit, ev);
      expect(out.numTickets).toBe(n);
      expect(out.newCredit.eq(credit)).toBe(true);
    }
  });

  it("matches every vector through a Balance, leaving the staged balance at 0", () => {
    for (const [existing, minCredit, ev, n, credit] of VECTORS) {
      const balances = new Balances();
      const bal = balances.balance("k");
      bal.credit(existing);
      // minCredit = max(fee, ev): with ev <= minCredit in every vector, fee = minCredit gives it.
      const u = bal.stageUpdate(minCredit, ev ?? Rational.ZERO);
      expect(u.numTickets).toBe(n);
      expect(u.newCredit.eq(credit)).toBe(true);
      expect(u.existing.eq(existing)).toBe(true);
      expect(u.minCredit.eq(minCredit)).toBe(true);
      expect(bal.amount()!.eq(0n)).toBe(true);
    }
  });

  it("pays at least one ticket's EV even when the fee is smaller", () => {
    const u = new Balances().balance("k").stageUpdate(1n, r(10n));
    expect(u.minCredit.eq(10n)).toBe(true);
    expect(u.numTickets).toBe(1);
  });

  it("ev 0 (free params) stages no tickets", () => {
    const u = new Balances().balance("k").stageUpdate(100n, Rational.ZERO);
    expect(u.numTickets).toBe(0);
    expect(u.newCredit.eq(0n)).toBe(true);
  });

  it("rejects bad input without touching the balance", () => {
    const balances = new Balances();
    const bal = balances.balance("k");
    bal.credit(5n);
    expect(() => bal.stageUpdate(-1n, r(1n))).toThrow(InvalidInputError);
    expect(() => bal.stageUpdate(100n, r(-1n))).toThrow(InvalidInputError);
    expect(() => bal.stageUpdate(10n ** 30n, r(1n, 10n ** 10n))).toThrow(InvalidInputError);
    expect(() => bal.stageUpdate(1.5 as unknown as bigint, r(1n))).toThrow(InvalidInputError);
    expect(bal.amount()!.eq(5n)).toBe(true);
  });

  it("property: never pays less than max(fee, ev) and stages the fewest tickets", () => {
    fc.assert(
      fc.property(rational(), rational(0n), positive, (existing, fee, ev) => {
        const balances = new Balances();
        balances.credit("k", existing);
        const u = balances.stageUpdate("k", fee, ev);
        const minCredit = maxRational(fee, ev);
        if (existing.gte(minCredit)) {
          expect(u.numTickets).toBe(0);
        } else {
          expect(u.newCredit.eq(ev.mul(BigInt(u.numTickets)))).toBe(true);
          expect(u.newCredit.add(existing).gte(minCredit)).toBe(true);
          expect(u.numTickets).toBeGreaterThan(0);
          expect(
            ev
              .mul(BigInt(u.numTickets - 1))
              .add(existing)
              .lt(minCredit),
          ).toBe(true);
        }
        expect(balances.amount("k")!.eq(0n)).toBe(true);
      }),
    );
  });
});

describe("Balances.completeUpdate (go-livepeer completeBalanceUpdate)", () => {
  it("staged: credits back the reserved amount", () => {
    const b = new Balances().balance("k");
    b.credit(r(7n, 2n));
    const u = b.stageUpdate(10n, r(1n));
    b.completeUpdate(u, "staged");
    expect(b.amount()!.eq(r(7n, 2n))).toBe(true);
  });

  it("creditSpent: the reserved credit is gone", () => {
    const b = new Balances().balance("k");
    b.credit(3n);
    const u = b.stageUpdate(10n, r(1n));
    b.completeUpdate(u, "creditSpent", 1000n);
    expect(b.amount()!.eq(0n)).toBe(true);
  });

  it("receivedChange: existing + newCredit - debit, possibly negative", () => {
    const b = new Balances().balance("k");
    b.credit(1n);
    const u = b.stageUpdate(5n, r(1n));
    expect(u.numTickets).toBe(4);
    b.completeUpdate(u, "receivedChange", r(9n, 2n));
    expect(b.amount()!.eq(r(1n, 2n))).toBe(true);
    const u2 = b.stageUpdate(0n, r(1n));
    b.completeUpdate(u2, "receivedChange", 10n);
    expect(b.amount()!.eq(r(-17n, 2n))).toBe(true);
  });

  it("adds to credit that arrived while the update was in flight", () => {
    const b = new Balances().balance("k");
    b.credit(2n);
    const u = b.stageUpdate(5n, r(1n));
    b.credit(100n);
    b.completeUpdate(u, "staged");
    expect(b.amount()!.eq(102n)).toBe(true);
  });

  it("an update completes once, on its own balance", () => {
    const balances = new Balances();
    const b = balances.balance("k");
    b.credit(2n);
    const u = b.stageUpdate(5n, r(1n));
    expect(() => balances.balance("other").completeUpdate(u, "staged")).toThrow(BalanceUpdateError);
    expect(() => b.completeUpdate(u, "bogus" as BalanceUpdateStatus)).toThrow(InvalidInputError);
    b.completeUpdate(u, "staged");
    expect(() => b.completeUpdate(u, "staged")).toThrow(BalanceUpdateError);
    expect(() => b.completeUpdate({ ...u }, "staged")).toThrow(BalanceUpdateError);
    expect(b.amount()!.eq(2n)).toBe(true);
  });

  it("property: conservation over random stage/complete/credit/debit sequences", () => {
    type Op =
      | { kind: "credit" | "debit"; amount: Rational }
      | { kind: "stage"; fee: Rational; ev: Rational }
      | { kind: "complete"; index: number; status: BalanceUpdateStatus; debit: Rational };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constantFrom("credit" as const, "debit" as const), amount: rational(0n) }),
      fc.record({ kind: fc.constant("stage" as const), fee: rational(0n), ev: positive }),
      fc.record({
        kind: fc.constant("complete" as const),
        index: fc.nat(),
        status: fc.constantFrom<BalanceUpdateStatus>("staged", "creditSpent", "receivedChange"),
        debit: rational(0n),
      }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
        const balances = new Balances();
        const b = balances.balance("k");
        let model = Rational.ZERO;
        const open: ReturnType<typeof b.stageUpdate>[] = [];
        for (const o of ops) {
          if (o.kind === "credit") {
            b.credit(o.amount);
            model = model.add(o.amount);
          } else if (o.kind === "debit") {
            b.debit(o.amount);
            model = model.sub(o.amount);
          } else if (o.kind === "stage") {
            const u = b.stageUpdate(o.fee, o.ev);
            expect(u.existing.eq(model)).toBe(true);
            model = Rational.ZERO;
            open.push(u);
          } else if (o.kind === "complete" && open.length > 0) {
            const [u] = open.splice(o.index % open.length, 1);
            b.completeUpdate(u!, o.status, o.debit);
            if (o.status === "staged") model = model.add(u!.existing);
            if (o.status === "receivedChange") model = model.add(u!.existing).add(u!.newCredit).sub(o.debit);
          }
          expect((b.amount() ?? Rational.ZERO).eq(model)).toBe(true);
        }
      }),
    );
  });
});

describe("Balances map", () => {
  it("keys by lowercase recipient and session id", () => {
    expect(balanceKey("0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "sess")).toBe(
      "0x70997970c51812dc3a010c7d01b50e0d17dc79c8/sess",
    );
    expect(() => balanceKey("0x12", "sess")).toThrow(InvalidInputError);
  });

  it("never expires by itself; sweep and remove are explicit and skip open updates", () => {
    let now = 0;
    const balances = new Balances({ now: () => now });
    balances.credit("a", 1n);
    now = 1000;
    balances.credit("b", 2n);
    balances.credit("c", 3n);
    const open = balances.stageUpdate("c", 10n, r(1n));
    now = 10 ** 12; // idle for decades: still there
    expect(balances.size).toBe(3);
    expect(balances.lastUpdated("a")).toBe(0);
    expect(balances.sweep(500)).toEqual(["a"]);
    expect(balances.sweep(now)).toEqual(["b"]);
    expect([...balances.keys()]).toEqual(["c"]);
    balances.completeUpdate(open, "staged");
    expect(balances.sweep(now)).toEqual([]); // completion touched it at `now`
    expect(balances.sweep(now + 1)).toEqual(["c"]);
    balances.credit("d", 1n);
    expect(balances.remove("d")).toBe(true);
    expect(balances.remove("d")).toBe(false);
    expect(balances.has("d")).toBe(false);
    expect(balances.amount("d")).toBeUndefined();
  });

  it("a handle keeps working after its entry is removed", () => {
    const balances = new Balances();
    const b = balances.balance("k");
    b.credit(5n);
    const u = b.stageUpdate(10n, r(1n));
    balances.remove("k");
    b.completeUpdate(u, "staged");
    expect(b.amount()!.eq(5n)).toBe(true);
    expect(b.reserve().eq(5n)).toBe(true);
    b.debit(1n);
    expect(b.amount()!.eq(-1n)).toBe(true);
  });
});
