// Invariant walk for PersistentTicketBroker on a real anvil: seeded random sequences of funding,
// signing and claiming vouchers (single and batch, valid, replayed, forged, stale, over the cap),
// delegating and revoking, unlock/cancel/withdraw, new rounds and active-set changes, for three
// payers and three payees. Every call's outcome is predicted by the TypeScript model
// (persistent/model.ts) and after every step the invariants of DESIGN.md are checked:
//   - ETH held by the broker == funded - paid - withdrawn (== the sum of deposits and reserves);
//   - per ticket, claimed <= the highest cumulative signed for it;
//   - a session key's claims <= its cap;
//   - no voucher replay (a claimed voucher never pays twice: model and chain agree on every ticket);
//   - a payee that claims before the deadline while active gets >= min(owed, claimable reserve),
//     the claimable reserve being computed in TypeScript before the claim.
// Seeds: LIVEPAY_PTB_SEEDS="1,2,3" (default), steps per seed: LIVEPAY_PTB_STEPS (default 120).
import { createPublicClient, http, type Address, type Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PersistentTicketBrokerAbi } from "../src/generated/PersistentTicketBroker.js";
import { mineBlocks } from "../src/persistentGas.js";
import {
  ETHER,
  Harness,
  MAX_UINT64,
  ZERO_ADDRESS,
  bytes32,
  keyFromSeed,
  type VoucherClaim,
} from "./persistent/harness.js";
import { Model, REVERT_STRING, Status, type ClaimEntry, type VoucherMeta } from "./persistent/model.js";

const SEEDS = (process.env.LIVEPAY_PTB_SEEDS ?? "1,2,3").split(",").map((s) => Number(s.trim()));
const STEPS = Number(process.env.LIVEPAY_PTB_STEPS ?? 120);
const ROUND_LENGTH = 12n;
const UNLOCK_PERIOD = 2n;
const HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

/** mulberry32: a small, seedable PRNG. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    big: (lo: bigint, hi: bigint) => lo + BigInt(Math.floor(next() * Number(hi - lo + 1n))),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
    chance: (p: number) => next() < p,
  };
}

interface Signed {
  meta: VoucherMeta;
  claim: VoucherClaim;
}

let h: Harness;
let base: Hex;

beforeAll(async () => {
  h = await Harness.start({
    roundLength: ROUND_LENGTH,
    poolMaxSize: 3n,
    unlockPeriod: UNLOCK_PERIOD,
    accounts: 10,
  });
  base = await h.snapshot();
});
afterAll(async () => {
  await h?.stop();
});

describe("PersistentTicketBroker invariants (model-based random walk)", () => {
  for (const seed of SEEDS) {
    it(`holds for seed ${seed} over ${STEPS} steps`, { timeout: 120_000 }, async () => {
      await h.revertTo(base);
      base = await h.snapshot();
      await walk(seed);
    });
  }
});

async function walk(seed: number) {
  const r = rng(seed);
  const model = { m: new Model(UNLOCK_PERIOD) };
  const payers = h.accounts.slice(1, 4);
  const payees = h.accounts.slice(4, 7).map((a) => a.address);
  const orchestrators = [...payees, h.accounts[7]!.address];
  const redeemerAccount = h.accounts[8]!.address;
  const outsider = h.accounts[9]!.address;
  const sessionKeys = new Map(
    payers.map((p, i) => [p.address, [keyFromSeed(100 + 2 * i), keyFromSeed(101 + 2 * i)]]),
  );
  const keyAddress = new Map<string, Hex>(); // address -> private key, for every signer
  for (const p of payers) keyAddress.set(p.address.toLowerCase(), p.privateKey);
  for (const ks of sessionKeys.values()) for (const k of ks) keyAddress.set(k.address.toLowerCase(), k.key);
  const registered = new Map<Address, "active" | "deactivated">();
  const redeemers = new Map<Address, Address>();
  const vouchers: Signed[] = [];
  const lease = new Map<string, Hex>();
  const log: string[] = [];
  const stats = new Map<string, number>();
  const count = (k: string) => stats.set(k, (stats.get(k) ?? 0) + 1);
  const reads = createPublicClient({ transport: http(h.anvil.rpcUrl, { retryCount: 0, batch: true }) });

  const fail = (msg: string): never => {
    throw new Error(`seed ${seed}: ${msg}\nlast steps:\n${log.slice(-15).join("\n")}`);
  };

  /** Makes the latest block and the next transaction share a round. */
  async function alignRound() {
    let block = await h.env.publicClient.getBlockNumber({ cacheTime: 0 });
    if ((block + 1n) % ROUND_LENGTH === 0n) {
      await mineBlocks(h.env, 1n);
      block += 1n;
    }
    return (block + 1n) / ROUND_LENGTH;
  }

  async function registry(payee: Address) {
    return { active: await h.isActive(payee), pool: await h.poolDivisor() };
  }

  async function expectRevert(p: Promise<unknown>, reason: string, what: string) {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    if (!err) fail(`${what}: expected revert "${reason}", it succeeded`);
    if (!err!.message.includes(reason)) fail(`${what}: expected revert "${reason}", got ${err!.message}`);
  }

  // ------------------------------------------------------------------ actions

  async function fund() {
    const payer = r.pick(payers).address;
    const kind = r.int(0, 2);
    const d = kind === 1 ? 0n : r.big(0n, 1500n);
    const res = kind === 0 ? 0n : r.big(0n, 6000n);
    const sender = r.chance(0.8) ? payer : outsider;
    log.push(`fund ${payer.slice(0, 8)} by ${sender.slice(0, 8)} d=${d} r=${res}`);
    if (sender !== payer) await h.send(sender, "fundDepositAndReserveFor", [payer, d, res], d + res);
    else if (kind === 1) await h.send(payer, "fundReserve", [], res);
    else if (kind === 0) await h.send(payer, "fundDeposit", [], d);
    else await h.send(payer, "fundDepositAndReserve", [d, res], d + res);
    model.m.fund(payer, sender, d, res);
  }

  async function sign(count = r.int(1, 3)) {
    for (let i = 0; i < count; i++) {
      const payer = r.pick(payers);
      const payee = r.pick(payees);
      const ticketId = BigInt(r.int(0, 3));
      const current = model.m.payer(payer.address).epoch;
      const epoch = current > 0n && r.chance(0.05) ? current - 1n : current;
      const tk = Model.ticketKey(payer.address, payee, epoch, ticketId);
      // A ticket is leased to one signer (the payer or one of its keys); now and then another signs.
      let signerKey = lease.get(tk);
      if (!signerKey || r.chance(0.1)) {
        signerKey = r.chance(0.4) ? payer.privateKey : r.pick(sessionKeys.get(payer.address)!).key;
        if (!lease.has(tk)) lease.set(tk, signerKey);
      }
      const top = model.m.highest.get(tk) ?? 0n;
      const cumulativeAmount = top > 0n && r.chance(0.1) ? r.big(1n, top) : top + r.big(1n, 900n);
      const context = bytes32(r.big(0n, 2n ** 48n));
      const claim = await h.voucher(signerKey, {
        payer: payer.address,
        payee,
        ticketId,
        epoch,
        cumulativeAmount,
        context,
      });
      const signer = [...keyAddress.entries()].find(([, k]) => k === signerKey)![0] as Address;
      const meta: VoucherMeta = {
        payer: payer.address,
        payee,
        ticketId,
        epoch,
        cumulativeAmount,
        context,
        signer,
      };
      if (cumulativeAmount > top) model.m.highest.set(tk, cumulativeAmount);
      const roll = r.next();
      if (roll < 0.04) {
        meta.tamper = "fields";
        claim.cumulativeAmount += 1n;
        claim.newClaimed += 1n;
      } else if (roll < 0.07) {
        meta.tamper = "highS";
        claim.vs = bytes32(((BigInt(claim.vs) >> 255n) << 255n) | (HALF_ORDER + r.big(1n, 1000n)));
      }
      vouchers.push({ meta, claim });
      log.push(
        `sign ${payer.address.slice(0, 8)}->${payee.slice(0, 8)} t${ticketId} e${epoch} c=${cumulativeAmount} by ${signer.slice(0, 8)} ${meta.tamper ?? ""}`,
      );
    }
  }

  function pickVoucher(payee?: Address): Signed | undefined {
    const pool = payee ? vouchers.filter((v) => v.meta.payee === payee) : vouchers;
    if (pool.length === 0) return undefined;
    // Mostly recent vouchers, sometimes any (old ones are replays).
    return r.chance(0.7) ? pool[Math.max(0, pool.length - 1 - r.int(0, 4))] : r.pick(pool);
  }

  function entryFor(v: Signed): { entry: ClaimEntry; claim: VoucherClaim } {
    const roll = r.next();
    let newClaimed = v.claim.newClaimed;
    if (roll < 0.25) newClaimed = r.big(0n, v.claim.cumulativeAmount);
    else if (roll < 0.3) newClaimed = v.claim.cumulativeAmount + r.big(1n, 10n);
    const claim = { ...v.claim, newClaimed };
    return {
      claim,
      entry: { meta: v.meta, ticketId: claim.ticketId, cumulativeAmount: claim.cumulativeAmount, newClaimed },
    };
  }

  function callerFor(payee: Address): Address {
    const red = redeemers.get(payee);
    return red && r.chance(0.5) ? red : payee;
  }

  async function claimSingle(replay?: { v: Signed; payee: Address; epoch: bigint; newClaimed: bigint }) {
    const v = replay?.v ?? pickVoucher();
    if (!v) return;
    const payee = replay?.payee ?? (r.chance(0.9) ? v.meta.payee : r.pick(payees));
    const payer = v.meta.payer;
    const epoch = replay?.epoch ?? (r.chance(0.9) ? v.meta.epoch : model.m.payer(payer).epoch);
    const { entry, claim } = entryFor(v);
    if (replay) {
      entry.newClaimed = replay.newClaimed;
      claim.newClaimed = replay.newClaimed;
    }
    const round = await alignRound();
    const reg = await registry(payee);
    // The reserve this payee can claim now, computed in TypeScript, must equal the contract's view.
    const reserveTs = model.m.claimableReserve(payer, payee, round, reg);
    const reserveView = await h.read("claimableReserve", [payer, payee]);
    if (reserveTs !== reserveView) fail(`claimableReserve: model ${reserveTs} != view ${reserveView}`);
    const trial = model.m.clone();
    const before = trial.ticket(payer, payee, epoch, entry.ticketId).claimed;
    const depositBefore = trial.payer(payer).deposit;
    const d =
      entry.meta.signer.toLowerCase() === payer.toLowerCase()
        ? undefined
        : trial.delegation(payer, entry.meta.signer);
    const capLeft = d ? d.cap - d.claimed : undefined;
    const [out] = trial.claimGroup(payer, epoch, payee, [entry], round, reg);
    count(
      `single:${out!.status}${out!.status === Status.OK ? (out!.paid === 0n ? ":zero" : out!.fromReserve > 0n ? ":reserve" : out!.paid < out!.requested ? ":partial" : ":full") : ""}`,
    );
    const sender = r.chance(0.03) ? outsider : callerFor(payee);
    const what = `claim ${payer.slice(0, 8)}->${payee.slice(0, 8)} t${entry.ticketId} e${epoch} new=${entry.newClaimed} by ${sender.slice(0, 8)}`;
    log.push(
      `${what} => expect ${out!.status === Status.OK ? `paid ${out!.paid}` : REVERT_STRING[out!.status]}`,
    );
    const tx = () => h.send(sender, "claim", [payee, payer, epoch, claim]);
    if (sender === outsider && outsider !== payee) {
      await expectRevert(tx(), "caller is not the payee or its redeemer", what);
      return;
    }
    if (out!.status !== Status.OK) {
      await expectRevert(tx(), REVERT_STRING[out!.status]!, what);
      return;
    }
    const balanceBefore = await h.balance(payee);
    const receipt = await tx();
    const gas = sender === payee ? receipt.gasUsed * receipt.effectiveGasPrice : 0n;
    const received = (await h.balance(payee)) + gas - balanceBefore;
    const ev = h.events(receipt).find((e) => e.eventName === "VoucherClaimed");
    if (!ev || ev.eventName !== "VoucherClaimed") return fail(`${what}: no VoucherClaimed`);
    if (ev.args.paid !== out!.paid || ev.args.requested !== out!.requested) {
      fail(`${what}: paid ${ev.args.paid}/${ev.args.requested}, model ${out!.paid}/${out!.requested}`);
    }
    if (received !== out!.paid) fail(`${what}: payee received ${received}, paid ${out!.paid}`);
    // The payee guarantee: at least min(owed, claimable reserve) (owed within the key's cap).
    let owed = entry.newClaimed - before;
    if (capLeft !== undefined && capLeft < owed) owed = capLeft;
    const floor = owed < reserveTs ? owed : reserveTs;
    if (out!.paid < floor)
      fail(`${what}: paid ${out!.paid} < min(owed ${owed}, claimable reserve ${reserveTs})`);
    // And the deposit is used first.
    if (out!.fromReserve > 0n && depositBefore > out!.paid - out!.fromReserve)
      fail(`${what}: reserve used before deposit`);
    model.m = trial;
    // Replay the exact claim now and then: it must pay nothing more.
    if (!replay && r.chance(0.25)) await claimSingle({ v, payee, epoch, newClaimed: entry.newClaimed });
  }

  async function claimBatch() {
    const payee = r.pick(payees);
    const n = r.int(1, 6);
    const picked: Signed[] = [];
    for (let i = 0; i < n; i++) {
      const v = r.chance(0.85) ? pickVoucher(payee) : pickVoucher();
      if (v) picked.push(v);
    }
    // Group by payer in random order; sometimes one payer in two groups, sometimes a stale epoch.
    const groups: { payer: Address; epoch: bigint; items: { entry: ClaimEntry; claim: VoucherClaim }[] }[] =
      [];
    for (const v of picked) {
      const g = r.chance(0.8) ? groups.find((x) => x.payer === v.meta.payer) : undefined;
      const e = entryFor(v);
      if (g) g.items.push(e);
      else {
        const cur = model.m.payer(v.meta.payer).epoch;
        groups.push({ payer: v.meta.payer, epoch: r.chance(0.9) ? cur : v.meta.epoch, items: [e] });
      }
    }
    const round = await alignRound();
    const reg = await registry(payee);
    const trial = model.m.clone();
    const expected = groups.flatMap((g) =>
      trial.claimGroup(
        g.payer,
        g.epoch,
        payee,
        g.items.map((i) => i.entry),
        round,
        reg,
      ),
    );
    const total = expected.reduce((s, o) => s + o.paid, 0n);
    for (const o of expected) count(`batch:${o.status}${o.fromReserve > 0n ? ":reserve" : ""}`);
    const sender = callerFor(payee);
    const what = `batch ->${payee.slice(0, 8)} [${groups.map((g) => `${g.payer.slice(0, 6)}e${g.epoch}x${g.items.length}`).join(" ")}]`;
    log.push(
      `${what} => expect ${expected.map((o) => (o.status === Status.OK ? `+${o.paid}` : `!${o.status}`)).join(" ")}`,
    );
    const balanceBefore = await h.balance(payee);
    const receipt = await h.send(sender, "claimBatch", [
      payee,
      groups.map((g) => ({ payer: g.payer, epoch: g.epoch, vouchers: g.items.map((i) => i.claim) })),
    ]);
    const gas = sender === payee ? receipt.gasUsed * receipt.effectiveGasPrice : 0n;
    const received = (await h.balance(payee)) + gas - balanceBefore;
    const got = h
      .events(receipt)
      .filter((e) => e.eventName === "VoucherClaimed" || e.eventName === "VoucherClaimFailed")
      .map((e) =>
        e.eventName === "VoucherClaimed"
          ? `+${e.args.paid}`
          : e.eventName === "VoucherClaimFailed"
            ? `!${e.args.reason}`
            : "",
      );
    const want = expected.map((o) => (o.status === Status.OK ? `+${o.paid}` : `!${o.status}`));
    if (got.join(" ") !== want.join(" ")) fail(`${what}: events ${got.join(" ")} != model ${want.join(" ")}`);
    if (received !== total) fail(`${what}: payee received ${received}, model ${total}`);
    model.m = trial;
  }

  async function delegate() {
    const payer = r.pick(payers).address;
    const key = r.chance(0.05) ? payer : r.pick(sessionKeys.get(payer)!).address;
    const payee = r.chance(0.5) ? ZERO_ADDRESS : r.pick(payees);
    const cap = r.chance(0.1) ? 2n ** 128n - 1n : r.big(100n, 3000n);
    const round = await alignRound();
    const until = r.chance(0.3)
      ? MAX_UINT64
      : r.chance(0.1) && round > 0n
        ? round - 1n
        : round + r.big(0n, 4n);
    const what = `delegate ${payer.slice(0, 8)} key ${key.slice(0, 8)} payee ${payee.slice(0, 8)} cap ${cap} until ${until}`;
    const expected = model.m.clone().registerDelegation(payer, key, payee, cap, until, round);
    log.push(`${what} => ${expected ?? "ok"}`);
    count(`delegate:${expected ?? "ok"}`);
    const tx = h.send(payer, "registerDelegation", [key, payee, cap, until]);
    if (expected) return expectRevert(tx, expected, what);
    await tx;
    model.m.registerDelegation(payer, key, payee, cap, until, round);
  }

  async function revoke() {
    const payer = r.pick(payers).address;
    const key = r.pick(sessionKeys.get(payer)!).address;
    const round = await alignRound();
    const expected = model.m.clone().revokeDelegation(payer, key, round);
    log.push(`revoke ${payer.slice(0, 8)} key ${key.slice(0, 8)} => ${expected ?? "ok"}`);
    const tx = h.send(payer, "revokeDelegation", [key]);
    if (expected) return expectRevert(tx, expected, "revoke");
    await tx;
    model.m.revokeDelegation(payer, key, round);
  }

  async function unlockOrCancel() {
    const payer = r.pick(payers).address;
    const round = await alignRound();
    if (r.chance(0.7)) {
      const expected = model.m.clone().unlock(payer, round);
      log.push(`unlock ${payer.slice(0, 8)} => ${expected ?? "ok"}`);
      const tx = h.send(payer, "unlock", []);
      if (expected) return expectRevert(tx, expected, "unlock");
      await tx;
      model.m.unlock(payer, round);
    } else {
      const expected = model.m.clone().cancelUnlock(payer);
      log.push(`cancelUnlock ${payer.slice(0, 8)} => ${expected ?? "ok"}`);
      const tx = h.send(payer, "cancelUnlock", []);
      if (expected) return expectRevert(tx, expected, "cancelUnlock");
      await tx;
      model.m.cancelUnlock(payer);
    }
  }

  async function withdraw() {
    const unlocking = payers.filter((p) => model.m.payer(p.address).withdrawRound !== 0n);
    const payer = (unlocking.length > 0 && r.chance(0.8) ? r.pick(unlocking) : r.pick(payers)).address;
    const round = await alignRound();
    const expected = model.m.clone().withdraw(payer, round);
    log.push(`withdraw ${payer.slice(0, 8)} => ${expected}`);
    count(`withdraw:${typeof expected === "string" ? expected : "ok"}`);
    const tx = () => h.send(payer, "withdraw", []);
    if (typeof expected === "string") return expectRevert(tx(), expected, "withdraw");
    const before = await h.balance(payer);
    const receipt = await tx();
    const got = (await h.balance(payer)) + receipt.gasUsed * receipt.effectiveGasPrice - before;
    if (got !== expected) fail(`withdraw: got ${got}, model ${expected}`);
    model.m.withdraw(payer, round);
  }

  async function rounds() {
    const blocks = r.big(1n, (ROUND_LENGTH * 3n) / 2n);
    log.push(`mine ${blocks}`);
    await mineBlocks(h.env, blocks);
  }

  async function pool() {
    const o = r.pick(orchestrators);
    const state = registered.get(o);
    if (!state) {
      log.push(`register ${o.slice(0, 8)}`);
      await h.registerOrchestrator(o, r.big(1n, 5n) * ETHER);
      registered.set(o, "active");
    } else if (state === "active") {
      log.push(`deactivate ${o.slice(0, 8)}`);
      await h.deactivateOrchestrator(o);
      registered.set(o, "deactivated");
    } else {
      log.push(`reactivate ${o.slice(0, 8)}`);
      await h.reactivateOrchestrator(o);
      registered.set(o, "active");
    }
  }

  async function redeemer() {
    const payee = r.pick(payees);
    const red = r.chance(0.7) ? redeemerAccount : ZERO_ADDRESS;
    log.push(`setRedeemer ${payee.slice(0, 8)} ${red.slice(0, 8)}`);
    await h.send(payee, "setRedeemer", [red]);
    if (red === ZERO_ADDRESS) redeemers.delete(payee);
    else redeemers.set(payee, red);
  }

  // ------------------------------------------------------------------ invariants

  async function check(step: number) {
    const m = model.m;
    const held = await reads.getBalance({ address: h.broker });
    if (held !== m.funded - m.paid - m.withdrawn) {
      fail(
        `step ${step}: broker holds ${held} != funded ${m.funded} - paid ${m.paid} - withdrawn ${m.withdrawn}`,
      );
    }
    const read = <T>(functionName: string, args: unknown[]) =>
      reads.readContract({
        address: h.broker,
        abi: PersistentTicketBrokerAbi,
        functionName,
        args,
      } as never) as Promise<T>;
    let sum = 0n;
    const payerInfos = await Promise.all(
      payers.map((p) => read<readonly [bigint, bigint, bigint, bigint]>("getPayerInfo", [p.address])),
    );
    payers.forEach((p, i) => {
      const s = m.payer(p.address);
      const got = payerInfos[i]!;
      sum += s.deposit + s.reserve;
      if (got[0] !== s.deposit || got[1] !== s.reserve || got[2] !== s.withdrawRound || got[3] !== s.epoch) {
        fail(
          `step ${step}: payer ${p.address} chain ${got.join(",")} != model ${s.deposit},${s.reserve},${s.withdrawRound},${s.epoch}`,
        );
      }
    });
    if (sum !== held) fail(`step ${step}: deposits + reserves ${sum} != held ${held}`);
    const tickets = [...m.tickets.entries()];
    const claimedOnChain = await Promise.all(
      tickets.map(([k]) => {
        const [payer, payee, epoch, id] = k.split(":");
        return read<bigint>("claimed", [payer, payee, BigInt(epoch!), BigInt(id!)]);
      }),
    );
    tickets.forEach(([k, t], i) => {
      if (claimedOnChain[i] !== t.claimed)
        fail(`step ${step}: ticket ${k} claimed ${claimedOnChain[i]} != model ${t.claimed}`);
      const top = m.highest.get(k) ?? 0n;
      if (t.claimed > top) fail(`step ${step}: ticket ${k} claimed ${t.claimed} > highest signed ${top}`);
    });
    const dels = [...m.delegations.entries()];
    const onChain = await Promise.all(
      dels.map(([k]) => {
        const [payer, key] = k.split(":");
        return read<{ claimed: bigint; cap: bigint; keyId: number }>("getDelegation", [payer, key]);
      }),
    );
    dels.forEach(([k, d], i) => {
      const c = onChain[i]!;
      if (c.claimed !== d.claimed || c.cap !== d.cap || c.keyId !== d.keyId) {
        fail(
          `step ${step}: delegation ${k} chain ${c.claimed}/${c.cap}/${c.keyId} != model ${d.claimed}/${d.cap}/${d.keyId}`,
        );
      }
      if (d.claimed > d.cap) fail(`step ${step}: delegation ${k} claimed ${d.claimed} > cap ${d.cap}`);
    });
  }

  // ------------------------------------------------------------------ the walk

  const actions: [number, () => Promise<unknown>][] = [
    [10, fund],
    [16, () => sign()],
    [16, () => claimSingle()],
    [10, claimBatch],
    [5, delegate],
    [3, revoke],
    [5, unlockOrCancel],
    [5, withdraw],
    [7, rounds],
    [5, pool],
    [1, redeemer],
  ];
  const totalWeight = actions.reduce((s, [w]) => s + w, 0);
  // A start that makes every path reachable quickly.
  for (const o of orchestrators.slice(0, 2)) {
    await h.registerOrchestrator(o);
    registered.set(o, "active");
  }
  for (const p of payers) {
    await h.send(p.address, "fundDepositAndReserve", [800n, 3000n], 3800n);
    model.m.fund(p.address, p.address, 800n, 3000n);
  }
  for (const p of payers) {
    const key = sessionKeys.get(p.address)![0]!.address;
    await h.send(p.address, "registerDelegation", [key, ZERO_ADDRESS, 2000n, MAX_UINT64]);
    model.m.registerDelegation(p.address, key, ZERO_ADDRESS, 2000n, MAX_UINT64, await h.nextTxRound());
  }
  await sign(6);
  for (let step = 0; step < STEPS; step++) {
    let x = r.next() * totalWeight;
    const [, action] = actions.find(([w]) => (x -= w) < 0) ?? actions[0]!;
    await action();
    await check(step);
  }
  if (process.env.LIVEPAY_PTB_STATS) console.log(`seed ${seed}`, Object.fromEntries([...stats].sort()));
  // The walk must have exercised the interesting outcomes, or it proves little.
  expect(model.m.paid).toBeGreaterThan(0n);
  expect(model.m.funded).toBeGreaterThan(model.m.paid);
  expect([...model.m.tickets.values()].some((t) => t.keyId >= 2)).toBe(true);
}
