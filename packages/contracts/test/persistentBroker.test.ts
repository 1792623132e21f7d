// PersistentTicketBroker on a real anvil: deployment, EIP-712 typed data, funding, unlock, withdraw
// and payee keys. Claims are in persistentClaims.test.ts, the invariant walk in persistentInvariants.
import { getEip712Domain } from "viem/actions";
import { hashDomain, hashTypedData, keccak256, toBytes, type Address, type Hex } from "viem";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PersistentTicketBrokerBytecode } from "../src/generated/PersistentTicketBroker.js";
import {
  PERSISTENT_DELEGATION_TYPES,
  PERSISTENT_VOUCHER_TYPES,
  persistentDomain,
  sendRaw,
} from "../src/persistentGas.js";
import { ETHER, Harness, MAX_UINT64, ZERO_ADDRESS, bytes32, netOf } from "./persistent/harness.js";

const VOUCHER_TYPE =
  "Voucher(address payer,address payee,uint256 ticketId,uint64 epoch,uint128 cumulativeAmount,bytes32 context)";
const DELEGATION_TYPE =
  "Delegation(address payer,address key,address payee,uint128 cap,uint64 validUntilRound,uint64 epoch)";

let h: Harness;
let snap: Hex;
let payer: Address;
let other: Address;

beforeAll(async () => {
  h = await Harness.start();
  payer = h.accounts[1]!.address;
  other = h.accounts[2]!.address;
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

const addr = (a: Address) => a.slice(2).toLowerCase().padStart(64, "0");
const u256 = (v: bigint) => v.toString(16).padStart(64, "0");

describe("deployment", () => {
  it("stores its dependencies and unlock period", async () => {
    expect(await h.read("roundsManager", [])).toBe(h.env.roundsManager);
    expect(await h.read("orchestratorRegistry", [])).toBe(h.env.orchestratorRegistry);
    expect(await h.read("unlockPeriod", [])).toBe(2n);
  });

  it.each([
    ["rounds manager is null address", ZERO_ADDRESS, "0x0000000000000000000000000000000000000001", 2n],
    ["orchestrator registry is null address", "0x0000000000000000000000000000000000000001", ZERO_ADDRESS, 2n],
    [
      "unlockPeriod must be greater than 0",
      "0x0000000000000000000000000000000000000001",
      "0x0000000000000000000000000000000000000002",
      0n,
    ],
    [
      "unlockPeriod too large",
      "0x0000000000000000000000000000000000000001",
      "0x0000000000000000000000000000000000000002",
      2n ** 32n,
    ],
  ] as const)("rejects a constructor with %s", async (reason, rounds, registry, period) => {
    const data = `${PersistentTicketBrokerBytecode}${addr(rounds)}${addr(registry)}${u256(period)}` as Hex;
    await expect(sendRaw(h.env, payer, null, data)).rejects.toThrow(reason);
  });
});

describe("EIP-712", () => {
  it("uses the documented type strings, with distinct type hashes", async () => {
    const voucherTypeHash = await h.read("VOUCHER_TYPEHASH", []);
    const delegationTypeHash = await h.read("DELEGATION_TYPEHASH", []);
    expect(voucherTypeHash).toBe(keccak256(toBytes(VOUCHER_TYPE)));
    expect(delegationTypeHash).toBe(keccak256(toBytes(DELEGATION_TYPE)));
    expect(voucherTypeHash).not.toBe(delegationTypeHash);
  });

  it("has the domain {livepay PersistentTicketBroker, 1, chainId, broker}", async () => {
    const expected = hashDomain({
      domain: { ...persistentDomain(h.env.chainId, h.broker), chainId: BigInt(h.env.chainId) },
      types: {
        EIP712Domain: [
          { name: "name", type: "string" },
          { name: "version", type: "string" },
          { name: "chainId", type: "uint256" },
          { name: "verifyingContract", type: "address" },
        ],
      },
    });
    expect(await h.read("domainSeparator", [])).toBe(expected);
    const { domain, fields, extensions } = await getEip712Domain(h.env.publicClient, { address: h.broker });
    expect(domain).toEqual({
      name: "livepay PersistentTicketBroker",
      version: "1",
      chainId: h.env.chainId,
      verifyingContract: h.broker,
      salt: bytes32(0),
    });
    expect(fields).toBe("0x0f");
    expect(extensions).toEqual([]);
  });

  it("hashVoucher equals viem's hashTypedData, including the widest values", async () => {
    const cases = [
      { payer, payee: other, ticketId: 0n, epoch: 0n, cumulativeAmount: 0n, context: bytes32(0) },
      {
        payer,
        payee: other,
        ticketId: 7n,
        epoch: 3n,
        cumulativeAmount: 123_456_789n,
        context: bytes32(0xabcn),
      },
      {
        payer: other,
        payee: payer,
        ticketId: 2n ** 256n - 1n,
        epoch: MAX_UINT64,
        cumulativeAmount: 2n ** 128n - 1n,
        context: `0x${"ff".repeat(32)}` as Hex,
      },
    ];
    for (const m of cases) {
      const viemDigest = hashTypedData({
        domain: h.domain,
        types: PERSISTENT_VOUCHER_TYPES,
        primaryType: "Voucher",
        message: m,
      });
      expect(
        await h.read("hashVoucher", [m.payer, m.payee, m.ticketId, m.epoch, m.cumulativeAmount, m.context]),
      ).toBe(viemDigest);
    }
  });

  it("hashDelegation equals viem's hashTypedData", async () => {
    const m = {
      payer,
      key: other,
      payee: ZERO_ADDRESS,
      cap: 2n ** 128n - 1n,
      validUntilRound: 99n,
      epoch: 5n,
    };
    const viemDigest = hashTypedData({
      domain: h.domain,
      types: PERSISTENT_DELEGATION_TYPES,
      primaryType: "Delegation",
      message: m,
    });
    expect(await h.read("hashDelegation", [m.payer, m.key, m.payee, m.cap, m.validUntilRound, m.epoch])).toBe(
      viemDigest,
    );
  });
});

describe("funding", () => {
  it("fundDeposit adds to the deposit and emits DepositFunded", async () => {
    const r = await h.send(payer, "fundDeposit", [], 3n * ETHER);
    expect(h.events(r).map((e) => [e.eventName, e.args])).toEqual([
      ["DepositFunded", { sender: payer, amount: 3n * ETHER }],
    ]);
    await h.send(payer, "fundDeposit", [], 1n);
    expect(await h.read("getPayerInfo", [payer])).toEqual([3n * ETHER + 1n, 0n, 0n, 0n]);
    expect(await h.balance(h.broker)).toBe(3n * ETHER + 1n);
  });

  it("fundReserve adds to the reserve and emits ReserveFunded", async () => {
    const r = await h.send(payer, "fundReserve", [], 2n * ETHER);
    expect(h.events(r).map((e) => [e.eventName, e.args])).toEqual([
      ["ReserveFunded", { reserveHolder: payer, amount: 2n * ETHER }],
    ]);
    expect(await h.read("getPayerInfo", [payer])).toEqual([0n, 2n * ETHER, 0n, 0n]);
  });

  it("fundDepositAndReserve splits msg.value (events: ReserveFunded, DepositFunded)", async () => {
    const r = await h.send(payer, "fundDepositAndReserve", [5n, 7n], 12n);
    expect(h.events(r).map((e) => e.eventName)).toEqual(["ReserveFunded", "DepositFunded"]);
    expect(await h.read("getPayerInfo", [payer])).toEqual([5n, 7n, 0n, 0n]);
    await expect(h.send(payer, "fundDepositAndReserve", [5n, 7n], 11n)).rejects.toThrow(
      "msg.value does not equal sum of deposit amount and reserve amount",
    );
  });

  it("fundDepositAndReserveFor funds another payer without cancelling its unlock", async () => {
    await h.send(payer, "fundDeposit", [], 10n);
    await h.send(payer, "unlock", []);
    const r = await h.send(other, "fundDepositAndReserveFor", [payer, 1n, 2n], 3n);
    expect(h.events(r).map((e) => e.eventName)).toEqual(["ReserveFunded", "DepositFunded"]);
    expect(await h.read("isUnlockInProgress", [payer])).toBe(true);
    const [deposit, reserve] = await h.read("getPayerInfo", [payer]);
    expect([deposit, reserve]).toEqual([11n, 2n]);
    await expect(h.send(other, "fundDepositAndReserveFor", [payer, 1n, 2n], 4n)).rejects.toThrow(
      "msg.value does not equal sum of deposit amount and reserve amount",
    );
    await expect(h.send(other, "fundDepositAndReserveFor", [ZERO_ADDRESS, 1n, 2n], 3n)).rejects.toThrow(
      "payer is null address",
    );
  });

  it.each(["fundDeposit", "fundReserve"] as const)("%s by the payer cancels its unlock first", async (fn) => {
    await h.send(payer, "fundDeposit", [], 10n);
    await h.send(payer, "unlock", []);
    const r = await h.send(payer, fn, [], 1n);
    expect(h.events(r)[0]!.eventName).toBe("UnlockCancelled");
    expect(await h.read("isUnlockInProgress", [payer])).toBe(false);
  });

  it("rejects balances beyond uint128", async () => {
    await h.env.publicClient.request({
      method: "anvil_setBalance",
      params: [payer, `0x${(2n ** 200n).toString(16)}`],
    } as never);
    // (anvil refuses a single value of 2^128 or more, so the balance is reached in steps)
    await h.send(payer, "fundDeposit", [], 2n ** 127n - 1n);
    await h.send(payer, "fundDeposit", [], 2n ** 127n);
    await expect(h.send(payer, "fundDeposit", [], 1n)).rejects.toThrow("amount exceeds uint128");
    await h.send(payer, "fundReserve", [], 2n ** 127n);
    await h.send(payer, "fundReserve", [], 2n ** 127n - 1n);
    await expect(h.send(payer, "fundDepositAndReserve", [0n, 1n], 1n)).rejects.toThrow(
      "amount exceeds uint128",
    );
  });
});

describe("unlock, cancelUnlock, withdraw", () => {
  it("unlock needs funds and sets withdrawRound = currentRound + unlockPeriod", async () => {
    await expect(h.send(payer, "unlock", [])).rejects.toThrow("sender deposit and reserve are zero");
    await h.send(payer, "fundReserve", [], 1n); // the reserve alone is enough
    const round = await h.nextTxRound();
    const r = await h.send(payer, "unlock", []);
    expect(h.events(r).map((e) => [e.eventName, e.args])).toEqual([
      ["Unlock", { sender: payer, startRound: round, endRound: round + 2n }],
    ]);
    expect(await h.read("getPayerInfo", [payer])).toEqual([0n, 1n, round + 2n, 0n]);
    expect(await h.read("isUnlockInProgress", [payer])).toBe(true);
    await expect(h.send(payer, "unlock", [])).rejects.toThrow("unlock already initiated");
  });

  it("cancelUnlock needs an unlock in progress", async () => {
    await expect(h.send(payer, "cancelUnlock", [])).rejects.toThrow("no unlock request in progress");
    await h.send(payer, "fundDeposit", [], 1n);
    await h.send(payer, "unlock", []);
    const r = await h.send(payer, "cancelUnlock", []);
    expect(h.events(r).map((e) => [e.eventName, e.args])).toEqual([["UnlockCancelled", { sender: payer }]]);
    expect(await h.read("isUnlockInProgress", [payer])).toBe(false);
  });

  it("withdraw checks funds, unlock and lock, then pays everything back and starts a new epoch", async () => {
    await expect(h.send(payer, "withdraw", [])).rejects.toThrow("sender deposit and reserve are zero");
    await h.send(payer, "fundDepositAndReserve", [3n * ETHER, 2n * ETHER], 5n * ETHER);
    await expect(h.send(payer, "withdraw", [])).rejects.toThrow("no unlock request in progress");
    await h.roomInRound();
    const round = await h.nextTxRound();
    await h.send(payer, "unlock", []);
    await h.gotoRound(round + 1n);
    await expect(h.send(payer, "withdraw", [])).rejects.toThrow("account is locked");
    await h.gotoRound(round + 2n);
    const { receipt, delta } = await netOf(h, payer, () => h.send(payer, "withdraw", []));
    expect(delta).toBe(5n * ETHER);
    expect(h.events(receipt).map((e) => [e.eventName, e.args])).toEqual([
      ["Withdrawal", { sender: payer, deposit: 3n * ETHER, reserve: 2n * ETHER }],
    ]);
    expect(await h.read("getPayerInfo", [payer])).toEqual([0n, 0n, 0n, 1n]);
    expect(await h.balance(h.broker)).toBe(0n);
    await expect(h.send(payer, "withdraw", [])).rejects.toThrow("sender deposit and reserve are zero");
  });
});

describe("payee keys", () => {
  it("setSigningKey binds the quote/receipt key, 0 clears it", async () => {
    const r = await h.send(payer, "setSigningKey", [other]);
    expect(h.events(r).map((e) => [e.eventName, e.args])).toEqual([
      ["SigningKeySet", { payee: payer, key: other }],
    ]);
    expect(await h.read("signingKeyOf", [payer])).toBe(other);
    await h.send(payer, "setSigningKey", [ZERO_ADDRESS]);
    expect(await h.read("signingKeyOf", [payer])).toBe(ZERO_ADDRESS);
  });

  it("setRedeemer binds the redeemer, 0 clears it", async () => {
    const r = await h.send(payer, "setRedeemer", [other]);
    expect(h.events(r).map((e) => [e.eventName, e.args])).toEqual([
      ["RedeemerSet", { payee: payer, redeemer: other }],
    ]);
    expect(await h.read("redeemerOf", [payer])).toBe(other);
    await h.send(payer, "setRedeemer", [ZERO_ADDRESS]);
    expect(await h.read("redeemerOf", [payer])).toBe(ZERO_ADDRESS);
  });
});
