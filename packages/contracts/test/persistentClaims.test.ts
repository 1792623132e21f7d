// PersistentTicketBroker claims on a real anvil: single claims, rejected vouchers (forged, replayed,
// cross-chain, cross-broker, cross-payee, cross-ticket, old epoch), the redemption deadline, the
// reserve allocation, delegations (cap, payee, validity, revocation, one signer per ticket) and batches.
import { getAddress, hashTypedData, parseSignature, serializeSignature, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PersistentTicketBrokerBytecode } from "../src/generated/PersistentTicketBroker.js";
import { PERSISTENT_DELEGATION_TYPES, persistentDomain, sendRaw } from "../src/persistentGas.js";
import {
  ETHER,
  Harness,
  MAX_UINT64,
  ZERO_ADDRESS,
  abi,
  bytes32,
  keyFromSeed,
  netOf,
  paidTo,
  type VoucherClaim,
  type VoucherInput,
} from "./persistent/harness.js";

let h: Harness;
let snap: Hex;
let payerKey: Hex;
let payer: Address;
let payee: Address;
let redeemer: Address;
let payee2: Address;
let payer2Key: Hex;
let payer2: Address;

beforeAll(async () => {
  h = await Harness.start({ poolMaxSize: 4n });
  [
    ,
    { privateKey: payerKey, address: payer },
    { address: payee },
    { address: redeemer },
    { address: payee2 },
  ] = h.accounts as [
    never,
    { privateKey: Hex; address: Address },
    { address: Address },
    { address: Address },
    { address: Address },
  ];
  payer2Key = h.accounts[5]!.privateKey;
  payer2 = h.accounts[5]!.address;
});
afterAll(async () => {
  await h?.stop();
});
beforeEach(async () => {
  snap = await h.snapshot();
});
afterEach(async () => {
  await h.revertTo(snap);
});

const GWEI = 10n ** 9n;
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n; // secp256k1 order
const HALF_ORDER = N / 2n;
const REASON = {
  EPOCH_NOT_CURRENT: 1,
  PAYER_UNLOCKED: 2,
  EXCEEDS_CUMULATIVE: 3,
  NOTHING_TO_CLAIM: 4,
  INVALID_SIGNATURE: 5,
  SIGNER_NOT_AUTHORIZED: 6,
  TICKET_BOUND_TO_OTHER_KEY: 7,
  DELEGATION_OTHER_EPOCH: 8,
  DELEGATION_PAYEE_MISMATCH: 9,
  DELEGATION_EXPIRED: 10,
  DELEGATION_REVOKED: 11,
} as const;

/** A voucher from `payer` (or `key`) to `payee` for ticket `id` (epoch 0 by default). */
function voucher(cumulativeAmount: bigint, id = 0n, extra: Partial<VoucherInput> & { key?: Hex } = {}) {
  return h.voucher(extra.key ?? payerKey, { payer, payee, ticketId: id, cumulativeAmount, ...extra });
}

async function claim(
  v: VoucherClaim | Promise<VoucherClaim>,
  opts: { payee?: Address; payer?: Address; epoch?: bigint; from?: Address } = {},
) {
  const to = opts.payee ?? payee;
  return h.send(opts.from ?? to, "claim", [to, opts.payer ?? payer, opts.epoch ?? 0n, await v]);
}

async function claimed(id: bigint, opts: { payee?: Address; payer?: Address; epoch?: bigint } = {}) {
  return h.read("claimed", [opts.payer ?? payer, opts.payee ?? payee, opts.epoch ?? 0n, id]);
}

describe("single claims", () => {
  it("pays the increment from the deposit, records it and emits VoucherClaimed with the receipts root", async () => {
    await h.send(payer, "fundDeposit", [], ETHER);
    const v = await voucher(300n * GWEI, 4n, { receiptsRoot: bytes32(0x1234) });
    const { receipt, delta } = await netOf(h, payee, () => claim(v));
    expect(delta).toBe(300n * GWEI);
    expect(h.events(receipt).map((e) => [e.eventName, e.args])).toEqual([
      [
        "VoucherClaimed",
        {
          payer,
          payee,
          ticketId: 4n,
          epoch: 0n,
          requested: 300n * GWEI,
          paid: 300n * GWEI,
          shortfall: 0n,
          receiptsRoot: bytes32(0x1234),
        },
      ],
    ]);
    expect(await claimed(4n)).toBe(300n * GWEI);
    expect(await h.read("ticketSigner", [payer, payee, 0n, 4n])).toBe(payer);
    expect((await h.read("getPayerInfo", [payer]))[0]).toBe(ETHER - 300n * GWEI);

    // The next voucher pays only the increment.
    const { delta: d2 } = await netOf(h, payee, () => claim(voucher(450n * GWEI, 4n)));
    expect(d2).toBe(150n * GWEI);
    expect(await claimed(4n)).toBe(450n * GWEI);
  });

  it("claims up to newClaimed only, and the rest of the same voucher later", async () => {
    await h.send(payer, "fundDeposit", [], ETHER);
    const v = await voucher(1000n, 1n);
    await claim({ ...v, newClaimed: 400n });
    expect(await claimed(1n)).toBe(400n);
    await claim(v);
    expect(await claimed(1n)).toBe(1000n);
    await expect(claim({ ...v, newClaimed: 1001n })).rejects.toThrow("newClaimed exceeds cumulativeAmount");
  });

  it("advances claimed by what was paid: the shortfall stays claimable after a top-up", async () => {
    await h.send(payer, "fundDeposit", [], 600n);
    const v = await voucher(1000n, 2n);
    const { receipt, delta } = await netOf(h, payee, () => claim(v));
    expect(delta).toBe(600n);
    expect(h.events(receipt)[0]!.args).toMatchObject({ requested: 1000n, paid: 600n, shortfall: 400n });
    expect(await claimed(2n)).toBe(600n);
    // Nothing left: a claim pays 0 and changes nothing.
    const again = await claim(v);
    expect(h.events(again)[0]!.args).toMatchObject({ requested: 400n, paid: 0n, shortfall: 400n });
    expect(await claimed(2n)).toBe(600n);
    await h.send(payer, "fundDeposit", [], 1000n);
    const { delta: d2 } = await netOf(h, payee, () => claim(v));
    expect(d2).toBe(400n);
    expect(await claimed(2n)).toBe(1000n);
    expect((await h.read("getPayerInfo", [payer]))[0]).toBe(600n);
  });

  it("lets the registered redeemer claim for the payee (paid to the payee), nobody else", async () => {
    await h.send(payer, "fundDeposit", [], ETHER);
    const v = await voucher(5000n);
    await expect(claim(v, { from: redeemer })).rejects.toThrow("caller is not the payee or its redeemer");
    await h.send(payee, "setRedeemer", [redeemer]);
    const { delta } = await paidTo(h, payee, () => claim(v, { from: redeemer }));
    expect(delta).toBe(5000n);
    await expect(claim(await voucher(6000n), { from: payee2 })).rejects.toThrow(
      "caller is not the payee or its redeemer",
    );
  });

  it("rejects a replayed or older voucher", async () => {
    await h.send(payer, "fundDeposit", [], ETHER);
    const older = await voucher(100n);
    const newer = await voucher(200n);
    await claim(newer);
    await expect(claim(newer)).rejects.toThrow("nothing to claim");
    await expect(claim(older)).rejects.toThrow("nothing to claim");
    expect(await claimed(0n)).toBe(200n);
  });

  it("rejects forged and malformed signatures", async () => {
    await h.send(payer, "fundDeposit", [], ETHER);
    const stranger = keyFromSeed(1);
    await expect(claim(await voucher(100n, 0n, { key: stranger.key }))).rejects.toThrow(
      "voucher signer is not the payer or a delegated key",
    );
    const v = await voucher(100n);
    // A field changed after signing recovers another address.
    await expect(claim({ ...v, cumulativeAmount: 101n, newClaimed: 101n })).rejects.toThrow(
      "voucher signer is not the payer or a delegated key",
    );
    await expect(claim({ ...v, context: bytes32(1) })).rejects.toThrow(
      "voucher signer is not the payer or a delegated key",
    );
    // s above half the order, and the malleable twin (N - s, other parity), which EIP-2098 can
    // only express when N - s < 2^255; otherwise its top bit is read as the parity.
    const s = BigInt(v.vs) & (2n ** 255n - 1n);
    const parity = BigInt(v.vs) >> 255n;
    await expect(claim({ ...v, vs: bytes32(HALF_ORDER + 1n) })).rejects.toThrow("invalid voucher signature");
    await expect(claim({ ...v, vs: bytes32((N - s) | ((1n - parity) << 255n)) })).rejects.toThrow(
      /invalid voucher signature|voucher signer is not the payer or a delegated key/,
    );
    await expect(claim({ ...v, r: bytes32(0) })).rejects.toThrow("invalid voucher signature");
    // The genuine one still works.
    await claim(v);
  });

  it("rejects vouchers signed for another chain or another broker", async () => {
    await h.send(payer, "fundDeposit", [], ETHER);
    const otherChain = await voucher(100n, 0n, { domain: persistentDomain(1, h.broker) });
    await expect(claim(otherChain)).rejects.toThrow("voucher signer is not the payer or a delegated key");

    // A second broker on the same chain, funded by the same payer.
    const ctor = `${h.env.roundsManager.slice(2).toLowerCase().padStart(64, "0")}${h.env.orchestratorRegistry
      .slice(2)
      .toLowerCase()
      .padStart(64, "0")}${2n.toString(16).padStart(64, "0")}`;
    const r = await sendRaw(h.env, payer, null, `${PersistentTicketBrokerBytecode}${ctor}` as Hex);
    const brokerB = getAddress(r.contractAddress!);
    await sendRaw(h.env, payer, brokerB, "0x6caa736b", ETHER); // fundDeposit()
    const forB = await voucher(100n, 0n, { domain: persistentDomain(h.env.chainId, brokerB) });
    await expect(claim(forB)).rejects.toThrow("voucher signer is not the payer or a delegated key");
    const forA = await voucher(100n);
    const { encodeFunctionData } = await import("viem");
    const data = encodeFunctionData({ abi, functionName: "claim", args: [payee, payer, 0n, forA] });
    await expect(sendRaw(h.env, payee, brokerB, data)).rejects.toThrow(
      "voucher signer is not the payer or a delegated key",
    );
    await sendRaw(
      h.env,
      payee,
      brokerB,
      encodeFunctionData({ abi, functionName: "claim", args: [payee, payer, 0n, forB] }),
    );
    await claim(forA);
  });

  it("rejects a voucher claimed by another payee or for another ticket", async () => {
    await h.send(payer, "fundDeposit", [], ETHER);
    const v = await voucher(100n, 3n);
    await expect(claim(v, { payee: payee2 })).rejects.toThrow(
      "voucher signer is not the payer or a delegated key",
    );
    await expect(claim({ ...v, ticketId: 2n })).rejects.toThrow(
      "voucher signer is not the payer or a delegated key",
    );
    await expect(claim(v, { payer: payer2 })).rejects.toThrow(
      "voucher signer is not the payer or a delegated key",
    );
    await claim(v);
  });

  it("kills vouchers of an old epoch after withdraw; a new epoch starts from zero", async () => {
    await h.send(payer, "fundDeposit", [], ETHER);
    const old = await voucher(100n);
    await claim(await voucher(50n));
    await h.roomInRound();
    const round = await h.nextTxRound();
    await h.send(payer, "unlock", []);
    await h.gotoRound(round + 2n);
    await h.send(payer, "withdraw", []);
    await h.send(payer, "fundDeposit", [], ETHER);
    expect((await h.read("getPayerInfo", [payer]))[3]).toBe(1n);
    await expect(claim(old)).rejects.toThrow("voucher epoch is not the payer's epoch");
    // Re-labelling the old voucher as epoch 1 changes its digest.
    await expect(claim(old, { epoch: 1n })).rejects.toThrow(
      "voucher signer is not the payer or a delegated key",
    );
    const fresh = await voucher(30n, 0n, { epoch: 1n });
    const { delta } = await netOf(h, payee, () => claim(fresh, { epoch: 1n }));
    expect(delta).toBe(30n);
    expect(await claimed(0n, { epoch: 1n })).toBe(30n);
    expect(await claimed(0n, { epoch: 0n })).toBe(50n);
  });

  it("accepts claims until the last block of round withdrawRound - 1", async () => {
    await h.send(payer, "fundDeposit", [], ETHER);
    await h.roomInRound();
    const round = await h.nextTxRound();
    await h.send(payer, "unlock", []);
    await h.gotoRound(round + 1n, 1n);
    // Move to the last block of round + 1: the claim below lands there.
    const last = (round + 2n) * h.roundLength - 1n;
    const block = await h.env.publicClient.getBlockNumber({ cacheTime: 0 });
    await h.env.publicClient.request({
      method: "anvil_mine",
      params: [`0x${(last - block - 1n).toString(16)}`],
    } as never);
    const r = await claim(await voucher(10n));
    expect(r.blockNumber).toBe(last);
    await expect(claim(await voucher(20n))).rejects.toThrow("sender is unlocked");
    await h.send(payer, "cancelUnlock", []);
    await claim(await voucher(20n));
  });
});

describe("reserve", () => {
  it("pays the deposit first, then floor((funds + claimedForRound) / max(poolSize, poolMaxSize)) to an active payee", async () => {
    await h.registerOrchestrator(payee);
    await h.registerOrchestrator(payee2);
    expect(await h.poolDivisor()).toBe(4n); // max(2 active, pool max 4)
    await h.send(payer, "fundDepositAndReserve", [100n, 4000n], 4100n);
    await h.roomInRound();
    expect(await h.read("claimableReserve", [payer, payee])).toBe(1000n);
    const { receipt, delta } = await netOf(h, payee, () => claim(voucher(1500n)));
    expect(delta).toBe(1100n);
    expect(h.events(receipt).map((e) => [e.eventName, e.args])).toEqual([
      ["ReserveClaimed", { reserveHolder: payer, claimant: payee, amount: 1000n }],
      ["VoucherClaimed", expect.objectContaining({ requested: 1500n, paid: 1100n, shortfall: 400n })],
    ]);
    expect(await h.read("getPayerInfo", [payer])).toEqual([0n, 3000n, 0n, 0n]);
    expect(await h.read("claimedReserve", [payer, payee])).toBe(1000n);
    expect(await h.read("claimableReserve", [payer, payee])).toBe(0n);
    // Another payee's allocation is untouched: floor((3000 + 1000) / 4).
    expect(await h.read("claimableReserve", [payer, payee2])).toBe(1000n);
    // A new round: floor(3000 / 4).
    await h.advanceRounds(1n);
    expect(await h.read("claimableReserve", [payer, payee])).toBe(750n);
    const { delta: d2 } = await netOf(h, payee, () => claim(voucher(1500n)));
    expect(d2).toBe(400n);
  });

  it("gives nothing from the reserve to an inactive payee", async () => {
    await h.send(payer, "fundReserve", [], 4000n);
    expect(await h.read("claimableReserve", [payer, payee])).toBe(0n);
    const r = await claim(await voucher(100n));
    expect(h.events(r)[0]!.args).toMatchObject({ paid: 0n, shortfall: 100n });
    await h.registerOrchestrator(payee);
    expect(await h.read("claimableReserve", [payer, payee])).toBe(1000n);
    await h.deactivateOrchestrator(payee);
    expect(await h.read("claimableReserve", [payer, payee])).toBe(0n);
    await expect(netOf(h, payee, () => claim(voucher(100n)))).resolves.toMatchObject({ delta: 0n });
  });

  it("never promises more than the funds left when the active set churns within a round", async () => {
    // Pool max 4: four payees active, then churn so that more than four claim in one round.
    const os = [payee, payee2, h.accounts[6]!.address, h.accounts[7]!.address];
    for (const o of os) await h.registerOrchestrator(o);
    await h.send(payer, "fundReserve", [], 400n);
    const newcomers = [h.accounts[8]!.address, h.accounts[9]!.address];
    const signed = new Map<Address, VoucherClaim>();
    for (const o of [...os, ...newcomers]) {
      signed.set(o, await h.voucher(payerKey, { payer, payee: o, ticketId: 0n, cumulativeAmount: 1000n }));
    }
    const pay = async (o: Address, _id: bigint) =>
      (await netOf(h, o, () => h.send(o, "claim", [o, payer, 0n, signed.get(o)!]))).delta;
    await h.roomInRound(12n);
    expect(await pay(os[0]!, 0n)).toBe(100n);
    expect(await pay(os[1]!, 0n)).toBe(100n);
    expect(await pay(os[2]!, 0n)).toBe(100n);
    // Two of them leave, two newcomers join (membership is immediate in the devnet registry).
    await h.deactivateOrchestrator(os[0]!);
    await h.deactivateOrchestrator(os[1]!);
    for (const o of newcomers) await h.registerOrchestrator(o);
    expect(await h.read("claimableReserve", [payer, newcomers[0]!])).toBe(100n);
    // The first newcomer takes 50 of its 100: 50 are left for everyone.
    signed.set(
      newcomers[0]!,
      await h.voucher(payerKey, { payer, payee: newcomers[0]!, ticketId: 0n, cumulativeAmount: 50n }),
    );
    expect(await pay(newcomers[0]!, 0n)).toBe(50n);
    // Allocations are floor((50 + 350) / 4) = 100 each, but only 50 exist: the view and the claim say 50.
    expect(await h.read("claimableReserve", [payer, newcomers[1]!])).toBe(50n);
    expect(await h.read("claimableReserve", [payer, os[3]!])).toBe(50n);
    expect(await pay(newcomers[1]!, 0n)).toBe(50n);
    expect(await h.read("claimableReserve", [payer, os[3]!])).toBe(0n);
    expect(await pay(os[3]!, 0n)).toBe(0n);
    expect((await h.read("getPayerInfo", [payer]))[1]).toBe(0n);
  });
});

describe("delegations", () => {
  const session = keyFromSeed(7);
  const session2 = keyFromSeed(8);

  async function register(key: Address, opts: { payee?: Address; cap?: bigint; until?: bigint } = {}) {
    return h.send(payer, "registerDelegation", [
      key,
      opts.payee ?? ZERO_ADDRESS,
      opts.cap ?? ETHER,
      opts.until ?? MAX_UINT64,
    ]);
  }

  it("registers a key with an id, and pays vouchers it signs", async () => {
    await h.send(payer, "fundDeposit", [], ETHER);
    const r = await register(session.address, { payee, cap: 500n, until: 1000n });
    expect(h.events(r).map((e) => [e.eventName, e.args])).toEqual([
      [
        "DelegationRegistered",
        { payer, key: session.address, payee, cap: 500n, validUntilRound: 1000n, epoch: 0n, keyId: 2 },
      ],
    ]);
    expect(await h.read("getDelegation", [payer, session.address])).toEqual({
      payee,
      cap: 500n,
      claimed: 0n,
      validUntilRound: 1000n,
      epoch: 0n,
      revokeRound: 0n,
      keyId: 2,
      usable: true,
    });
    const r2 = await register(session2.address);
    expect(h.events(r2)[0]!.args).toMatchObject({ keyId: 3, payee: ZERO_ADDRESS });
    const { delta } = await netOf(h, payee, () => claim(voucher(200n, 0n, { key: session.key })));
    expect(delta).toBe(200n);
    expect(await h.read("ticketSigner", [payer, payee, 0n, 0n])).toBe(session.address);
    expect((await h.read("getDelegation", [payer, session.address])).claimed).toBe(200n);
  });

  it("rejects bad registrations", async () => {
    await expect(register(ZERO_ADDRESS)).rejects.toThrow("delegation key is null address");
    await expect(register(payer)).rejects.toThrow("delegation key is the payer");
    await h.advanceRounds(2n);
    const round = await h.nextTxRound();
    await expect(register(session.address, { until: round - 1n })).rejects.toThrow(
      "delegation validUntilRound has passed",
    );
    await register(session.address, { until: round });
  });

  it("enforces the cap across all tickets the key signs (pays up to the cap, the rest is shortfall)", async () => {
    await h.send(payer, "fundDeposit", [], ETHER);
    await register(session.address, { cap: 1000n });
    expect((await netOf(h, payee, () => claim(voucher(600n, 0n, { key: session.key })))).delta).toBe(600n);
    const r = await claim(await voucher(600n, 1n, { key: session.key }));
    expect(h.events(r)[0]!.args).toMatchObject({ requested: 600n, paid: 400n, shortfall: 200n });
    const r2 = await claim(await voucher(700n, 0n, { key: session.key }));
    expect(h.events(r2)[0]!.args).toMatchObject({ requested: 100n, paid: 0n, shortfall: 100n });
    expect((await h.read("getDelegation", [payer, session.address])).claimed).toBe(1000n);
    // The payer's own signature is not capped.
    expect((await netOf(h, payee, () => claim(voucher(5000n, 9n)))).delta).toBe(5000n);
  });

  it("binds a key to one payee when registered so", async () => {
    await h.send(payer, "fundDeposit", [], ETHER);
    await register(session.address, { payee });
    const v = await voucher(100n, 0n, { key: session.key, payee: payee2 });
    await expect(claim(v, { payee: payee2 })).rejects.toThrow("delegation is for another payee");
    await register(session2.address);
    await claim(await voucher(100n, 0n, { key: session2.key, payee: payee2 }), { payee: payee2 });
  });

  it("stops a key after validUntilRound", async () => {
    await h.send(payer, "fundDeposit", [], ETHER);
    await h.roomInRound();
    const round = await h.nextTxRound();
    await register(session.address, { until: round + 1n });
    await h.gotoRound(round + 1n);
    await claim(await voucher(100n, 0n, { key: session.key }));
    await h.gotoRound(round + 2n);
    await expect(claim(await voucher(200n, 0n, { key: session.key }))).rejects.toThrow("delegation expired");
    expect((await h.read("getDelegation", [payer, session.address])).usable).toBe(false);
  });

  it("revocation takes effect after the unlock period: work admitted before it still pays", async () => {
    await h.send(payer, "fundDeposit", [], ETHER);
    await expect(h.send(payer, "revokeDelegation", [session.address])).rejects.toThrow(
      "no delegation for key",
    );
    await register(session.address);
    const admitted = await voucher(300n, 0n, { key: session.key });
    await h.roomInRound();
    const round = await h.nextTxRound();
    const r = await h.send(payer, "revokeDelegation", [session.address]);
    expect(h.events(r).map((e) => [e.eventName, e.args])).toEqual([
      ["DelegationRevoked", { payer, key: session.address, startRound: round, endRound: round + 2n }],
    ]);
    await expect(h.send(payer, "revokeDelegation", [session.address])).rejects.toThrow(
      "delegation revocation already initiated",
    );
    await expect(register(session.address)).rejects.toThrow("delegation revocation in progress");
    await h.gotoRound(round + 1n);
    expect((await netOf(h, payee, () => claim(admitted))).delta).toBe(300n);
    const later = await voucher(400n, 0n, { key: session.key });
    await h.gotoRound(round + 2n);
    await expect(claim(later)).rejects.toThrow("delegation revoked");
    // Registering again starts a fresh delegation (same key id, nothing claimed through it yet).
    const again = await register(session.address, { cap: 50n });
    expect(h.events(again)[0]!.args).toMatchObject({ keyId: 2, cap: 50n });
    expect(await h.read("getDelegation", [payer, session.address])).toMatchObject({
      claimed: 0n,
      revokeRound: 0n,
      usable: true,
    });
    const r3 = await claim(later);
    expect(h.events(r3)[0]!.args).toMatchObject({ requested: 100n, paid: 50n });
  });

  it("lets a live delegation only widen", async () => {
    await h.send(payer, "fundDeposit", [], ETHER);
    await register(session.address, { payee, cap: 100n, until: 500n });
    await claim(await voucher(60n, 0n, { key: session.key }));
    await expect(register(session.address, { payee, cap: 99n, until: 500n })).rejects.toThrow(
      "live delegation can only be widened",
    );
    await expect(register(session.address, { payee, cap: 100n, until: 499n })).rejects.toThrow(
      "live delegation can only be widened",
    );
    await expect(register(session.address, { payee: payee2, cap: 100n, until: 500n })).rejects.toThrow(
      "live delegation can only be widened",
    );
    await register(session.address, { payee: ZERO_ADDRESS, cap: 200n, until: 600n });
    expect(await h.read("getDelegation", [payer, session.address])).toMatchObject({
      payee: ZERO_ADDRESS,
      cap: 200n,
      claimed: 60n,
      validUntilRound: 600n,
    });
    await expect(register(session.address, { payee, cap: 200n, until: 600n })).rejects.toThrow(
      "live delegation can only be widened",
    );
  });

  it("binds each ticket to the first key whose voucher is claimed", async () => {
    await h.send(payer, "fundDeposit", [], ETHER);
    await register(session.address);
    await register(session2.address);
    await claim(await voucher(100n, 0n, { key: session.key }));
    await expect(claim(await voucher(200n, 0n, { key: session2.key }))).rejects.toThrow(
      "ticket is bound to another key",
    );
    await expect(claim(await voucher(200n, 0n))).rejects.toThrow("ticket is bound to another key");
    await claim(await voucher(200n, 0n, { key: session.key }));
    // Ticket 1 shares ticket 0's storage slot but has its own binding: here the payer.
    await claim(await voucher(100n, 1n));
    await expect(claim(await voucher(200n, 1n, { key: session.key }))).rejects.toThrow(
      "ticket is bound to another key",
    );
    expect(await h.read("ticketSigner", [payer, payee, 0n, 1n])).toBe(payer);
    expect(await h.read("ticketSigner", [payer, payee, 0n, 0n])).toBe(session.address);
    expect(await h.read("ticketSigner", [payer, payee, 0n, 2n])).toBe(ZERO_ADDRESS);
  });

  it("binds a ticket even when its first claim pays nothing", async () => {
    await register(session.address); // no deposit, no reserve
    const r = await claim(await voucher(100n, 0n, { key: session.key }));
    expect(h.events(r)[0]!.args).toMatchObject({ paid: 0n, shortfall: 100n });
    expect(await h.read("ticketSigner", [payer, payee, 0n, 0n])).toBe(session.address);
    await h.send(payer, "fundDeposit", [], ETHER);
    await expect(claim(await voucher(100n, 0n))).rejects.toThrow("ticket is bound to another key");
    expect((await netOf(h, payee, () => claim(voucher(100n, 0n, { key: session.key })))).delta).toBe(100n);
  });

  it("kills delegations of an old epoch", async () => {
    await h.send(payer, "fundDeposit", [], ETHER);
    await register(session.address);
    await h.roomInRound();
    const round = await h.nextTxRound();
    await h.send(payer, "unlock", []);
    await h.gotoRound(round + 2n);
    await h.send(payer, "withdraw", []);
    await h.send(payer, "fundDeposit", [], ETHER);
    expect((await h.read("getDelegation", [payer, session.address])).usable).toBe(false);
    await expect(h.send(payer, "revokeDelegation", [session.address])).rejects.toThrow(
      "no delegation for key",
    );
    await expect(
      claim(await voucher(100n, 0n, { key: session.key, epoch: 1n }), { epoch: 1n }),
    ).rejects.toThrow("delegation is from another epoch");
    await register(session.address);
    await claim(await voucher(100n, 0n, { key: session.key, epoch: 1n }), { epoch: 1n });
  });

  describe("registerDelegationWithSig", () => {
    async function signDelegation(
      signerKey: Hex,
      m: { key: Address; payee: Address; cap: bigint; validUntilRound: bigint; epoch: bigint },
    ) {
      const message = { payer, ...m };
      const sig = await privateKeyToAccount(signerKey).signTypedData({
        domain: h.domain,
        types: PERSISTENT_DELEGATION_TYPES,
        primaryType: "Delegation",
        message,
      });
      return {
        message,
        sig,
        digest: hashTypedData({
          domain: h.domain,
          types: PERSISTENT_DELEGATION_TYPES,
          primaryType: "Delegation",
          message,
        }),
      };
    }
    const m = {
      key: keyFromSeed(9).address,
      payee: ZERO_ADDRESS,
      cap: 1000n,
      validUntilRound: MAX_UINT64,
      epoch: 0n,
    };
    const submit = (msg: typeof m & { payer: Address }, sig: Hex) =>
      h.send(redeemer, "registerDelegationWithSig", [
        msg.payer,
        msg.key,
        msg.payee,
        msg.cap,
        msg.validUntilRound,
        msg.epoch,
        sig,
      ]);

    it("registers a payer-signed delegation submitted by anyone, once", async () => {
      const { message, sig, digest } = await signDelegation(payerKey, m);
      expect(await h.read("isDelegationDigestUsed", [digest])).toBe(false);
      const r = await submit(message, sig);
      expect(h.events(r)[0]!.args).toMatchObject({ payer, key: m.key, cap: 1000n, keyId: 2 });
      expect(await h.read("isDelegationDigestUsed", [digest])).toBe(true);
      await expect(submit(message, sig)).rejects.toThrow("delegation signature already used");
    });

    it("rejects other signers, other epochs and malformed signatures", async () => {
      const forged = await signDelegation(payer2Key, m);
      await expect(submit(forged.message, forged.sig)).rejects.toThrow("invalid delegation signature");
      const future = await signDelegation(payerKey, { ...m, epoch: 1n });
      await expect(submit(future.message, future.sig)).rejects.toThrow("delegation epoch is not current");
      const { message, sig } = await signDelegation(payerKey, m);
      await expect(submit(message, sig.slice(0, 130) as Hex)).rejects.toThrow("INVALID_SIGNATURE_LENGTH");
      const { r, s, yParity } = parseSignature(sig);
      const high = serializeSignature({ r, s: bytes32(N - BigInt(s)), yParity: 1 - yParity! });
      await expect(submit(message, high)).rejects.toThrow("invalid signature 's' value");
      await expect(submit(message, `${sig.slice(0, 130)}1d` as Hex)).rejects.toThrow(
        "invalid signature 'v' value",
      );
      await expect(submit(message, `${sig.slice(0, 130)}01` as Hex)).rejects.toThrow(
        "invalid signature 'v' value",
      );
      await expect(submit(message, `0x${"00".repeat(64)}1b` as Hex)).rejects.toThrow(
        /reverted: invalid signature$/,
      );
      await submit(message, sig);
    });
  });
});

describe("batches", () => {
  const batch = (
    groups: { payer: Address; epoch: bigint; vouchers: VoucherClaim[] }[],
    to = payee,
    from = to,
  ) => h.send(from, "claimBatch", [to, groups]);

  it("fails entries independently with reason codes and pays the total in one transfer", async () => {
    await h.send(payer, "fundDeposit", [], ETHER);
    await h.send(payer2, "fundDeposit", [], ETHER);
    const t0 = await voucher(100n, 0n);
    const forged = await voucher(100n, 1n, { key: keyFromSeed(3).key });
    const t2 = await voucher(300n, 2n);
    const groups = [
      {
        payer,
        epoch: 0n,
        vouchers: [t0, t0, forged, { ...t2, newClaimed: 301n }, t2, { ...t2, vs: bytes32(2n ** 255n - 1n) }],
      },
      {
        payer: payer2,
        epoch: 1n,
        vouchers: [
          await h.voucher(payer2Key, { payer: payer2, payee, ticketId: 0n, epoch: 1n, cumulativeAmount: 5n }),
        ],
      },
    ];
    const { receipt, delta } = await netOf(h, payee, () => batch(groups));
    expect(delta).toBe(400n);
    const events = h
      .events(receipt)
      .map((e) =>
        e.eventName === "VoucherClaimed"
          ? ["ok", e.args.payer, e.args.ticketId, e.args.paid]
          : e.eventName === "VoucherClaimFailed"
            ? ["failed", e.args.payer, e.args.ticketId, e.args.reason, e.args.newClaimed, e.args.epoch]
            : [e.eventName],
      );
    expect(events).toEqual([
      ["ok", payer, 0n, 100n],
      ["failed", payer, 0n, REASON.NOTHING_TO_CLAIM, 100n, 0n],
      ["failed", payer, 1n, REASON.SIGNER_NOT_AUTHORIZED, 100n, 0n],
      ["failed", payer, 2n, REASON.EXCEEDS_CUMULATIVE, 301n, 0n],
      ["ok", payer, 2n, 300n],
      ["failed", payer, 2n, REASON.NOTHING_TO_CLAIM, 300n, 0n],
      ["failed", payer2, 0n, REASON.EPOCH_NOT_CURRENT, 5n, 1n],
    ]);
    const failed = h.events(receipt).find((e) => e.eventName === "VoucherClaimFailed");
    expect(failed!.args).toMatchObject({ payee, receiptsRoot: t0.receiptsRoot });
    // One value transfer out of the broker.
    const trace = (await h.env.publicClient.request({
      method: "debug_traceTransaction",
      params: [receipt.transactionHash, { tracer: "callTracer" }],
    } as never)) as { calls?: { type: string; to: string; value?: string }[] };
    const transfers = (trace.calls ?? []).filter((c) => c.type === "CALL" && BigInt(c.value ?? "0x0") > 0n);
    expect(transfers.map((c) => [getAddress(c.to), BigInt(c.value!)])).toEqual([[payee, 400n]]);
  });

  it("reports signature errors per entry", async () => {
    await h.send(payer, "fundDeposit", [], ETHER);
    const v = await voucher(100n, 0n);
    const high = { ...v, vs: bytes32(HALF_ORDER + 1n) };
    const r = await batch([{ payer, epoch: 0n, vouchers: [high, { ...v, r: bytes32(0) }, v] }]);
    expect(
      h.events(r).map((e) => (e.eventName === "VoucherClaimFailed" ? e.args.reason : e.eventName)),
    ).toEqual([REASON.INVALID_SIGNATURE, REASON.INVALID_SIGNATURE, "VoucherClaimed"]);
  });

  it("claims the same ticket twice, and the same payer in two groups, consistently", async () => {
    await h.send(payer, "fundDeposit", [], 1000n);
    const a = await voucher(300n, 5n);
    const b = await voucher(700n, 5n);
    const c = await voucher(500n, 6n);
    const { delta } = await netOf(h, payee, () =>
      batch([
        { payer, epoch: 0n, vouchers: [a, b] },
        { payer, epoch: 0n, vouchers: [c] },
      ]),
    );
    expect(delta).toBe(1000n);
    expect(await claimed(5n)).toBe(700n);
    expect(await claimed(6n)).toBe(300n);
    expect((await h.read("getPayerInfo", [payer]))[0]).toBe(0n);
  });

  it("draws on the reserve within a batch and respects delegation caps", async () => {
    await h.registerOrchestrator(payee);
    await h.send(payer, "fundDepositAndReserve", [100n, 4000n], 4100n); // allocation: 1000
    const session = keyFromSeed(11);
    await h.send(payer, "registerDelegation", [session.address, payee, 250n, MAX_UINT64]);
    const vouchers = [
      await voucher(80n, 0n),
      await voucher(200n, 1n, { key: session.key }), // 20 deposit + 180 reserve
      await voucher(200n, 2n, { key: session.key }), // cap: 50 left
      await voucher(2000n, 3n), // reserve: 1000 - 230 left
    ];
    await h.roomInRound();
    const { receipt, delta } = await netOf(h, payee, () => batch([{ payer, epoch: 0n, vouchers }]));
    const paid = h.events(receipt).flatMap((e) => (e.eventName === "VoucherClaimed" ? [e.args.paid] : []));
    expect(paid).toEqual([80n, 200n, 50n, 770n]);
    expect(delta).toBe(1100n);
    expect(await h.read("getPayerInfo", [payer])).toEqual([0n, 3000n, 0n, 0n]);
    expect((await h.read("getDelegation", [payer, session.address])).claimed).toBe(250n);
  });

  it("fails every entry of a payer past its deadline, and only the payee or redeemer may call", async () => {
    await h.send(payer, "fundDeposit", [], ETHER);
    const v = await voucher(100n);
    await expect(batch([{ payer, epoch: 0n, vouchers: [v] }], payee, payee2)).rejects.toThrow(
      "caller is not the payee or its redeemer",
    );
    await h.roomInRound();
    const round = await h.nextTxRound();
    await h.send(payer, "unlock", []);
    await h.gotoRound(round + 2n);
    const { receipt, delta } = await netOf(h, payee, () => batch([{ payer, epoch: 0n, vouchers: [v, v] }]));
    expect(delta).toBe(0n);
    expect(h.events(receipt).map((e) => (e.eventName === "VoucherClaimFailed" ? e.args.reason : 0))).toEqual([
      REASON.PAYER_UNLOCKED,
      REASON.PAYER_UNLOCKED,
    ]);
    expect(await h.balance(h.broker)).toBe(ETHER);
    const empty = await batch([]);
    expect(h.events(empty)).toEqual([]);
  });
});
