import { MAX_UINT256, signTicket, ticketHash, type Ticket } from "@livepay/protocol";
import { encodePacked, keccak256, parseEther, zeroHash, type Address, type Hex } from "viem";
import { generatePrivateKey } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectChain } from "./connect.js";
import { startDevnet, type Devnet } from "./devnet.js";
import { ChainError } from "./errors.js";
import type { LivepeerChain } from "./livepeerChain.js";
import type { DevnetAccount } from "./manifest.js";

let devnet: Devnet;
let gateway: DevnetAccount;
let orchestrator: DevnetAccount;
let chain: LivepeerChain;

beforeAll(async () => {
  devnet = await startDevnet({ roundLength: 10n, blockTimeMs: 0, roundCheckMs: 0 });
  gateway = devnet.manifest.accounts.find((a) => a.role === "gateway")!;
  orchestrator = devnet.manifest.accounts.find((a) => a.role === "orchestrator")!;
  chain = await connectChain({
    network: "devnet",
    manifest: devnet.manifest,
    privateKey: gateway.privateKey,
  });
});

afterAll(async () => {
  await devnet?.stop();
});

async function expectRevert(p: Promise<unknown>, reason: string): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ChainError);
  expect((err as ChainError).code).toBe("CHAIN_REVERTED");
  expect((err as ChainError).reason).toBe(reason);
  expect((err as ChainError).message).toBe(reason);
}

describe("LivepeerChain on the devnet", () => {
  it("reads rounds and the active set", async () => {
    expect(chain.chainId).toBe(devnet.manifest.chainId);
    expect(await chain.currentRoundInitialized()).toBe(true);
    const round = await chain.currentRound();
    expect(await chain.lastInitializedRound()).toBe(round);
    expect(await chain.blockHashForRound(round)).not.toBe(zeroHash);
    expect(await chain.blockHashForRound(round + 100n)).toBe(zeroHash);
    expect(await chain.unlockPeriod()).toBe(2n);
    expect(await chain.ticketValidityPeriod()).toBe(2n);
    expect(await chain.getTranscoderPoolSize()).toBe(3n);
    expect(await chain.isActiveTranscoder(orchestrator.address)).toBe(true);
    expect(await chain.isActiveTranscoder(gateway.address)).toBe(false);
    const head = await chain.blockNumber();
    expect(await chain.roundsBlockNumber()).toBe(head);
    expect(head / 10n).toBe(round);
  });

  it("funds, unlocks, cancels, withdraws, and surfaces revert reasons", async () => {
    const me = gateway.address;
    expect(await chain.getSenderInfo(me)).toEqual({
      deposit: 0n,
      withdrawRound: 0n,
      reserve: { fundsRemaining: 0n, claimedInCurrentRound: 0n },
    });
    await expectRevert(chain.unlock(), "sender deposit and reserve are zero");
    await expectRevert(chain.withdraw(), "sender deposit and reserve are zero");
    await expectRevert(chain.cancelUnlock(), "no unlock request in progress");

    const tx = await chain.fundDeposit(parseEther("1"));
    expect(tx.hash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(tx.gasUsed).toBeGreaterThan(21_000n);
    await chain.fundReserve(parseEther("0.5"));
    await chain.fundDepositAndReserve(parseEther("0.25"), 7n);
    let info = await chain.getSenderInfo(me);
    expect(info.deposit).toBe(parseEther("1.25"));
    expect(info.reserve.fundsRemaining).toBe(parseEther("0.5") + 7n);

    await expectRevert(chain.withdraw(), "no unlock request in progress");
    const round = await chain.currentRound();
    await chain.unlock();
    expect((await chain.getSenderInfo(me)).withdrawRound).toBe(round + 2n);
    await expectRevert(chain.unlock(), "unlock already initiated");
    await chain.cancelUnlock();
    expect((await chain.getSenderInfo(me)).withdrawRound).toBe(0n);
    await chain.unlock();
    await expectRevert(chain.withdraw(), "account is locked");

    await devnet.nextRound();
    await devnet.nextRound();
    const before = await chain.balanceOf(me);
    const w = await chain.withdraw();
    info = await chain.getSenderInfo(me);
    expect(info.deposit).toBe(0n);
    expect(info.reserve.fundsRemaining).toBe(0n);
    const after = await chain.balanceOf(me);
    // Everything came back, minus the gas of the withdrawal.
    const total = parseEther("1.75") + 7n;
    expect(after - before < total).toBe(true);
    expect(after - before > total - parseEther("0.001")).toBe(true);
    expect(w.gasUsed).toBeGreaterThan(0n);
    await expectRevert(chain.withdraw(), "sender deposit and reserve are zero");

    const events = await chain.getBrokerEvents(tx.blockNumber, w.blockNumber, [me]);
    expect(events.map((e) => e.name)).toEqual([
      "DepositFunded",
      "ReserveFunded",
      "ReserveFunded",
      "DepositFunded",
      "Unlock",
      "UnlockCancelled",
      "Unlock",
      "Withdrawal",
    ]);
    expect(await chain.getBrokerEvents(tx.blockNumber, w.blockNumber, [orchestrator.address])).toEqual([]);
  });

  it("redeems a winning ticket signed by @livepay/protocol", async () => {
    const payer = devnet.manifest.accounts.find(
      (a) => a.role === "gateway" && a.address !== gateway.address,
    )!;
    const payerChain = await connectChain({
      network: "devnet",
      manifest: devnet.manifest,
      privateKey: payer.privateKey,
    });
    await payerChain.fundDepositAndReserve(parseEther("0.01"), parseEther("0.03"));
    const creationRound = await chain.lastInitializedRound();
    const recipientRand = 5n;
    const ticket: Ticket = {
      recipient: orchestrator.address.toLowerCase() as Hex,
      sender: payer.address.toLowerCase() as Hex,
      faceValue: parseEther("0.015"),
      winProb: MAX_UINT256,
      senderNonce: 1n,
      recipientRandHash: keccak256(encodePacked(["uint256"], [recipientRand])),
      creationRound,
      creationRoundBlockHash: await chain.blockHashForRound(creationRound),
    };
    const sig = signTicket(ticket, payer.privateKey!);
    const hash = ticketHash(ticket);
    expect(await chain.usedTickets(hash)).toBe(false);
    // 0.03 ETH reserve over a pool of 3: each orchestrator may claim 0.01 ETH this round.
    expect(await chain.claimableReserve(payer.address, orchestrator.address)).toBe(parseEther("0.01"));

    const before = await chain.balanceOf(orchestrator.address);
    // Anyone may submit a winning ticket; here the first gateway's client does.
    await expectRevert(
      chain.redeemWinningTicket(ticket, sig, 6n),
      "recipientRand does not match recipientRandHash",
    );
    const tx = await chain.redeemWinningTicket(ticket, sig, recipientRand);
    expect(await chain.usedTickets(hash)).toBe(true);
    expect((await chain.balanceOf(orchestrator.address)) - before).toBe(parseEther("0.015"));
    const info = await chain.getSenderInfo(payer.address);
    expect(info.deposit).toBe(0n);
    expect(info.reserve.fundsRemaining).toBe(parseEther("0.025"));
    expect(info.reserve.claimedInCurrentRound).toBe(parseEther("0.005"));
    expect(await chain.claimedReserve(payer.address, orchestrator.address)).toBe(parseEther("0.005"));
    expect(await chain.claimableReserve(payer.address, orchestrator.address)).toBe(parseEther("0.005"));
    const events = await chain.getBrokerEvents(tx.blockNumber, tx.blockNumber);
    expect(events.map((e) => e.name)).toEqual(["ReserveClaimed", "WinningTicketTransfer"]);
    expect(events[1]).toMatchObject({
      sender: payer.address,
      recipient: orchestrator.address,
      amount: parseEther("0.015"),
    });
    await expectRevert(chain.redeemWinningTicket(ticket, sig, recipientRand), "ticket is used");
  });

  it("refuses writes without a key and reports config and RPC errors", async () => {
    const readOnly = await connectChain({ network: "devnet", manifest: devnet.manifest });
    expect(readOnly.account).toBeUndefined();
    await expect(readOnly.fundDeposit(1n)).rejects.toMatchObject({ code: "CHAIN_NO_ACCOUNT" });
    await expect(
      connectChain({ network: "devnet", manifest: { ...devnet.manifest, chainId: 1 } }),
    ).rejects.toMatchObject({ code: "CHAIN_CONFIG" });
    const noBroker = {
      ...devnet.manifest,
      contracts: { ...devnet.manifest.contracts, ticketBroker: gateway.address as Address },
    };
    await expect(connectChain({ network: "devnet", manifest: noBroker })).rejects.toMatchObject({
      code: "CHAIN_CONFIG",
    });
    await expect(
      connectChain({ network: "devnet", manifest: devnet.manifest, rpcUrl: "http://127.0.0.1:1" }),
    ).rejects.toMatchObject({ code: "CHAIN_RPC" });
  });

  it("reports an account that cannot pay as CHAIN_INSUFFICIENT_FUNDS", async () => {
    const poor = await connectChain({
      network: "devnet",
      manifest: devnet.manifest,
      privateKey: generatePrivateKey(),
    });
    await expect(poor.fundDeposit(parseEther("1"))).rejects.toMatchObject({
      code: "CHAIN_INSUFFICIENT_FUNDS",
    });
    // A revert is still a revert, whatever the balance.
    await expectRevert(poor.unlock(), "sender deposit and reserve are zero");
  });

  it("does not let concurrent writes from one account race on nonces", async () => {
    const user = devnet.manifest.accounts.find((a) => a.role === "user")!;
    const c = await connectChain({
      network: "devnet",
      manifest: devnet.manifest,
      privateKey: user.privateKey,
    });
    await Promise.all([c.fundDeposit(1n), c.fundDeposit(2n), c.fundReserve(3n), c.fundDeposit(4n)]);
    const info = await c.getSenderInfo(user.address);
    expect(info.deposit).toBe(7n);
    expect(info.reserve.fundsRemaining).toBe(3n);
  });
});
