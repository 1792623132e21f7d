// TicketBroker: winning-ticket redemption (spec §7.3 order and strings), reserve claims (§7.4),
// payout and fee credits, batch redemption, and the ticket hash against @livepay/protocol.
import { SECP256K1_N, signTicket, ticketHash, type Ticket } from "@livepay/protocol";
import fc from "fast-check";
import { getAddress, keccak256, stringToHex, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { TicketBrokerAbi } from "../src/index.js";
import {
  MAX_UINT256,
  NEEDS_GAS_CODE,
  REJECT_CODE,
  ZERO_ADDRESS,
  advanceRounds,
  balanceOf,
  blockHashForRound,
  brokerCall,
  currentRound,
  eventNames,
  events,
  expectRevert,
  impersonate,
  joinSig,
  makeTicket,
  mineToNextRound,
  nextRound,
  read,
  redeemCall,
  registryCall,
  restore,
  revertReason,
  send,
  senderInfo,
  setup,
  splitSig,
  toContractTicket,
  type Fixture,
  type SignedTicket,
} from "./helpers.js";

let fx: Fixture;
let snap: Hex;
const ETH = 10n ** 18n;
const OWNER = 0;
const PAYER = 1;
const PAYER2 = 2;
const ORCH = 3; // registered, active
const ORCH2 = 4; // registered, active
const RELAYER = 5;
const OUTSIDER = 6; // never registered
const BROKE = 7; // never funded

const addr = (i: number) => fx.accounts[i]!.address;
const brokerRead = <T>(fn: string, args: readonly unknown[] = []) =>
  read<T>(fx, fx.addrs.ticketBroker, TicketBrokerAbi, fn, args);

beforeAll(async () => {
  fx = await setup({ roundLength: 50n, unlockPeriod: 2n, ticketValidityPeriod: 2n, poolMaxSize: 10n });
  await send(fx, ORCH, registryCall(fx, "register", ["https://o1.example"], 5n * ETH));
  await send(fx, ORCH2, registryCall(fx, "register", ["https://o2.example"], 3n * ETH));
  await send(fx, PAYER, brokerCall(fx, "fundDepositAndReserve", [ETH, 2n * ETH], 3n * ETH));
  await nextRound(fx);
  snap = await fx.test.snapshot();
});
afterAll(async () => {
  await fx?.stop();
});
beforeEach(async () => {
  snap = await restore(fx, snap);
});

const ticket = (
  over: Parameters<typeof makeTicket>[3] = {},
  recipient: Address = addr(ORCH),
  sender = PAYER,
) => makeTicket(fx, sender, recipient, over);
const withStruct = (t: SignedTicket, struct: Partial<SignedTicket["struct"]>) => ({
  ...t,
  struct: { ...t.struct, ...struct },
});

describe("getTicketHash", () => {
  test("matches go-livepeer's vectors (spec §8.1)", async () => {
    const zero = `0x${"00".repeat(20)}` as Hex;
    const z32 = `0x${"00".repeat(32)}` as Hex;
    const foo = keccak256(stringToHex("foo"));
    const base: Ticket = {
      recipient: zero,
      sender: zero,
      faceValue: 0n,
      winProb: 0n,
      senderNonce: 0n,
      recipientRandHash: z32,
      creationRound: 0n,
      creationRoundBlockHash: z32,
    };
    const vectors: [Partial<Ticket>, string][] = [
      [{ senderNonce: 4294967295n }, "e1393fc7f6de093780674022f96cb8e3872235167d037c04d554e58c0e63d280"],
      [{ senderNonce: 1n }, "ce0918ba94518293e9712effbe5fca4f1f431089833a5b8c257cb1e024595f68"],
      [{ faceValue: 1n, winProb: 500n }, "87ef13f2d37e4d5352a01d3c77b8179d80e0887f1953bfabfd0bfd7b0f689ddd"],
      [{ faceValue: 500n, winProb: 1n }, "aa4b35071043587992ac8b9dd1b2cf1d8311130e6458cf0b2342484e21af5f5b"],
      [
        { recipient: "0x73aed7b5deb30222fa896f399d46cc99c7bee57f" },
        "81e353ae39046e2b77b9f996abbaeed527fda559b61ef90f299c4499dd508ccc",
      ],
      [{ recipientRandHash: foo }, "be5eaf9a49a39540b9bb02f1a21904f61324a29819e2c032824bfaa10c100b17"],
      [
        { creationRound: 10n, creationRoundBlockHash: foo },
        "e502907c16036ab3d11b78c5a2e93c20f3d6415c67f91de4ed01348182b3b2e2",
      ],
    ];
    for (const [over, expected] of vectors) {
      expect(await brokerRead("getTicketHash", [toContractTicket({ ...base, ...over })])).toBe(
        `0x${expected}`,
      );
    }
  });

  test("equals @livepay/protocol ticketHash for random tickets", async () => {
    const hex = (n: number) =>
      fc.uint8Array({ minLength: n, maxLength: n }).map((b) => `0x${Buffer.from(b).toString("hex")}` as Hex);
    const uint = fc.oneof(fc.bigInt({ min: 0n, max: MAX_UINT256 }), fc.bigInt({ min: 0n, max: 2n ** 64n }));
    const arb = fc.record({
      recipient: hex(20),
      sender: hex(20),
      faceValue: uint,
      winProb: uint,
      senderNonce: fc.bigInt({ min: 0n, max: 0xffffffffn }),
      recipientRandHash: hex(32),
      creationRound: fc.oneof(fc.constant(0n), uint),
      creationRoundBlockHash: fc.oneof(fc.constant(`0x${"00".repeat(32)}` as Hex), hex(32)),
    });
    await fc.assert(
      fc.asyncProperty(arb, async (t) => {
        expect(await brokerRead("getTicketHash", [toContractTicket(t)])).toBe(ticketHash(t));
      }),
      { numRuns: 50 },
    );
  });
});

describe("redeemWinningTicket: payout", () => {
  test("a ticket signed off-chain is accepted; paid from the deposit straight to the recipient", async () => {
    const t = await ticket({ faceValue: ETH / 4n });
    const before = await balanceOf(fx, addr(ORCH));
    const receipt = await send(fx, RELAYER, redeemCall(fx, t));
    expect(await balanceOf(fx, addr(ORCH))).toBe(before + ETH / 4n);
    expect(await brokerRead("usedTickets", [ticketHash(t.ticket)])).toBe(true);
    expect(await senderInfo(fx, addr(PAYER))).toMatchObject({ deposit: (3n * ETH) / 4n, reserve: 2n * ETH });
    expect(events(receipt)).toEqual([
      {
        eventName: "WinningTicketTransfer",
        args: { sender: addr(PAYER), recipient: addr(ORCH), amount: ETH / 4n },
      },
      {
        eventName: "WinningTicketRedeemed",
        args: {
          sender: addr(PAYER),
          recipient: addr(ORCH),
          faceValue: ETH / 4n,
          winProb: MAX_UINT256,
          senderNonce: t.ticket.senderNonce,
          recipientRand: t.rand,
          auxData: t.struct.auxData,
        },
      },
    ]);
    expect(await balanceOf(fx, fx.addrs.ticketBroker)).toBe(3n * ETH - ETH / 4n);
  });

  test("a ticket whose winProb is below 2^256-1 wins when keccak(sig ‖ rand) < winProb", async () => {
    // Search a few signatures for one that wins with probability 1/2.
    for (let i = 0; i < 20; i++) {
      const t = await ticket({ winProb: MAX_UINT256 / 2n, faceValue: 1000n });
      const win =
        BigInt(keccak256(`0x${t.sig.slice(2)}${t.rand.toString(16).padStart(64, "0")}`)) < MAX_UINT256 / 2n;
      if (win) {
        await send(fx, ORCH, redeemCall(fx, t));
        return;
      }
      await expectRevert(fx, ORCH, redeemCall(fx, t), "ticket did not win");
    }
    throw new Error("no winning ticket in 20 tries (p = 2^-20)");
  });

  test("face value above the deposit: deposit, then the recipient's reserve share", async () => {
    // pool size 2, reserve 2 ETH: each active recipient may claim 1 ETH per round.
    expect(await brokerRead("claimableReserve", [addr(PAYER), addr(ORCH)])).toBe(ETH);
    const t = await ticket({ faceValue: (3n * ETH) / 2n });
    const receipt = await send(fx, ORCH, redeemCall(fx, t));
    expect(events(receipt).slice(0, 2)).toEqual([
      {
        eventName: "ReserveClaimed",
        args: { reserveHolder: addr(PAYER), claimant: addr(ORCH), amount: ETH / 2n },
      },
      {
        eventName: "WinningTicketTransfer",
        args: { sender: addr(PAYER), recipient: addr(ORCH), amount: (3n * ETH) / 2n },
      },
    ]);
    expect(await senderInfo(fx, addr(PAYER))).toMatchObject({
      deposit: 0n,
      reserve: (3n * ETH) / 2n,
      claimedInCurrentRound: ETH / 2n,
    });
    expect(await brokerRead("claimedReserve", [addr(PAYER), addr(ORCH)])).toBe(ETH / 2n);
    // floor((funds + claimedForRound) / poolSize) - claimedByAddress = (1.5 + 0.5) / 2 - 0.5
    expect(await brokerRead("claimableReserve", [addr(PAYER), addr(ORCH)])).toBe(ETH / 2n);
    expect(await brokerRead("claimableReserve", [addr(PAYER), addr(ORCH2)])).toBe(ETH);

    // A second big ticket only gets the rest of the share; the rest of the face value is lost.
    const t2 = await ticket({ faceValue: 2n * ETH });
    const r2 = await send(fx, ORCH, redeemCall(fx, t2));
    expect(events(r2)[1]).toMatchObject({ eventName: "WinningTicketTransfer", args: { amount: ETH / 2n } });
    expect(await brokerRead("claimableReserve", [addr(PAYER), addr(ORCH)])).toBe(0n);
    // Exhausted share: the ticket is used, WinningTicketRedeemed is emitted, nothing is transferred.
    const t3 = await ticket({ faceValue: ETH });
    const r3 = await send(fx, ORCH, redeemCall(fx, t3));
    expect(eventNames(r3)).toEqual(["WinningTicketRedeemed"]);
    // The other recipient still has its full share; next round the shares are recomputed.
    await send(fx, ORCH2, redeemCall(fx, await ticket({ faceValue: 5n * ETH }, addr(ORCH2))));
    expect((await senderInfo(fx, addr(PAYER))).reserve).toBe(0n);
  });

  test("claimable reserve divides before subtracting and saturates at zero", async () => {
    await send(fx, PAYER2, brokerCall(fx, "fundReserve", [], 7n));
    // pool 2: floor(7 / 2) = 3 each
    expect(await brokerRead("claimableReserve", [addr(PAYER2), addr(ORCH)])).toBe(3n);
    await send(fx, ORCH, redeemCall(fx, await ticket({ faceValue: 100n }, addr(ORCH), PAYER2)));
    // funds 4, claimed 3: floor((4 + 3) / 2) - 3 = 0
    expect(await brokerRead("claimableReserve", [addr(PAYER2), addr(ORCH)])).toBe(0n);
    expect(await brokerRead("claimableReserve", [addr(PAYER2), addr(ORCH2)])).toBe(3n);
    // A third orchestrator joins mid-round: shares shrink to floor(7 / 3) = 2 < 3 already claimed -> 0, not an underflow.
    await send(fx, OUTSIDER, registryCall(fx, "register", ["x"], ETH));
    expect(await brokerRead("claimableReserve", [addr(PAYER2), addr(ORCH)])).toBe(0n);
    expect(await brokerRead("claimableReserve", [addr(PAYER2), addr(OUTSIDER)])).toBe(2n);
    await send(fx, OUTSIDER, registryCall(fx, "unbond", [ETH]));
  });

  test("claimable reserve is zero for an inactive recipient and for an empty pool", async () => {
    expect(await brokerRead("claimableReserve", [addr(PAYER), addr(OUTSIDER)])).toBe(0n);
    const t = await ticket({ faceValue: 2n * ETH }, addr(OUTSIDER));
    const receipt = await send(fx, OUTSIDER, redeemCall(fx, t));
    // Only the deposit is paid.
    expect(events(receipt)[0]).toMatchObject({ eventName: "WinningTicketTransfer", args: { amount: ETH } });
    await send(fx, ORCH, registryCall(fx, "deactivate"));
    await send(fx, ORCH2, registryCall(fx, "deactivate"));
    expect(await brokerRead("claimableReserve", [addr(PAYER), addr(ORCH)])).toBe(0n);
    const t2 = await ticket({ faceValue: ETH }, addr(ORCH));
    expect(eventNames(await send(fx, ORCH, redeemCall(fx, t2)))).toEqual(["WinningTicketRedeemed"]);
  });

  test("claimable reserve is capped by the funds left (more claimants than the pool size in one round)", async () => {
    await send(fx, ORCH2, registryCall(fx, "deactivate"));
    await send(fx, PAYER2, brokerCall(fx, "fundReserve", [], 10n));
    // pool 1 (ORCH): its share is all 10; it claims 6.
    await send(fx, ORCH, redeemCall(fx, await ticket({ faceValue: 6n }, addr(ORCH), PAYER2)));
    await send(fx, ORCH, registryCall(fx, "deactivate"));
    await send(fx, ORCH2, registryCall(fx, "reactivate"));
    // ORCH2's share is floor((4 + 6) / 1) - 0 = 10, but only 4 are left.
    expect(await brokerRead("claimableReserve", [addr(PAYER2), addr(ORCH2)])).toBe(4n);
    const receipt = await send(
      fx,
      ORCH2,
      redeemCall(fx, await ticket({ faceValue: 10n }, addr(ORCH2), PAYER2)),
    );
    expect(events(receipt)[1]).toMatchObject({ eventName: "WinningTicketTransfer", args: { amount: 4n } });
    expect((await senderInfo(fx, addr(PAYER2))).reserve).toBe(0n);
  });

  test("per-round claim maps: claimedReserve and claimedInCurrentRound reset next round", async () => {
    await send(fx, ORCH, redeemCall(fx, await ticket({ faceValue: ETH + 100n })));
    expect(await brokerRead("claimedReserve", [addr(PAYER), addr(ORCH)])).toBe(100n);
    await nextRound(fx);
    expect(await brokerRead("claimedReserve", [addr(PAYER), addr(ORCH)])).toBe(0n);
    expect((await senderInfo(fx, addr(PAYER))).claimedInCurrentRound).toBe(0n);
    // floor((2 ETH - 100) / 2)
    expect(await brokerRead("claimableReserve", [addr(PAYER), addr(ORCH)])).toBe((2n * ETH - 100n) / 2n);
  });

  test("a recipient that needs more than the call stipend is credited, then withdraws its fees", async () => {
    const payee = getAddress("0x00000000000000000000000000000000000fee01");
    await fx.test.setCode({ address: payee, bytecode: NEEDS_GAS_CODE });
    const t = await ticket({ faceValue: 1234n }, payee);
    const receipt = await send(fx, RELAYER, redeemCall(fx, t));
    expect(eventNames(receipt)).toEqual(["WinningTicketTransfer", "WinningTicketRedeemed", "FeesCredited"]);
    expect(events(receipt)[0]!.args).toEqual({ sender: addr(PAYER), recipient: payee, amount: 1234n });
    expect(events(receipt)[2]!.args).toEqual({ recipient: payee, amount: 1234n });
    expect(await brokerRead("feesOwed", [payee])).toBe(1234n);
    expect(await balanceOf(fx, payee)).toBe(0n);
    const wallet = await impersonate(fx, payee, 0n);
    await fx.test.setBalance({ address: payee, value: ETH });
    const hash = await wallet.writeContract({
      address: fx.addrs.ticketBroker,
      abi: TicketBrokerAbi,
      functionName: "withdrawFees",
      gas: 200_000n,
    });
    const r2 = await fx.publicClient.waitForTransactionReceipt({ hash });
    expect(r2.status).toBe("success");
    expect(events(r2)).toEqual([{ eventName: "FeesWithdrawn", args: { recipient: payee, amount: 1234n } }]);
    expect(await brokerRead("feesOwed", [payee])).toBe(0n);
    expect(await balanceOf(fx, payee)).toBe(ETH + 1234n - r2.gasUsed * r2.effectiveGasPrice);
  });

  test("withdrawFees reverts when the payee refuses the ETH", async () => {
    const payee = "0x00000000000000000000000000000000000fee02" as Address;
    await fx.test.setCode({ address: payee, bytecode: REJECT_CODE });
    await send(fx, RELAYER, redeemCall(fx, await ticket({ faceValue: 99n }, payee)));
    expect(await brokerRead("feesOwed", [payee])).toBe(99n);
    await impersonate(fx, payee);
    let reason: string | undefined;
    try {
      await fx.publicClient.simulateContract({
        account: payee,
        address: fx.addrs.ticketBroker,
        abi: TicketBrokerAbi,
        functionName: "withdrawFees",
      });
    } catch (err) {
      reason = revertReason(err);
    }
    expect(reason).toBe("fee transfer failed");
  });
});

describe("redeemWinningTicket: validation order and revert strings (spec §7.3)", () => {
  test("1. system is paused", async () => {
    const t = await ticket();
    await send(fx, OWNER, brokerCall(fx, "pause"));
    await expectRevert(fx, ORCH, redeemCall(fx, t), "system is paused");
  });

  test("2. current round is not initialized (checked before anything about the ticket)", async () => {
    await mineToNextRound(fx);
    await fx.test.mine({ blocks: 1 });
    const bad = withStruct(await ticket(), { recipient: ZERO_ADDRESS, auxData: "0x" });
    await expectRevert(fx, ORCH, redeemCall(fx, bad), "current round is not initialized");
  });

  test("3. ticket recipient is null address", async () => {
    const t = await ticket({}, ZERO_ADDRESS);
    await expectRevert(
      fx,
      ORCH,
      redeemCall(fx, withStruct(t, { sender: ZERO_ADDRESS })),
      "ticket recipient is null address",
    );
  });

  test("4. ticket sender is null address", async () => {
    const t = await ticket();
    await expectRevert(
      fx,
      ORCH,
      redeemCall(fx, withStruct(t, { sender: ZERO_ADDRESS, auxData: "0x" })),
      "ticket sender is null address",
    );
  });

  test("5. invalid length for ticket auxData: must be 64 bytes", async () => {
    const t = await ticket();
    const reason = "invalid length for ticket auxData: must be 64 bytes";
    await expectRevert(fx, ORCH, redeemCall(fx, withStruct(t, { auxData: "0x" })), reason);
    await expectRevert(
      fx,
      ORCH,
      redeemCall(fx, withStruct(t, { auxData: t.struct.auxData.slice(0, 2 + 63 * 2) as Hex })),
      reason,
    );
    await expectRevert(fx, ORCH, redeemCall(fx, withStruct(t, { auxData: `${t.struct.auxData}00` })), reason);
  });

  test("6. ticket creationRound does not have a block hash", async () => {
    const round = await currentRound(fx);
    const t = await ticket({ creationRound: round + 1n, creationRoundBlockHash: keccak256("0x01") });
    await expectRevert(fx, ORCH, redeemCall(fx, t), "ticket creationRound does not have a block hash");
  });

  test("7. ticket creationRoundBlockHash invalid for creationRound", async () => {
    const t = await ticket({ creationRoundBlockHash: keccak256("0x01") });
    await expectRevert(
      fx,
      ORCH,
      redeemCall(fx, t),
      "ticket creationRoundBlockHash invalid for creationRound",
    );
  });

  test("8. ticket is expired: creationRound + ticketValidityPeriod must exceed the current round", async () => {
    const t = await ticket();
    const t2 = await ticket();
    await nextRound(fx);
    await send(fx, ORCH, redeemCall(fx, t)); // one round later: still valid
    await nextRound(fx);
    await expectRevert(fx, ORCH, redeemCall(fx, t2), "ticket is expired");
    // with a longer validity period the same ticket is valid again
    await send(fx, OWNER, brokerCall(fx, "setTicketValidityPeriod", [3n]));
    await send(fx, ORCH, redeemCall(fx, t2));
  });

  test("9. recipientRand does not match recipientRandHash", async () => {
    const t = await ticket();
    await expectRevert(
      fx,
      ORCH,
      redeemCall(fx, { ...t, rand: t.rand + 1n }),
      "recipientRand does not match recipientRandHash",
    );
  });

  test("10. ticket is used (keyed by the ticket hash, not the signature)", async () => {
    const t = await ticket();
    await send(fx, ORCH, redeemCall(fx, t));
    await expectRevert(fx, ORCH, redeemCall(fx, t), "ticket is used");
    // The same ticket with a different (malformed) signature is still "used": the check comes first.
    await expectRevert(fx, ORCH, redeemCall(fx, { ...t, sig: "0x01" }), "ticket is used");
  });

  test("11. INVALID_SIGNATURE_LENGTH (EIP-2098 compact and longer signatures too)", async () => {
    const t = await ticket();
    const { r, s, v } = splitSig(t.sig);
    const compact =
      `0x${r.toString(16).padStart(64, "0")}${((BigInt(v - 27) << 255n) | s).toString(16).padStart(64, "0")}` as Hex;
    await expectRevert(fx, ORCH, redeemCall(fx, { ...t, sig: compact }), "INVALID_SIGNATURE_LENGTH");
    await expectRevert(fx, ORCH, redeemCall(fx, { ...t, sig: `${t.sig}00` }), "INVALID_SIGNATURE_LENGTH");
    await expectRevert(fx, ORCH, redeemCall(fx, { ...t, sig: "0x" }), "INVALID_SIGNATURE_LENGTH");
  });

  test("12a. ECDSA: invalid signature 's' value (the malleable twin of a valid signature)", async () => {
    const t = await ticket();
    const { r, s, v } = splitSig(t.sig);
    const twin = joinSig(r, SECP256K1_N - s, v === 27 ? 28 : 27);
    await expectRevert(fx, ORCH, redeemCall(fx, { ...t, sig: twin }), "ECDSA: invalid signature 's' value");
  });

  test("12b. ECDSA: invalid signature 'v' value (OZ 4.4.1 string, as deployed on Arbitrum)", async () => {
    const t = await ticket();
    const { r, s, v } = splitSig(t.sig);
    for (const bad of [v - 27, 29, 0xe5]) {
      await expectRevert(
        fx,
        ORCH,
        redeemCall(fx, { ...t, sig: joinSig(r, s, bad) }),
        "ECDSA: invalid signature 'v' value",
      );
    }
  });

  test("12c. ECDSA: invalid signature (no signer recovers)", async () => {
    const t = await ticket();
    await expectRevert(
      fx,
      ORCH,
      redeemCall(fx, { ...t, sig: joinSig(0n, 1n, 27) }),
      "ECDSA: invalid signature",
    );
  });

  test("12d. invalid signature over ticket hash (signed by someone else, or over another ticket)", async () => {
    const t = await ticket({ signerKey: fx.accounts[PAYER2]!.privateKey });
    await expectRevert(fx, ORCH, redeemCall(fx, t), "invalid signature over ticket hash");
    const good = await ticket();
    await expectRevert(
      fx,
      ORCH,
      redeemCall(fx, withStruct(good, { faceValue: good.struct.faceValue + 1n })),
      "invalid signature over ticket hash",
    );
  });

  test("13. ticket did not win", async () => {
    const t = await ticket({ winProb: 0n });
    await expectRevert(fx, ORCH, redeemCall(fx, t), "ticket did not win");
  });

  test("14. sender is unlocked (from withdrawRound on; before that the unlocking sender still pays)", async () => {
    await send(fx, PAYER, brokerCall(fx, "unlock"));
    await nextRound(fx);
    await send(fx, ORCH, redeemCall(fx, await ticket({ faceValue: 1n })));
    await nextRound(fx);
    await expectRevert(fx, ORCH, redeemCall(fx, await ticket()), "sender is unlocked");
  });

  test("15. sender deposit and reserve are zero", async () => {
    await expectRevert(
      fx,
      ORCH,
      redeemCall(fx, await ticket({}, addr(ORCH), BROKE)),
      "sender deposit and reserve are zero",
    );
  });

  test("a failed redemption changes nothing", async () => {
    const t = await ticket({ winProb: 0n });
    const before = await senderInfo(fx, addr(PAYER));
    await expectRevert(fx, ORCH, redeemCall(fx, t), "ticket did not win");
    expect(await senderInfo(fx, addr(PAYER))).toEqual(before);
    expect(await brokerRead("usedTickets", [ticketHash(t.ticket)])).toBe(false);
  });
});

describe("batchRedeemWinningTickets", () => {
  const batchCall = (ts: SignedTicket[]) =>
    brokerCall(fx, "batchRedeemWinningTickets", [
      ts.map((t) => t.struct),
      ts.map((t) => t.sig),
      ts.map((t) => t.rand),
    ]);

  test("redeems the valid tickets and silently skips the failing ones", async () => {
    const good1 = await ticket({ faceValue: 10n });
    const lost = await ticket({ faceValue: 20n, winProb: 0n });
    const good2 = await ticket({ faceValue: 30n }, addr(ORCH2));
    const forged = { ...(await ticket({ faceValue: 40n })), sig: joinSig(1n, 1n, 27) };
    const before = await balanceOf(fx, addr(ORCH2));
    const receipt = await send(fx, RELAYER, batchCall([good1, lost, good1, good2, forged]));
    const transfers = events(receipt).filter((e) => e.eventName === "WinningTicketTransfer");
    expect(transfers.map((e) => e.args.amount)).toEqual([10n, 30n]);
    expect((await senderInfo(fx, addr(PAYER))).deposit).toBe(ETH - 40n);
    expect(await balanceOf(fx, addr(ORCH2))).toBe(before + 30n);
    expect(await brokerRead("usedTickets", [ticketHash(lost.ticket)])).toBe(false);
  });

  test("pays each run of tickets for the same recipient with one transfer", async () => {
    const payee = getAddress("0x00000000000000000000000000000000000fee03");
    await fx.test.setCode({ address: payee, bytecode: NEEDS_GAS_CODE });
    const ts = [
      await ticket({ faceValue: 10n }, payee),
      await ticket({ faceValue: 20n }, payee),
      await ticket({ faceValue: 5n }, addr(ORCH2)),
      await ticket({ faceValue: 7n }, payee),
    ];
    const before = await balanceOf(fx, addr(ORCH2));
    const receipt = await send(fx, RELAYER, batchCall(ts));
    const credited = events(receipt)
      .filter((e) => e.eventName === "FeesCredited")
      .map((e) => e.args.amount);
    expect(credited).toEqual([30n, 7n]);
    expect(
      events(receipt)
        .filter((e) => e.eventName === "WinningTicketTransfer")
        .map((e) => e.args.amount),
    ).toEqual([10n, 20n, 5n, 7n]);
    expect(await brokerRead("feesOwed", [payee])).toBe(37n);
    expect(await balanceOf(fx, addr(ORCH2))).toBe(before + 5n);
  });

  test("an empty batch succeeds", async () => {
    expect(eventNames(await send(fx, RELAYER, batchCall([])))).toEqual([]);
  });

  test("reverts when paused or when the round is not initialized", async () => {
    const t = await ticket();
    await send(fx, OWNER, brokerCall(fx, "pause"));
    await expectRevert(fx, RELAYER, batchCall([t]), "system is paused");
    await send(fx, OWNER, brokerCall(fx, "unpause"));
    await mineToNextRound(fx);
    await fx.test.mine({ blocks: 1 });
    await expectRevert(fx, RELAYER, batchCall([t]), "current round is not initialized");
  });

  test("reverts when the arrays are shorter than the ticket list", async () => {
    const t = await ticket();
    const call = brokerCall(fx, "batchRedeemWinningTickets", [
      [t.struct, t.struct],
      [t.sig],
      [t.rand, t.rand],
    ]);
    let failed = false;
    try {
      await send(fx, RELAYER, call);
    } catch {
      failed = true;
    }
    expect(failed).toBe(true);
  });

  test("tickets from several rounds and senders in one batch", async () => {
    await send(fx, PAYER2, brokerCall(fx, "fundDeposit", [], ETH));
    const old = await ticket({ faceValue: 5n });
    const round = await nextRound(fx);
    const fresh = await ticket({ faceValue: 7n }, addr(ORCH), PAYER2);
    expect(fresh.ticket.creationRound).toBe(round);
    expect(fresh.ticket.creationRoundBlockHash).toBe(await blockHashForRound(fx, round));
    const receipt = await send(fx, ORCH, batchCall([old, fresh]));
    expect(eventNames(receipt).filter((n) => n === "WinningTicketRedeemed")).toHaveLength(2);
  });
});

describe("signing compatibility", () => {
  test("a ticket signed with viem's personal-sign is accepted too", async () => {
    const t = await ticket({ faceValue: 3n });
    const sig = await privateKeyToAccount(fx.accounts[PAYER]!.privateKey).signMessage({
      message: { raw: ticketHash(t.ticket) },
    });
    expect(sig).toBe(signTicket(t.ticket, fx.accounts[PAYER]!.privateKey));
    await send(fx, ORCH, redeemCall(fx, { ...t, sig }));
  });

  test("advancing several rounds keeps old tickets expired", async () => {
    const t = await ticket();
    await advanceRounds(fx, 3);
    await expectRevert(fx, ORCH, redeemCall(fx, t), "ticket is expired");
  });
});
