// TicketBroker: funding, unlock, withdraw, owner functions, views, selectors and event topics.
import {
  toEventSelector,
  toFunctionSelector,
  type Abi,
  type AbiEvent,
  type AbiFunction,
  type Hex,
} from "viem";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { TicketBrokerAbi, TicketBrokerBytecode } from "../src/index.js";
import {
  advanceRounds,
  balanceOf,
  brokerCall,
  currentRound,
  deployRevertReason,
  eventNames,
  events,
  expectRevert,
  impersonate,
  read,
  restore,
  revertReason,
  send,
  senderInfo,
  setup,
  REJECT_CODE,
  type Fixture,
} from "./helpers.js";

let fx: Fixture;
let snap: Hex;
const ETH = 10n ** 18n;
const PAYER = 1;
const OTHER = 2;
const OWNER = 0;

beforeAll(async () => {
  fx = await setup({ roundLength: 50n, unlockPeriod: 2n, ticketValidityPeriod: 2n });
  snap = await fx.test.snapshot();
});
afterAll(async () => {
  await fx?.stop();
});
beforeEach(async () => {
  snap = await restore(fx, snap);
});

const payer = () => fx.accounts[PAYER]!.address;
const brokerRead = <T>(fn: string, args: readonly unknown[] = []) =>
  read<T>(fx, fx.addrs.ticketBroker, TicketBrokerAbi, fn, args);

describe("ABI matches Livepeer's TicketBroker (spec §7.2, §7.5)", () => {
  const selectors: Record<string, Hex> = {
    fundDeposit: "0x6caa736b",
    fundReserve: "0x6f9c3c8f",
    fundDepositAndReserve: "0x511f4073",
    fundDepositAndReserveFor: "0x989f789c",
    redeemWinningTicket: "0xec8b3cb6",
    batchRedeemWinningTickets: "0xd01b808e",
    unlock: "0xa69df4b5",
    cancelUnlock: "0xc2c4c2c8",
    withdraw: "0x3ccfd60b",
    isUnlockInProgress: "0x121cdcc2",
    getSenderInfo: "0xe1a589da",
    getTicketHash: "0xb03fa864",
    claimableReserve: "0x81779f38",
    claimedReserve: "0x4ac826da",
    getReserveInfo: "0x5b6333eb",
    usedTickets: "0x59a515ba",
    unlockPeriod: "0x20d3a0b4",
    ticketValidityPeriod: "0x856a2cf8",
    setUnlockPeriod: "0x3d0ddf84",
    setTicketValidityPeriod: "0xc9297808",
  };
  const topics: Record<string, Hex> = {
    DepositFunded: "0x5159e237d952190e68d5215430f305831be7c9c8776d1377c76679ae4773413f",
    ReserveFunded: "0xb52b99b9e83551fcbd069b559cc3e823e2a1a3bad8ece46561ea77524394c850",
    ReserveClaimed: "0x5c2b394723f408a40a60335e24b71829642e35f350cebe2036a96a66e895ea98",
    WinningTicketRedeemed: "0xc389eb51ed006dbf2528507f010efdf5225ea596e1e1741d74f550dab1925ee7",
    WinningTicketTransfer: "0x8b87351a208c06e3ceee59d80725fd77a23b4129e1b51ca231fc89b40712649c",
    Unlock: "0xf7870c5b224cbc19873599e46ccfc7103934650509b1af0c3ce90138377c2004",
    UnlockCancelled: "0xfa044b7b93a40365dc68049797c2eb06918523d694e5d56e406cac3eb35578e5",
    Withdrawal: "0xdf273cb619d95419a9cd0ec88123a0538c85064229baa6363788f743fff90deb",
    ParameterUpdate: "0x9f5033568d78ae30f29f01e944f97b2216493bd19d1b46d429673acff3dcd674",
  };
  const abi = TicketBrokerAbi as Abi;

  test.each(Object.entries(selectors))("%s has selector %s", (name, selector) => {
    const fn = abi.find((i): i is AbiFunction => i.type === "function" && i.name === name);
    expect(fn, name).toBeDefined();
    expect(toFunctionSelector(fn!)).toBe(selector);
  });

  test.each(Object.entries(topics))("event %s has topic0 %s", (name, topic) => {
    const ev = abi.find((i): i is AbiEvent => i.type === "event" && i.name === name);
    expect(ev, name).toBeDefined();
    expect(toEventSelector(ev!)).toBe(topic);
  });

  test("getSenderInfo returns Livepeer's (Sender, ReserveInfo) shape", () => {
    const fn = abi.find((i): i is AbiFunction => i.type === "function" && i.name === "getSenderInfo")!;
    expect(
      fn.outputs.map((o) =>
        (o as unknown as { components: { name: string }[] }).components.map((c) => c.name),
      ),
    ).toEqual([
      ["deposit", "withdrawRound"],
      ["fundsRemaining", "claimedInCurrentRound"],
    ]);
  });
});

describe("constructor", () => {
  test("sets parameters and the owner", async () => {
    expect(await brokerRead("unlockPeriod")).toBe(2n);
    expect(await brokerRead("ticketValidityPeriod")).toBe(2n);
    expect((await brokerRead<string>("owner")).toLowerCase()).toBe(fx.accounts[OWNER]!.address.toLowerCase());
    expect(await brokerRead("paused")).toBe(false);
    expect((await brokerRead<string>("roundsManager")).toLowerCase()).toBe(
      fx.addrs.roundsManager.toLowerCase(),
    );
    expect((await brokerRead<string>("orchestratorRegistry")).toLowerCase()).toBe(
      fx.addrs.orchestratorRegistry.toLowerCase(),
    );
  });

  test.each([
    [[2n, 0n], "ticketValidityPeriod must be greater than 0"],
    [[2n ** 40n, 2n], "unlockPeriod too large"],
    [[2n, 2n ** 48n], "ticketValidityPeriod too large"],
  ] as const)("refuses %s with %s", async ([unlock, validity], reason) => {
    const args = [fx.addrs.roundsManager, fx.addrs.orchestratorRegistry, unlock, validity];
    expect(await deployRevertReason(fx, TicketBrokerAbi, TicketBrokerBytecode, args)).toBe(reason);
  });
});

describe("fundDeposit", () => {
  test("adds to the deposit, holds the ETH and emits DepositFunded", async () => {
    const receipt = await send(fx, PAYER, brokerCall(fx, "fundDeposit", [], 3n * ETH));
    expect(events(receipt)).toEqual([
      { eventName: "DepositFunded", args: { sender: payer(), amount: 3n * ETH } },
    ]);
    await send(fx, PAYER, brokerCall(fx, "fundDeposit", [], ETH));
    expect((await senderInfo(fx, payer())).deposit).toBe(4n * ETH);
    expect(await balanceOf(fx, fx.addrs.ticketBroker)).toBe(4n * ETH);
  });

  test("cancels the sender's own unlock: UnlockCancelled then DepositFunded", async () => {
    await send(fx, PAYER, brokerCall(fx, "fundDeposit", [], ETH));
    await send(fx, PAYER, brokerCall(fx, "unlock"));
    const receipt = await send(fx, PAYER, brokerCall(fx, "fundDeposit", [], ETH));
    expect(eventNames(receipt)).toEqual(["UnlockCancelled", "DepositFunded"]);
    expect(await brokerRead("isUnlockInProgress", [payer()])).toBe(false);
  });

  test("reverts when paused", async () => {
    await send(fx, OWNER, brokerCall(fx, "pause"));
    await expectRevert(fx, PAYER, brokerCall(fx, "fundDeposit", [], ETH), "system is paused");
  });

  test("refuses a balance that does not fit in uint96", async () => {
    await fx.test.setBalance({ address: payer(), value: 2n ** 100n });
    await expectRevert(fx, PAYER, brokerCall(fx, "fundDeposit", [], 2n ** 96n), "balance exceeds uint96");
  });
});

describe("fundReserve", () => {
  test("adds to the reserve and emits ReserveFunded", async () => {
    const receipt = await send(fx, PAYER, brokerCall(fx, "fundReserve", [], 2n * ETH));
    expect(events(receipt)).toEqual([
      { eventName: "ReserveFunded", args: { reserveHolder: payer(), amount: 2n * ETH } },
    ]);
    const info = await brokerRead<{ fundsRemaining: bigint; claimedInCurrentRound: bigint }>(
      "getReserveInfo",
      [payer()],
    );
    expect(info).toEqual({ fundsRemaining: 2n * ETH, claimedInCurrentRound: 0n });
  });

  test("cancels the sender's own unlock: ReserveFunded then UnlockCancelled", async () => {
    await send(fx, PAYER, brokerCall(fx, "fundReserve", [], ETH));
    await send(fx, PAYER, brokerCall(fx, "unlock"));
    const receipt = await send(fx, PAYER, brokerCall(fx, "fundReserve", [], ETH));
    expect(eventNames(receipt)).toEqual(["ReserveFunded", "UnlockCancelled"]);
  });

  test("reverts when paused", async () => {
    await send(fx, OWNER, brokerCall(fx, "pause"));
    await expectRevert(fx, PAYER, brokerCall(fx, "fundReserve", [], ETH), "system is paused");
  });

  test("refuses a reserve that does not fit in uint96", async () => {
    await fx.test.setBalance({ address: payer(), value: 2n ** 100n });
    await expectRevert(fx, PAYER, brokerCall(fx, "fundReserve", [], 2n ** 96n), "balance exceeds uint96");
  });
});

describe("fundDepositAndReserve / fundDepositAndReserveFor", () => {
  test("funds both; events UnlockCancelled, ReserveFunded, DepositFunded", async () => {
    let receipt = await send(fx, PAYER, brokerCall(fx, "fundDepositAndReserve", [ETH, 2n * ETH], 3n * ETH));
    expect(events(receipt)).toEqual([
      { eventName: "ReserveFunded", args: { reserveHolder: payer(), amount: 2n * ETH } },
      { eventName: "DepositFunded", args: { sender: payer(), amount: ETH } },
    ]);
    await send(fx, PAYER, brokerCall(fx, "unlock"));
    receipt = await send(fx, PAYER, brokerCall(fx, "fundDepositAndReserve", [ETH, 0n], ETH));
    expect(eventNames(receipt)).toEqual(["UnlockCancelled", "ReserveFunded", "DepositFunded"]);
    const info = await senderInfo(fx, payer());
    expect(info).toMatchObject({ deposit: 2n * ETH, reserve: 2n * ETH, withdrawRound: 0n });
  });

  test("fundDepositAndReserveFor funds another address without cancelling its unlock", async () => {
    await send(fx, PAYER, brokerCall(fx, "fundDeposit", [], ETH));
    await send(fx, PAYER, brokerCall(fx, "unlock"));
    const receipt = await send(
      fx,
      OTHER,
      brokerCall(fx, "fundDepositAndReserveFor", [payer(), ETH, ETH], 2n * ETH),
    );
    expect(eventNames(receipt)).toEqual(["ReserveFunded", "DepositFunded"]);
    expect(await brokerRead("isUnlockInProgress", [payer()])).toBe(true);
    expect(await senderInfo(fx, payer())).toMatchObject({ deposit: 2n * ETH, reserve: ETH });
    expect(await senderInfo(fx, fx.accounts[OTHER]!.address)).toMatchObject({ deposit: 0n, reserve: 0n });
    // ... but the sender funding itself through the "For" variant does cancel it.
    const own = await send(fx, PAYER, brokerCall(fx, "fundDepositAndReserveFor", [payer(), 1n, 0n], 1n));
    expect(eventNames(own)).toEqual(["UnlockCancelled", "ReserveFunded", "DepositFunded"]);
  });

  test("emits zero-amount events like Livepeer", async () => {
    const receipt = await send(fx, PAYER, brokerCall(fx, "fundDepositAndReserve", [0n, 0n], 0n));
    expect(events(receipt).map((e) => e.args.amount)).toEqual([0n, 0n]);
  });

  test.each([
    ["fundDepositAndReserve", (d: bigint, r: bigint) => [d, r]],
    ["fundDepositAndReserveFor", (d: bigint, r: bigint) => [fx.accounts[OTHER]!.address, d, r]],
  ] as const)("%s: msg.value must equal deposit + reserve", async (fn, args) => {
    const reason = "msg.value does not equal sum of deposit amount and reserve amount";
    await expectRevert(fx, PAYER, brokerCall(fx, fn, args(ETH, ETH), ETH), reason);
    await expectRevert(fx, PAYER, brokerCall(fx, fn, args(ETH, ETH), 3n * ETH), reason);
  });

  test.each(["fundDepositAndReserve", "fundDepositAndReserveFor"] as const)(
    "%s reverts when paused",
    async (fn) => {
      await send(fx, OWNER, brokerCall(fx, "pause"));
      const args = fn === "fundDepositAndReserve" ? [ETH, 0n] : [payer(), ETH, 0n];
      await expectRevert(fx, PAYER, brokerCall(fx, fn, args, ETH), "system is paused");
    },
  );

  test("refuses amounts that do not fit in uint96", async () => {
    await fx.test.setBalance({ address: payer(), value: 2n ** 100n });
    await expectRevert(
      fx,
      PAYER,
      brokerCall(fx, "fundDepositAndReserve", [2n ** 96n, 0n], 2n ** 96n),
      "balance exceeds uint96",
    );
    await expectRevert(
      fx,
      PAYER,
      brokerCall(fx, "fundDepositAndReserve", [0n, 2n ** 96n], 2n ** 96n),
      "balance exceeds uint96",
    );
  });
});

describe("unlock / cancelUnlock / isUnlockInProgress", () => {
  test("unlock sets withdrawRound = currentRound + unlockPeriod and emits Unlock", async () => {
    await send(fx, PAYER, brokerCall(fx, "fundDeposit", [], ETH));
    const receipt = await send(fx, PAYER, brokerCall(fx, "unlock"));
    const round = await currentRound(fx);
    expect(events(receipt)).toEqual([
      { eventName: "Unlock", args: { sender: payer(), startRound: round, endRound: round + 2n } },
    ]);
    expect(await brokerRead("isUnlockInProgress", [payer()])).toBe(true);
    expect((await senderInfo(fx, payer())).withdrawRound).toBe(round + 2n);
  });

  test("unlock works with only a reserve", async () => {
    await send(fx, PAYER, brokerCall(fx, "fundReserve", [], ETH));
    await send(fx, PAYER, brokerCall(fx, "unlock"));
    expect(await brokerRead("isUnlockInProgress", [payer()])).toBe(true);
  });

  test("unlock reverts with nothing funded, when already unlocking, and when paused", async () => {
    await expectRevert(fx, PAYER, brokerCall(fx, "unlock"), "sender deposit and reserve are zero");
    await send(fx, PAYER, brokerCall(fx, "fundDeposit", [], ETH));
    await send(fx, PAYER, brokerCall(fx, "unlock"));
    await expectRevert(fx, PAYER, brokerCall(fx, "unlock"), "unlock already initiated");
    await send(fx, OWNER, brokerCall(fx, "pause"));
    await expectRevert(fx, PAYER, brokerCall(fx, "unlock"), "system is paused");
  });

  test("cancelUnlock clears the unlock and emits UnlockCancelled", async () => {
    await send(fx, PAYER, brokerCall(fx, "fundDeposit", [], ETH));
    await send(fx, PAYER, brokerCall(fx, "unlock"));
    const receipt = await send(fx, PAYER, brokerCall(fx, "cancelUnlock"));
    expect(events(receipt)).toEqual([{ eventName: "UnlockCancelled", args: { sender: payer() } }]);
    expect(await brokerRead("isUnlockInProgress", [payer()])).toBe(false);
    expect((await senderInfo(fx, payer())).withdrawRound).toBe(0n);
  });

  test("cancelUnlock reverts without an unlock and when paused", async () => {
    await expectRevert(fx, PAYER, brokerCall(fx, "cancelUnlock"), "no unlock request in progress");
    await send(fx, PAYER, brokerCall(fx, "fundDeposit", [], ETH));
    await send(fx, PAYER, brokerCall(fx, "unlock"));
    await send(fx, OWNER, brokerCall(fx, "pause"));
    await expectRevert(fx, PAYER, brokerCall(fx, "cancelUnlock"), "system is paused");
  });
});

describe("withdraw", () => {
  test("after the unlock period returns deposit + reserve, emits Withdrawal, keeps withdrawRound", async () => {
    await send(fx, PAYER, brokerCall(fx, "fundDepositAndReserve", [3n * ETH, 2n * ETH], 5n * ETH));
    await send(fx, PAYER, brokerCall(fx, "unlock"));
    const { withdrawRound } = await senderInfo(fx, payer());
    await advanceRounds(fx, 2);
    expect(await currentRound(fx)).toBe(withdrawRound);
    const before = await balanceOf(fx, payer());
    const receipt = await send(fx, PAYER, brokerCall(fx, "withdraw"));
    const gasCost = receipt.gasUsed * receipt.effectiveGasPrice;
    expect(await balanceOf(fx, payer())).toBe(before + 5n * ETH - gasCost);
    expect(await balanceOf(fx, fx.addrs.ticketBroker)).toBe(0n);
    expect(events(receipt)).toEqual([
      { eventName: "Withdrawal", args: { sender: payer(), deposit: 3n * ETH, reserve: 2n * ETH } },
    ]);
    expect(await senderInfo(fx, payer())).toMatchObject({ deposit: 0n, reserve: 0n, withdrawRound });
    // Livepeer leaves withdrawRound set: the unlock still counts as in progress until cancelled.
    expect(await brokerRead("isUnlockInProgress", [payer()])).toBe(true);
    await expectRevert(fx, PAYER, brokerCall(fx, "withdraw"), "sender deposit and reserve are zero");
  });

  test("reverts in Livepeer's order: zero funds, no unlock, locked, paused", async () => {
    await expectRevert(fx, PAYER, brokerCall(fx, "withdraw"), "sender deposit and reserve are zero");
    await send(fx, PAYER, brokerCall(fx, "fundDeposit", [], ETH));
    await expectRevert(fx, PAYER, brokerCall(fx, "withdraw"), "no unlock request in progress");
    await send(fx, PAYER, brokerCall(fx, "unlock"));
    await expectRevert(fx, PAYER, brokerCall(fx, "withdraw"), "account is locked");
    await advanceRounds(fx, 1);
    await expectRevert(fx, PAYER, brokerCall(fx, "withdraw"), "account is locked");
    await advanceRounds(fx, 1);
    await send(fx, OWNER, brokerCall(fx, "pause"));
    await expectRevert(fx, PAYER, brokerCall(fx, "withdraw"), "system is paused");
  });

  test("reverts when the sender refuses the ETH, leaving its funds in place", async () => {
    const contract = "0x00000000000000000000000000000000000c0de1" as const;
    const wallet = await impersonate(fx, contract);
    const funded = await wallet.writeContract({
      address: fx.addrs.ticketBroker,
      abi: TicketBrokerAbi,
      functionName: "fundDeposit",
      value: ETH,
      gas: 200_000n,
    });
    expect((await fx.publicClient.waitForTransactionReceipt({ hash: funded })).status).toBe("success");
    const unlocked = await wallet.writeContract({
      address: fx.addrs.ticketBroker,
      abi: TicketBrokerAbi,
      functionName: "unlock",
      gas: 200_000n,
    });
    expect((await fx.publicClient.waitForTransactionReceipt({ hash: unlocked })).status).toBe("success");
    await advanceRounds(fx, 2);
    await fx.test.setCode({ address: contract, bytecode: REJECT_CODE });
    let reason: string | undefined;
    try {
      await fx.publicClient.simulateContract({
        account: contract,
        address: fx.addrs.ticketBroker,
        abi: TicketBrokerAbi,
        functionName: "withdraw",
      });
    } catch (err) {
      reason = revertReason(err);
    }
    expect(reason).toBe("withdrawal transfer failed");
    expect((await senderInfo(fx, contract)).deposit).toBe(ETH);
  });
});

describe("owner functions", () => {
  test("setUnlockPeriod updates the period and emits ParameterUpdate", async () => {
    const receipt = await send(fx, OWNER, brokerCall(fx, "setUnlockPeriod", [7n]));
    expect(events(receipt)).toEqual([{ eventName: "ParameterUpdate", args: { param: "unlockPeriod" } }]);
    expect(await brokerRead("unlockPeriod")).toBe(7n);
    await send(fx, OWNER, brokerCall(fx, "setUnlockPeriod", [0n]));
    expect(await brokerRead("unlockPeriod")).toBe(0n);
  });

  test("setUnlockPeriod: owner only, bounded", async () => {
    await expectRevert(fx, PAYER, brokerCall(fx, "setUnlockPeriod", [7n]), "caller must be Controller owner");
    await expectRevert(fx, OWNER, brokerCall(fx, "setUnlockPeriod", [2n ** 40n]), "unlockPeriod too large");
  });

  test("setTicketValidityPeriod updates the period and emits ParameterUpdate", async () => {
    const receipt = await send(fx, OWNER, brokerCall(fx, "setTicketValidityPeriod", [5n]));
    expect(events(receipt)).toEqual([
      { eventName: "ParameterUpdate", args: { param: "ticketValidityPeriod" } },
    ]);
    expect(await brokerRead("ticketValidityPeriod")).toBe(5n);
  });

  test("setTicketValidityPeriod: owner checked first, then > 0, then bounded", async () => {
    await expectRevert(
      fx,
      PAYER,
      brokerCall(fx, "setTicketValidityPeriod", [0n]),
      "caller must be Controller owner",
    );
    await expectRevert(
      fx,
      OWNER,
      brokerCall(fx, "setTicketValidityPeriod", [0n]),
      "ticketValidityPeriod must be greater than 0",
    );
    await expectRevert(
      fx,
      OWNER,
      brokerCall(fx, "setTicketValidityPeriod", [2n ** 48n]),
      "ticketValidityPeriod too large",
    );
  });

  test("pause / unpause", async () => {
    await expectRevert(fx, PAYER, brokerCall(fx, "pause"), "caller must be Controller owner");
    await expectRevert(fx, OWNER, brokerCall(fx, "unpause"), "system is not paused");
    const paused = await send(fx, OWNER, brokerCall(fx, "pause"));
    expect(events(paused)).toEqual([{ eventName: "Paused", args: { account: fx.accounts[OWNER]!.address } }]);
    expect(await brokerRead("paused")).toBe(true);
    await expectRevert(fx, OWNER, brokerCall(fx, "pause"), "system is paused");
    await expectRevert(fx, PAYER, brokerCall(fx, "unpause"), "caller must be Controller owner");
    const unpaused = await send(fx, OWNER, brokerCall(fx, "unpause"));
    expect(eventNames(unpaused)).toEqual(["Unpaused"]);
    await send(fx, PAYER, brokerCall(fx, "fundDeposit", [], 1n));
  });

  test("transferOwnership hands over the owner functions", async () => {
    await expectRevert(
      fx,
      PAYER,
      brokerCall(fx, "transferOwnership", [payer()]),
      "caller must be Controller owner",
    );
    await expectRevert(
      fx,
      OWNER,
      brokerCall(fx, "transferOwnership", ["0x0000000000000000000000000000000000000000"]),
      "new owner is the zero address",
    );
    const receipt = await send(fx, OWNER, brokerCall(fx, "transferOwnership", [payer()]));
    expect(events(receipt)).toEqual([
      {
        eventName: "OwnershipTransferred",
        args: { previousOwner: fx.accounts[OWNER]!.address, newOwner: payer() },
      },
    ]);
    await send(fx, PAYER, brokerCall(fx, "setUnlockPeriod", [3n]));
    await expectRevert(fx, OWNER, brokerCall(fx, "setUnlockPeriod", [4n]), "caller must be Controller owner");
  });
});

describe("withdrawFees", () => {
  test("reverts with nothing owed", async () => {
    await expectRevert(fx, PAYER, brokerCall(fx, "withdrawFees"), "no fees owed");
    expect(await brokerRead("feesOwed", [payer()])).toBe(0n);
  });
  // Crediting and withdrawing fees is covered with redemption in ticketBroker.redeem.test.ts.
});
