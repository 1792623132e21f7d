// TicketBroker invariants over a seeded random walk of funding, redemption (single and batch, valid
// and faulty tickets), unlock, cancel, withdraw, fee withdrawal, new rounds and pool changes, with
// several payers and payees. After every step:
//   - ETH held by the broker == funded - paid directly - withdrawn - fees withdrawn
//   - ETH held by the broker == sum(deposits) + sum(reserves) + sum(feesOwed), and every account
//     matches an independent model of spec §7.3/§7.4;
// and on every redemption by an active payee of a locked sender:
//   - the payee receives at least min(faceValue, claimable reserve before the redemption).
// Seed and length: LIVEPAY_INVARIANT_SEED, LIVEPAY_INVARIANT_STEPS.
import { getAddress, type Address, type Hex, type TransactionReceipt } from "viem";
import { afterAll, beforeAll, expect, test } from "vitest";
import { ticketHash } from "@livepay/protocol";
import {
  OrchestratorRegistryAbi,
  RoundsManagerAbi,
  TicketBrokerAbi,
  type LivepayWalletClient,
} from "../src/index.js";
import {
  NEEDS_GAS_CODE,
  balanceOf,
  brokerCall,
  events,
  impersonate,
  makeTicket,
  read,
  redeemCall,
  registryCall,
  send,
  senderInfo,
  setup,
  type Call,
  type Fixture,
  type SignedTicket,
} from "./helpers.js";

const SEED = Number(process.env.LIVEPAY_INVARIANT_SEED ?? 20240611);
const STEPS = Number(process.env.LIVEPAY_INVARIANT_STEPS ?? 200);
// Short rounds: mining is the slow part, and rounds change often (expiry, unlock, per-round claims).
const ROUND_LENGTH = 12n;
const UNLOCK_PERIOD = 2n;
const VALIDITY = 2n;
const ETH = 10n ** 18n;

let fx: Fixture;
const PAYERS = [1, 2, 3];
const ORCHS = [4, 5, 6, 7]; // pool max size 3: one of them is usually outside the pool
const RELAYER = 8;
const CONTRACT_PAYEE = getAddress("0x00000000000000000000000000000000000fee77");
let contractWallet: LivepayWalletClient;

beforeAll(async () => {
  fx = await setup({
    roundLength: ROUND_LENGTH,
    unlockPeriod: UNLOCK_PERIOD,
    ticketValidityPeriod: VALIDITY,
    poolMaxSize: 3n,
  });
  for (const [k, i] of ORCHS.entries())
    await send(fx, i, registryCall(fx, "register", [`o${i}`], BigInt(k + 1) * ETH));
  // A contract payee that cannot take ETH within the call stipend: its payouts go to feesOwed.
  contractWallet = await impersonate(fx, CONTRACT_PAYEE);
  const hash = await contractWallet.writeContract({
    address: fx.addrs.orchestratorRegistry,
    abi: OrchestratorRegistryAbi,
    functionName: "register",
    args: ["contract"],
    value: 2n * ETH,
    gas: 500_000n,
  } as never);
  expect((await fx.publicClient.waitForTransactionReceipt({ hash })).status).toBe("success");
  await fx.test.setCode({ address: CONTRACT_PAYEE, bytecode: NEEDS_GAS_CODE });
});
afterAll(async () => {
  await fx?.stop();
});

/** xorshift32: small, seeded, reproducible. */
function prng(seed: number) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
  return {
    int: (n: number) => next() % n,
    pick: <T>(xs: readonly T[]): T => xs[next() % xs.length]!,
    chance: (p: number) => next() / 2 ** 32 < p,
    wei: (max: bigint) => (BigInt(next()) * max) / 2n ** 32n,
  };
}

interface PayerModel {
  deposit: bigint;
  reserve: bigint;
  withdrawRound: bigint;
}

test(`random walk of ${STEPS} steps keeps the books (seed ${SEED})`, { timeout: 120_000 }, async () => {
  const r = prng(SEED);
  const addr = (i: number) => fx.accounts[i]!.address;
  const payees: Address[] = [...ORCHS.map(addr), CONTRACT_PAYEE];
  const model = new Map<Address, PayerModel>(
    PAYERS.map((i) => [addr(i), { deposit: 0n, reserve: 0n, withdrawRound: 0n }]),
  );
  const claimedForRound = new Map<string, bigint>();
  const claimedByAddress = new Map<string, bigint>();
  const feesOwed = new Map<Address, bigint>();
  const used = new Set<Hex>();
  const stash: SignedTicket[] = []; // tickets kept to replay later (used or expired)
  let funded = 0n;
  let paidDirect = 0n;
  let withdrawn = 0n;
  let feesWithdrawn = 0n;
  let round = 0n;
  let roundHash: Hex = "0x";
  const counts: Record<string, number> = {};
  let minGuaranteeChecks = 0;

  const newRound = async () => {
    const latest = await fx.publicClient.getBlockNumber({ cacheTime: 0 });
    const next = (latest / ROUND_LENGTH + 1n) * ROUND_LENGTH;
    if (next - 1n - latest > 0n) await fx.test.mine({ blocks: Number(next - 1n - latest) });
    await send(fx, 0, {
      address: fx.addrs.roundsManager,
      abi: RoundsManagerAbi,
      functionName: "initializeRound",
    });
    round = next / ROUND_LENGTH;
    roundHash = await read<Hex>(fx, fx.addrs.roundsManager, RoundsManagerAbi, "blockHashForRound", [round]);
  };
  await newRound();

  /** Sends without throwing; returns the receipt (success or reverted). */
  const trySend = async (from: number | "contract", call: Call): Promise<TransactionReceipt> => {
    const wallet = from === "contract" ? contractWallet : fx.wallets[from]!;
    const hash = await wallet.writeContract({ ...call, args: call.args ?? [], gas: 3_000_000n } as never);
    return fx.publicClient.waitForTransactionReceipt({ hash });
  };
  const gasCost = (rc: TransactionReceipt) => rc.gasUsed * rc.effectiveGasPrice;
  const isActive = (a: Address) =>
    read<boolean>(fx, fx.addrs.orchestratorRegistry, OrchestratorRegistryAbi, "isActiveTranscoder", [a]);
  const poolSize = () =>
    read<bigint>(fx, fx.addrs.orchestratorRegistry, OrchestratorRegistryAbi, "getTranscoderPoolSize");
  const key2 = (p: Address, rd: bigint) => `${p}:${rd}`;
  const key3 = (p: Address, rd: bigint, c: Address) => `${p}:${rd}:${c}`;

  /** Model of claimableReserve (spec §7.4, capped at the funds left). */
  const modelClaimable = async (payer: Address, payee: Address): Promise<bigint> => {
    if (!(await isActive(payee))) return 0n;
    const size = await poolSize();
    if (size === 0n) return 0n;
    const m = model.get(payer)!;
    const share = (m.reserve + (claimedForRound.get(key2(payer, round)) ?? 0n)) / size;
    const claimed = claimedByAddress.get(key3(payer, round, payee)) ?? 0n;
    const c = share > claimed ? share - claimed : 0n;
    return c < m.reserve ? c : m.reserve;
  };

  /** Expected outcome of redeeming `t` now: undefined = fails validation, else the amount paid. */
  const expectedRedeem = async (
    t: SignedTicket & { valid: boolean; hash: Hex },
  ): Promise<bigint | undefined> => {
    const m = model.get(t.struct.sender)!;
    const hashUsed = used.has(t.hash);
    const expired = t.ticket.creationRound + VALIDITY <= round;
    if (!t.valid || hashUsed || expired) return undefined;
    if (m.withdrawRound !== 0n && round >= m.withdrawRound) return undefined;
    if (m.deposit === 0n && m.reserve === 0n) return undefined;
    const fv = t.ticket.faceValue;
    if (fv <= m.deposit) return fv;
    const claimable = await modelClaimable(t.struct.sender, t.struct.recipient);
    const want = fv - m.deposit;
    return m.deposit + (want < claimable ? want : claimable);
  };

  /** Applies a successful redemption of `amount` to the model. */
  const applyRedeem = (t: SignedTicket & { hash: Hex }, amount: bigint) => {
    const m = model.get(t.struct.sender)!;
    used.add(t.hash);
    const fv = t.ticket.faceValue;
    if (fv <= m.deposit) {
      m.deposit -= fv;
    } else {
      const claim = amount - m.deposit;
      m.deposit = 0n;
      m.reserve -= claim;
      if (claim > 0n) {
        claimedForRound.set(
          key2(t.struct.sender, round),
          (claimedForRound.get(key2(t.struct.sender, round)) ?? 0n) + claim,
        );
        const k = key3(t.struct.sender, round, t.struct.recipient);
        claimedByAddress.set(k, (claimedByAddress.get(k) ?? 0n) + claim);
      }
    }
    if (amount > 0n) {
      if (t.struct.recipient === CONTRACT_PAYEE)
        feesOwed.set(CONTRACT_PAYEE, (feesOwed.get(CONTRACT_PAYEE) ?? 0n) + amount);
      else paidDirect += amount;
    }
  };

  /** A new ticket, valid or with one fault, or an old one from the stash. */
  const drawTicket = async (): Promise<SignedTicket & { valid: boolean; hash: Hex }> => {
    if (stash.length > 0 && r.chance(0.1)) {
      const old = r.pick(stash);
      return { ...old, valid: true, hash: ticketHash(old.ticket) }; // used or maybe expired: the model decides
    }
    const payerIdx = r.pick(PAYERS);
    const payee = r.pick(payees);
    const m = model.get(addr(payerIdx))!;
    // Face values around the deposit so that reserve claims happen often.
    const faceValue = r.chance(0.5) ? r.wei(m.deposit + 1n) + 1n : r.wei(m.deposit + m.reserve + ETH) + 1n;
    const fault = r.chance(0.15) ? r.int(3) : -1;
    const t = await makeTicket(fx, payerIdx, payee, {
      faceValue,
      creationRound: round,
      creationRoundBlockHash: roundHash,
      winProb: fault === 0 ? 0n : undefined,
      signerKey: fault === 1 ? fx.accounts[RELAYER]!.privateKey : undefined,
    });
    // Checksummed addresses: the model's keys.
    t.struct = {
      ...t.struct,
      sender: getAddress(t.struct.sender),
      recipient: getAddress(t.struct.recipient),
    };
    const signed = fault === 2 ? { ...t, rand: t.rand + 1n } : t;
    if (fault === -1 && r.chance(0.3)) stash.push(signed);
    return { ...signed, valid: fault === -1, hash: ticketHash(t.ticket) };
  };

  const checkBooks = async (ctx: string) => {
    const [held, infos, owedAll] = await Promise.all([
      balanceOf(fx, fx.addrs.ticketBroker),
      Promise.all([...model.keys()].map((p) => senderInfo(fx, p))),
      Promise.all(
        payees.map((p) => read<bigint>(fx, fx.addrs.ticketBroker, TicketBrokerAbi, "feesOwed", [p])),
      ),
    ]);
    expect(held, `${ctx}: held == funded - paid - withdrawn - feesWithdrawn`).toBe(
      funded - paidDirect - withdrawn - feesWithdrawn,
    );
    let sum = 0n;
    for (const [k, [payer, m]] of [...model].entries()) {
      const onChain = infos[k]!;
      expect(
        { deposit: onChain.deposit, reserve: onChain.reserve, withdrawRound: onChain.withdrawRound },
        `${ctx}: ${payer}`,
      ).toEqual(m);
      sum += m.deposit + m.reserve;
    }
    for (const [k, p] of payees.entries()) {
      expect(owedAll[k], `${ctx}: feesOwed ${p}`).toBe(feesOwed.get(p) ?? 0n);
      sum += owedAll[k]!;
    }
    expect(held, `${ctx}: held == deposits + reserves + feesOwed`).toBe(sum);
  };

  for (let step = 0; step < STEPS; step++) {
    // Keep away from natural round boundaries: rounds change only in "new round" steps.
    const latest = await fx.publicClient.getBlockNumber({ cacheTime: 0 });
    if ((latest + 1n) % ROUND_LENGTH > ROUND_LENGTH - 4n) await newRound();

    const roll = r.int(100);
    let kind: string;
    if (roll < 18) {
      kind = "fund";
      const i = r.pick(PAYERS);
      const p = addr(i);
      const m = model.get(p)!;
      const d = r.chance(0.8) ? r.wei(ETH) : 0n;
      const res = r.chance(0.6) ? r.wei(ETH) : 0n;
      const variant = r.int(4);
      let rc: TransactionReceipt;
      if (variant === 0) rc = await send(fx, i, brokerCall(fx, "fundDeposit", [], d));
      else if (variant === 1) rc = await send(fx, i, brokerCall(fx, "fundReserve", [], res));
      else if (variant === 2)
        rc = await send(fx, i, brokerCall(fx, "fundDepositAndReserve", [d, res], d + res));
      else {
        const funder = r.pick([...PAYERS, RELAYER]);
        rc = await send(fx, funder, brokerCall(fx, "fundDepositAndReserveFor", [p, d, res], d + res));
        if (funder !== i) {
          m.deposit += d;
          m.reserve += res;
          funded += d + res;
          kind = "fundFor";
          counts[kind] = (counts[kind] ?? 0) + 1;
          await checkBooks(`step ${step} ${kind}`);
          void rc;
          continue;
        }
      }
      const dd = variant === 1 ? 0n : d;
      const rr = variant === 0 ? 0n : res;
      m.deposit += dd;
      m.reserve += rr;
      funded += dd + rr;
      if (m.withdrawRound !== 0n) m.withdrawRound = 0n; // the sender funding itself cancels its unlock
      void rc;
    } else if (roll < 50) {
      kind = "redeem";
      const t = await drawTicket();
      // Half the time the payee submits its own ticket (when it is an account we hold), else a relayer.
      const payeeIdx = fx.accounts.findIndex((a) => a.address === t.struct.recipient);
      const submitter = payeeIdx >= 0 && r.chance(0.5) ? payeeIdx : RELAYER;
      const expected = await expectedRedeem(t);
      const [payeeActive, claimableBefore, payeeBefore] = await Promise.all([
        isActive(t.struct.recipient),
        read<bigint>(fx, fx.addrs.ticketBroker, TicketBrokerAbi, "claimableReserve", [
          t.struct.sender,
          t.struct.recipient,
        ]),
        balanceOf(fx, t.struct.recipient),
      ]);
      const rc = await trySend(submitter, redeemCall(fx, t));
      const ctx = `step ${step} redeem (seed ${SEED})`;
      if (expected === undefined) {
        expect(rc.status, ctx).toBe("reverted");
        kind = "redeem-rejected";
      } else {
        expect(rc.status, ctx).toBe("success");
        const transfer = events(rc).find((e) => e.eventName === "WinningTicketTransfer");
        const amount = (transfer?.args.amount as bigint | undefined) ?? 0n;
        expect(amount, ctx).toBe(expected);
        if (payeeActive) {
          const floor = t.ticket.faceValue < claimableBefore ? t.ticket.faceValue : claimableBefore;
          expect(amount >= floor, `${ctx}: paid ${amount} < min(faceValue, claimable) ${floor}`).toBe(true);
          minGuaranteeChecks++;
        }
        if (t.struct.recipient !== CONTRACT_PAYEE) {
          const spent = fx.accounts[submitter]!.address === t.struct.recipient ? gasCost(rc) : 0n;
          expect(await balanceOf(fx, t.struct.recipient), `${ctx}: payee balance`).toBe(
            payeeBefore + amount - spent,
          );
        }
        applyRedeem(t, amount);
      }
    } else if (roll < 58) {
      kind = "batch";
      const ts = [];
      for (let k = 0, n = 2 + r.int(3); k < n; k++) ts.push(await drawTicket());
      // the model processes them in order, exactly as the contract does
      const outcomes: (bigint | undefined)[] = [];
      const rc = await trySend(
        RELAYER,
        brokerCall(fx, "batchRedeemWinningTickets", [
          ts.map((t) => t.struct),
          ts.map((t) => t.sig),
          ts.map((t) => t.rand),
        ]),
      );
      expect(rc.status).toBe("success");
      const evs = events(rc);
      const redeemed = evs.filter((e) => e.eventName === "WinningTicketRedeemed");
      let idx = 0;
      for (const t of ts) {
        const exp = await expectedRedeem(t);
        outcomes.push(exp);
        if (exp !== undefined) {
          expect(redeemed[idx]?.args.senderNonce, `step ${step} batch order`).toBe(t.ticket.senderNonce);
          idx++;
          applyRedeem(t, exp);
        }
      }
      expect(redeemed.length, `step ${step} batch count`).toBe(
        outcomes.filter((o) => o !== undefined).length,
      );
      const transfers = evs.filter((e) => e.eventName === "WinningTicketTransfer").map((e) => e.args.amount);
      expect(transfers, `step ${step} batch amounts`).toEqual(
        outcomes.filter((o): o is bigint => o !== undefined && o > 0n),
      );
    } else if (roll < 66) {
      kind = "unlock";
      const i = r.pick(PAYERS);
      const m = model.get(addr(i))!;
      const ok = (m.deposit > 0n || m.reserve > 0n) && m.withdrawRound === 0n;
      const rc = await trySend(i, brokerCall(fx, "unlock"));
      expect(rc.status, `step ${step} unlock`).toBe(ok ? "success" : "reverted");
      if (ok) m.withdrawRound = round + UNLOCK_PERIOD;
    } else if (roll < 70) {
      kind = "cancelUnlock";
      const i = r.pick(PAYERS);
      const m = model.get(addr(i))!;
      const rc = await trySend(i, brokerCall(fx, "cancelUnlock"));
      expect(rc.status, `step ${step} cancelUnlock`).toBe(m.withdrawRound !== 0n ? "success" : "reverted");
      m.withdrawRound = 0n;
    } else if (roll < 78) {
      kind = "withdraw";
      const i = r.pick(PAYERS);
      const p = addr(i);
      const m = model.get(p)!;
      const ok = (m.deposit > 0n || m.reserve > 0n) && m.withdrawRound !== 0n && round >= m.withdrawRound;
      const before = await balanceOf(fx, p);
      const rc = await trySend(i, brokerCall(fx, "withdraw"));
      expect(rc.status, `step ${step} withdraw`).toBe(ok ? "success" : "reverted");
      if (ok) {
        expect(await balanceOf(fx, p)).toBe(before + m.deposit + m.reserve - gasCost(rc));
        withdrawn += m.deposit + m.reserve;
        m.deposit = 0n;
        m.reserve = 0n;
      }
    } else if (roll < 88) {
      kind = "newRound";
      await newRound();
    } else if (roll < 96) {
      kind = "pool";
      const i = r.pick(ORCHS);
      const op = r.int(4);
      const o = addr(i);
      const active = await read<boolean>(
        fx,
        fx.addrs.orchestratorRegistry,
        OrchestratorRegistryAbi,
        "isRegisteredTranscoder",
        [o],
      );
      if (!active) await send(fx, i, registryCall(fx, "register", ["back"], ETH));
      else if (op === 0) await trySend(i, registryCall(fx, "deactivate"));
      else if (op === 1) await trySend(i, registryCall(fx, "reactivate"));
      else if (op === 2) await send(fx, i, registryCall(fx, "increaseStake", [], r.wei(3n * ETH) + 1n));
      else await trySend(i, registryCall(fx, "unbond", [ETH / 2n]));
    } else {
      kind = "withdrawFees";
      const owed = feesOwed.get(CONTRACT_PAYEE) ?? 0n;
      const rc = await trySend("contract", brokerCall(fx, "withdrawFees"));
      expect(rc.status, `step ${step} withdrawFees`).toBe(owed > 0n ? "success" : "reverted");
      if (owed > 0n) {
        feesWithdrawn += owed;
        feesOwed.set(CONTRACT_PAYEE, 0n);
      }
    }
    counts[kind] = (counts[kind] ?? 0) + 1;
    await checkBooks(`step ${step} ${kind} (seed ${SEED})`);
  }
  // The walk must have exercised the interesting paths, or it proves little.
  for (const k of ["fund", "redeem", "redeem-rejected", "batch", "unlock", "withdraw", "newRound", "pool"]) {
    expect(counts[k] ?? 0, `${k} never happened: ${JSON.stringify(counts)}`).toBeGreaterThan(0);
  }
  expect(minGuaranteeChecks).toBeGreaterThan(10);
  expect(paidDirect).toBeGreaterThan(0n);
  expect(claimedForRound.size).toBeGreaterThan(0);
  console.log(
    `invariant walk (seed ${SEED}): ${JSON.stringify(counts)}; min-guarantee checks ${minGuaranteeChecks}`,
  );
});
