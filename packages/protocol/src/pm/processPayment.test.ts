import { describe, expect, it } from "vitest";
import type { Hex } from "../bytes/hex.js";
import { Rational } from "../money/rational.js";
import { decodePaymentHeader, encodePaymentHeader } from "../wire/headers.js";
import type { Payment } from "../wire/payment.js";
import { buildPayment, validatePrice } from "./buildPayment.js";
import { processPayment } from "./processPayment.js";
import { TicketSender } from "./sender/ticketSender.js";
import { issueTicketParams } from "./ticketParams.js";
import { TicketRecipient, type RecipientChainView } from "./ticketRecipient.js";
import { signTicket } from "./signTicket.js";

const SENDER_KEY: Hex = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const SENDER: Hex = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";
const RECIPIENT: Hex = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
const BLOCK_HASH: Hex = "0x41b1a0649752af1b28b3dc29a1556eee781e4a4c3a1f7f53f90fa834de098c4d";
const secret = new Uint8Array(32).fill(5);
const priceInfo = { pricePerUnit: 1200n, pixelsPerUnit: 1n, capability: 33, constraint: "" };
const senderInfo = {
  deposit: 10n ** 18n,
  withdrawRound: 0n,
  reserve: { fundsRemaining: 10n ** 18n, claimedInCurrentRound: 0n },
};
const chain: RecipientChainView & { recipientActive: boolean } = {
  lastSeenL1Block: 500n,
  lastInitializedRound: 7n,
  senderInfo,
  recipientActive: true,
};

function payment(count: number, faceValue = 12_000_000_000_000_000n, ev = 8_000_000_000n): Payment {
  const params = issueTicketParams({
    recipient: RECIPIENT,
    secret,
    sender: SENDER,
    price: Rational.of(1200n),
    faceValue,
    ev,
    seed: 99n,
    lastSeenL1Block: 500n,
    lastInitializedRound: 7n,
    lastInitializedRoundBlockHash: BLOCK_HASH,
  });
  const sender = new TicketSender({ privateKey: SENDER_KEY });
  const id = sender.startSession(params);
  const batch = sender.createTicketBatch(id, count, {
    lastSeenL1Block: 500n,
    lastInitializedRound: 7n,
    lastInitializedBlockHash: BLOCK_HASH,
    maxTicketEV: 10n ** 15n,
    maxTotalEV: 10n ** 16n,
    senderInfo,
  });
  // Through the wire, as an orchestrator receives it.
  return decodePaymentHeader(
    encodePaymentHeader(buildPayment({ sender: SENDER, expectedPrice: priceInfo, batch })),
  );
}

const recipient = () => new TicketRecipient({ address: RECIPIENT, secret });

describe("processPayment", () => {
  it("credits the exact EV of every valid ticket", () => {
    const p = payment(3);
    const r = processPayment(p, recipient(), chain);
    expect(r.error).toBeUndefined();
    expect(r.acceptedTickets).toBe(3);
    const one = processPayment(payment(1), recipient(), chain).credit;
    expect(r.credit.eq(one.mul(3n))).toBe(true);
    expect(r.price?.eq(1200n)).toBe(true);
    expect(r.winners).toEqual([]);
  });

  it("stops crediting at the first non-fatal error but checks the rest", () => {
    const p = payment(3);
    p.ticketSenderParams[1]!.sig = p.ticketSenderParams[0]!.sig;
    const r = processPayment(p, recipient(), chain);
    expect(r.acceptedTickets).toBe(1);
    expect(r.error?.message).toBe("invalid ticket signature");
  });

  it("returns a fatal error at once and credits only what came before", () => {
    const p = payment(2);
    p.expectedPrice = { ...priceInfo, pricePerUnit: 1199n };
    const r = processPayment(p, recipient(), chain);
    expect(r.credit.eq(0n)).toBe(true);
    expect(r.error?.message).toBe("invalid recipientRand for ticket recipientRandHash");
  });

  it("refuses inactive recipients, missing prices and missing expiration params", () => {
    const p = payment(1);
    expect(processPayment(p, recipient(), { ...chain, recipientActive: false }).error?.message).toBe(
      "orchestrator 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 is inactive in round 7, cannot process payments",
    );
    expect(processPayment({ ...p, expectedPrice: undefined }, recipient(), chain).error?.message).toBe(
      "invalid expected price sent with payment err=expected price is nil",
    );
    expect(processPayment({ ...p, expirationParams: undefined }, recipient(), chain).error?.code).toBe(
      "MISSING_EXPIRATION_PARAMS",
    );
  });

  it("accepts a ticket-less payment without crediting or recording a price", () => {
    const r = processPayment(buildPayment({ sender: SENDER, expectedPrice: priceInfo }), recipient(), chain);
    expect(r).toMatchObject({ acceptedTickets: 0, winners: [] });
    expect(r.credit.eq(0n) && r.error === undefined && r.price === undefined).toBe(true);
  });

  it("queues winners, also those whose nonce was already seen", () => {
    // faceValue just above EV: winProb just below 2^256-1 (the sender refuses exactly 2^256-1).
    const p = payment(2, 8_000_000_001n, 8_000_000_000n);
    const rec = recipient();
    const first = processPayment(p, rec, chain);
    expect(first.winners.map((w) => w.ticket.senderNonce)).toEqual([1n, 2n]);
    const replay = processPayment(p, rec, chain);
    expect(replay.winners.length).toBe(2);
    expect(replay.acceptedTickets).toBe(0);
    expect(replay.error?.message).toMatch(/already seen/);
    const w = first.winners[0]!;
    expect(signTicket(w.ticket, SENDER_KEY)).toBe(w.sig);
  });
});

describe("validatePrice", () => {
  it("refuses a price that more than doubled", () => {
    expect(validatePrice(priceInfo, Rational.of(600n)).eq(1200n)).toBe(true);
    expect(() => validatePrice(priceInfo, Rational.of(599n))).toThrow(
      "Orchestrator price has more than doubled, Orchestrator price: 1200/1, Orchestrator initial price: 599/1",
    );
    expect(() => validatePrice(undefined)).toThrow("missing orchestrator price");
  });
});
