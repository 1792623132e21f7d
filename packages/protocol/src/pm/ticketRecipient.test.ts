import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Hex } from "../bytes/hex.js";
import { hexToBytes } from "../bytes/hex.js";
import { MAX_UINT256 } from "../bytes/integers.js";
import { Rational } from "../money/rational.js";
import { ReceiveTicketError } from "./errors.js";
import { MAX_SENDER_NONCES, SenderNonces } from "./senderNonces.js";
import { signTicket } from "./signTicket.js";
import type { Ticket } from "./ticket.js";
import { issueTicketParams, type IssuedTicketParams } from "./ticketParams.js";
import { TicketRecipient, type ReceivedTicket, type RecipientChainView } from "./ticketRecipient.js";
import { ticketEV } from "./winningTicket.js";

const SENDER_KEY: Hex = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const SENDER: Hex = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";
const SENDER_CHECKSUM = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const OTHER_KEY: Hex = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
const RECIPIENT: Hex = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
const BLOCK_HASH: Hex = "0x41b1a0649752af1b28b3dc29a1556eee781e4a4c3a1f7f53f90fa834de098c4d";
const secret = new Uint8Array(32).fill(9);
const price = Rational.of(1200n);

const chain: RecipientChainView = {
  lastSeenL1Block: 1000n,
  lastInitializedRound: 10n,
  senderInfo: {
    deposit: 10n ** 18n,
    withdrawRound: 0n,
    reserve: { fundsRemaining: 10n ** 18n, claimedInCurrentRound: 0n },
  },
};

function params(faceValue = 12_000_000_000_000_000n, ev = 8_000_000_000n, seed = 42n): IssuedTicketParams {
  return issueTicketParams({
    recipient: RECIPIENT,
    secret,
    sender: SENDER,
    price,
    faceValue,
    ev,
    seed,
    lastSeenL1Block: chain.lastSeenL1Block,
    lastInitializedRound: 10n,
    lastInitializedRoundBlockHash: BLOCK_HASH,
  });
}

function received(p: IssuedTicketParams, nonce: bigint, key: Hex = SENDER_KEY): ReceivedTicket {
  const ticket: Ticket = {
    recipient: p.recipient,
    sender: SENDER,
    faceValue: p.faceValue,
    winProb: p.winProb,
    senderNonce: nonce,
    recipientRandHash: p.recipientRandHash,
    ...p.expirationParams,
  };
  return {
    ticket,
    sig: signTicket(ticket, key),
    seed: p.seed,
    expirationBlock: p.expirationBlock,
    price: p.price,
  };
}

const recipient = () => new TicketRecipient({ address: RECIPIENT, secret });

function expectError(r: ReturnType<TicketRecipient["receiveTicket"]>, message: string, fatal: boolean) {
  expect(r.error).toBeInstanceOf(ReceiveTicketError);
  expect(r.error?.message).toBe(message);
  expect(r.error?.fatal).toBe(fatal);
}

describe("TicketRecipient.receiveTicket", () => {
  it("accepts a valid ticket and reports its exact EV", () => {
    const p = params();
    const r = recipient().receiveTicket(received(p, 1n), chain);
    expect(r.error).toBeUndefined();
    expect(r.ev.eq(ticketEV(p.faceValue, p.winProb))).toBe(true);
    expect(r.won).toBe(false);
  });

  it("fatal: sender info unavailable", () => {
    const r = recipient().receiveTicket(received(params(), 1n), {
      ...chain,
      senderInfo: new Error("rpc down"),
    });
    expectError(r, `could not get sender info for ${SENDER_CHECKSUM}: rpc down`, true);
  });

  it("fatal: sender unlocking within a round", () => {
    for (const withdrawRound of [10n, 11n]) {
      const info = { deposit: 1n, withdrawRound, reserve: { fundsRemaining: 1n, claimedInCurrentRound: 0n } };
      const r = recipient().receiveTicket(received(params(), 1n), { ...chain, senderInfo: info });
      expectError(r, `deposit and reserve for sender ${SENDER_CHECKSUM} is set to unlock soon`, true);
    }
    const later = {
      deposit: 1n,
      withdrawRound: 12n,
      reserve: { fundsRemaining: 1n, claimedInCurrentRound: 0n },
    };
    expect(
      recipient().receiveTicket(received(params(), 1n), { ...chain, senderInfo: later }).error,
    ).toBeUndefined();
  });

  it("fatal: wrong recipient, zero sender", () => {
    const rt = received(params(), 1n);
    const other = new TicketRecipient({ address: "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc", secret });
    expectError(other.receiveTicket(rt, chain), "invalid ticket recipient", true);
    const zero = {
      ...rt,
      ticket: { ...rt.ticket, sender: "0x0000000000000000000000000000000000000000" as Hex },
    };
    expectError(recipient().receiveTicket(zero, chain), "invalid ticket sender", true);
  });

  it("fatal: any altered bound value breaks recipientRand", () => {
    const rt = received(params(), 1n);
    const tampered: ReceivedTicket[] = [
      { ...rt, price: Rational.of(1201n) },
      { ...rt, price: Rational.of(1200n, 2n) },
      { ...rt, expirationBlock: rt.expirationBlock + 1n },
      { ...rt, seed: rt.seed + 1n },
      { ...rt, ticket: { ...rt.ticket, faceValue: rt.ticket.faceValue + 1n } },
      { ...rt, ticket: { ...rt.ticket, winProb: rt.ticket.winProb - 1n } },
      { ...rt, ticket: { ...rt.ticket, creationRound: 9n } },
      { ...rt, ticket: { ...rt.ticket, sender: "0x90f79bf6eb2c4f870365e785982e1f101e93b906" } },
      { ...rt, ticket: { ...rt.ticket, recipientRandHash: BLOCK_HASH } },
    ];
    for (const t of tampered) {
      expectError(
        recipient().receiveTicket(t, chain),
        "invalid recipientRand for ticket recipientRandHash",
        true,
      );
    }
  });

  it("non-fatal: bad or malformed signature", () => {
    const p = params();
    const forged = received(p, 1n, OTHER_KEY);
    expectError(recipient().receiveTicket(forged, chain), "invalid ticket signature", false);
    const rt = received(p, 2n);
    const short = { ...rt, sig: hexToBytes(rt.sig as string).subarray(0, 64) };
    expectError(recipient().receiveTicket(short, chain), "invalid ticket signature", false);
    const highS = hexToBytes(rt.sig as string);
    highS[32] = 0xff;
    expectError(recipient().receiveTicket({ ...rt, sig: highS }, chain), "invalid ticket signature", false);
    const otherNonce = { ...rt, ticket: { ...rt.ticket, senderNonce: 3n } };
    expectError(recipient().receiveTicket(otherNonce, chain), "invalid ticket signature", false);
  });

  it("non-fatal: reused nonce and the 600-nonce cap; winners still reported", () => {
    // faceValue == EV gives winProb = 2^256-1: every ticket wins.
    const p = params(8_000_000_000n, 8_000_000_000n);
    expect(p.winProb).toBe(MAX_UINT256);
    const r = recipient();
    const first = r.receiveTicket(received(p, 1n), chain);
    expect(first.won).toBe(true);
    expect(first.error).toBeUndefined();
    const again = r.receiveTicket(received(p, 1n), chain);
    expect(again.won).toBe(true);
    expectError(again, `invalid ticket senderNonce: already seen sender=${SENDER_CHECKSUM} nonce=1`, false);
    for (let n = 2n; n <= BigInt(MAX_SENDER_NONCES); n++) {
      expect(r.receiveTicket(received(p, n), chain).error).toBeUndefined();
    }
    const over = r.receiveTicket(received(p, 601n), chain);
    expectError(
      over,
      `invalid ticket senderNonce: too many values sender=${SENDER_CHECKSUM} nonce=601`,
      false,
    );
  });

  it("non-fatal: expired params, after the nonce is recorded", () => {
    const p = params(8_000_000_000n, 8_000_000_000n);
    const r = recipient();
    const late = { ...chain, lastSeenL1Block: p.expirationBlock };
    const res = r.receiveTicket(received(p, 1n), late);
    expect(res.won).toBe(true);
    expectError(res, "TicketParams expired", false);
    expect(r.nonces.has(res.recipientRand, 1n)).toBe(true);
    expect(
      r.receiveTicket(received(p, 2n), { ...chain, lastSeenL1Block: p.expirationBlock - 1n }).error,
    ).toBeUndefined();
  });

  it("never credits a ticket with a bad signature, wrong recipient, reused nonce or tampered params", () => {
    const p = params();
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 6 }), fc.bigInt({ min: 1n, max: 10n ** 20n }), (kind, delta) => {
        const r = recipient();
        const good = received(p, 5n);
        expect(r.receiveTicket(good, chain).error).toBeUndefined();
        const bad: ReceivedTicket[] = [
          received(p, 6n, OTHER_KEY),
          good,
          { ...received(p, 7n), price: price.add(Rational.of(delta, 1000n)) },
          { ...received(p, 8n), seed: p.seed + delta },
          { ...received(p, 9n), expirationBlock: p.expirationBlock + delta },
          { ...good, ticket: { ...good.ticket, faceValue: good.ticket.faceValue + delta } },
          { ...good, ticket: { ...good.ticket, recipient: "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc" } },
        ];
        expect(r.receiveTicket(bad[kind]!, chain).error).toBeInstanceOf(ReceiveTicketError);
      }),
      { numRuns: 60 },
    );
  });
});

describe("SenderNonces", () => {
  it("forgets entries once their params expire and restores from a snapshot", () => {
    const n = new SenderNonces();
    n.record(1n, 1n, 50n, SENDER);
    n.record(2n, 1n, 60n, SENDER);
    const copy = new SenderNonces(n.entries());
    expect(() => copy.record(1n, 1n, 50n, SENDER)).toThrow(ReceiveTicketError);
    expect(n.cleanup(49n)).toEqual([]);
    expect(n.cleanup(50n)).toEqual([1n]);
    expect(n.size).toBe(1);
    n.record(1n, 1n, 70n, SENDER);
    expect(n.has(1n, 1n)).toBe(true);
  });
});
