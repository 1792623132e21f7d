import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hexToBytes, type Hex } from "../../bytes/hex.js";
import { MAX_UINT256 } from "../../bytes/integers.js";
import { InvalidInputError } from "../../errors.js";
import { Rational } from "../../money/rational.js";
import { ZERO_HASH } from "../constants.js";
import { TicketParamsError } from "../errors.js";
import { recoverTicketSigner } from "../signTicket.js";
import { MAX_SENDER_NONCE } from "../ticket.js";
import { ticketHash, ticketHashPreimage } from "../ticketHash.js";
import { isWinningTicket } from "../winningTicket.js";
import { SenderNonceExhaustedError, TicketParamsExpiredError, UnknownSessionError } from "./errors.js";
import { batchContext, d2Params, FOO_HASH, RECIPIENT, SENDER, SENDER_KEY } from "./testFixtures.js";
import { expandTicketBatch } from "./ticketBatch.js";
import { TicketSender } from "./ticketSender.js";

const D2_RAND_HASH = "0x2aad9be4d3937d8f6bb30b5a3f9f3f19138a56efa8727e268558c9993a286264";
const D2_RECIPIENT_RAND = 0xe2e3a436a2bb0b974f4b11db7608412022bbb4a3e40a2bb271f3877a2a502ea2n;
// Spec §8.3 D3: the three tickets go-livepeer signs for D2 params with the dev key.
const D3 = [
  {
    hash: "0xcd42ee82d34f82a5083632b128dc79ac43063368602d9e731b4bcda4fb0c45b1",
    sig: "0x88f48764dc44e75deca25f41d6ffdaf0bf8e086a5dae8f01c752bf9ae9c0697250a43cd423229fbafe1912fdcc8fb0cd654103b47df961f5050c7038fc31a1681c",
  },
  {
    hash: "0x5653021b0b0424a8b08079c69886ae53ee388d80b1b96b2ed5be0d4fbb3fbe9d",
    sig: "0xc9f37f2d0530ab4a6bce2ce988d1cddde08747eb8a2a824b2fa2f0adb65b021858d0075fb546f409e7f8b9d5d594ebc40913b6ae4ba227b0117b4f3b3b03bbe51b",
  },
  {
    hash: "0x3001078e77a7c723e450938bb2ed6fe63043a0f5cd49ac794b2750301a85a74a",
    sig: "0xa4877211ef0ed4ea3f259ebd931b05c692d6058e2926a969cb355fa4d8341709720d0192df085f17f931e38f64264a05d13ef043bcc965a90e1bc679d562c0311c",
  },
];

const sender = () => new TicketSender({ privateKey: SENDER_KEY, address: SENDER });

describe("TicketSender", () => {
  it("signs spec §8.3 D3 byte for byte: nonces 1..3, hashes, signatures, none winning", () => {
    const s = sender();
    const id = s.startSession(d2Params());
    expect(id).toBe(D2_RAND_HASH);
    const batch = s.createTicketBatch(id, 3, batchContext());
    expect(batch.sender).toBe(SENDER);
    expect(batch.expirationParams).toEqual({ creationRound: 3500n, creationRoundBlockHash: FOO_HASH });
    expect(batch.senderParams.map((p) => p.senderNonce)).toEqual([1n, 2n, 3n]);
    const tickets = batch.tickets();
    expect(ticketHashPreimage(tickets[0]!).length).toBe(232);
    tickets.forEach((t, i) => {
      expect(ticketHash(t)).toBe(D3[i]!.hash);
      expect(batch.senderParams[i]!.sig).toBe(D3[i]!.sig);
      expect(recoverTicketSigner(t, batch.senderParams[i]!.sig)).toBe(SENDER);
      expect(isWinningTicket(batch.senderParams[i]!.sig, D2_RECIPIENT_RAND, t.winProb)).toBe(false);
    });
    expect(s.nonce(id)).toBe(3n);
  });

  it("session id is the lowercase recipientRandHash; params are kept normalized and frozen", () => {
    const s = sender();
    const id = s.startSession(
      d2Params({
        recipientRandHash: D2_RAND_HASH.toUpperCase().replace("0X", "0x") as Hex,
        recipient: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
      }),
    );
    expect(id).toBe(D2_RAND_HASH);
    expect(s.ticketParams(id).recipient).toBe(RECIPIENT);
    expect(Object.isFrozen(s.ticketParams(id))).toBe(true);
    expect(s.hasSession(id)).toBe(true);
    expect(s.ev(id).eq(Rational.of(d2Params().faceValue * d2Params().winProb, MAX_UINT256))).toBe(true);
    expect(s.ev(id).toFixed(5)).toBe("8000000000.00000");
  });

  it("falls back to its own round when expiration params are missing, round 0 or zero hash", () => {
    const ownHash = ("0x" + "ab".repeat(32)) as Hex;
    const ctx = batchContext({ lastInitializedRound: 3501n, lastInitializedBlockHash: ownHash });
    for (const expirationParams of [
      undefined,
      { creationRound: 0n, creationRoundBlockHash: FOO_HASH },
      { creationRound: 3500n, creationRoundBlockHash: ZERO_HASH },
    ]) {
      const s = sender();
      const id = s.startSession(d2Params({ expirationParams }));
      const batch = s.createTicketBatch(id, 1, ctx);
      expect(batch.expirationParams).toEqual({ creationRound: 3501n, creationRoundBlockHash: ownHash });
      const t = batch.tickets()[0]!;
      expect(t.creationRound).toBe(3501n);
      expect(t.creationRoundBlockHash).toBe(ownHash);
      expect(recoverTicketSigner(t, batch.senderParams[0]!.sig)).toBe(SENDER);
    }
  });

  it("restarting a session resets the nonce; startSessionWithNonce resumes", () => {
    const s = sender();
    const id = s.startSession(d2Params());
    s.createTicketBatch(id, 5, batchContext());
    expect(s.nonce(id)).toBe(5n);
    expect(s.startSession(d2Params())).toBe(id);
    expect(s.nonce(id)).toBe(0n);
    expect(s.createTicketBatch(id, 1, batchContext()).senderParams[0]!.senderNonce).toBe(1n);
    s.startSessionWithNonce(d2Params(), 41);
    expect(s.createTicketBatch(id, 2, batchContext()).senderParams.map((p) => p.senderNonce)).toEqual([
      42n,
      43n,
    ]);
    expect(() => s.startSessionWithNonce(d2Params(), MAX_SENDER_NONCE + 1n)).toThrow(InvalidInputError);
    expect(() => s.startSessionWithNonce(d2Params(), -1)).toThrow(InvalidInputError);
  });

  it("an empty batch signs nothing but is still validated", () => {
    const s = sender();
    const id = s.startSession(d2Params());
    const batch = s.createTicketBatch(id, 0, batchContext());
    expect(batch.senderParams).toEqual([]);
    expect(batch.tickets()).toEqual([]);
    expect(s.nonce(id)).toBe(0n);
    expect(() => s.createTicketBatch(id, 0, batchContext({ lastSeenL1Block: 19_000_039n }))).toThrow(
      TicketParamsExpiredError,
    );
  });

  it("validation failures and exhausted nonces leave the nonce unchanged", () => {
    const s = sender();
    const id = s.startSessionWithNonce(d2Params(), MAX_SENDER_NONCE - 2n);
    expect(() => s.createTicketBatch(id, 1, batchContext({ lastSeenL1Block: 19_000_039n }))).toThrow(
      TicketParamsExpiredError,
    );
    expect(() => s.createTicketBatch(id, 1, batchContext({ senderInfo: new Error("down") }))).toThrow("down");
    const e = (() => {
      try {
        s.createTicketBatch(id, 3, batchContext());
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(SenderNonceExhaustedError);
    expect((e as SenderNonceExhaustedError).code).toBe("SENDER_NONCE_EXHAUSTED");
    expect(s.nonce(id)).toBe(MAX_SENDER_NONCE - 2n);
    const last = s.createTicketBatch(id, 2, batchContext());
    expect(last.senderParams.map((p) => p.senderNonce)).toEqual([MAX_SENDER_NONCE - 1n, MAX_SENDER_NONCE]);
    expect(() => s.createTicketBatch(id, 1, batchContext())).toThrow(SenderNonceExhaustedError);
    expect(() => s.createTicketBatch(id, 1, batchContext({ lastInitializedBlockHash: "0x12" }))).toThrow(
      SenderNonceExhaustedError,
    );
  });

  it("refuses params the §3.2 rules reject", () => {
    const s = sender();
    const id = s.startSession(d2Params({ winProb: MAX_UINT256 }));
    expect(() => s.createTicketBatch(id, 1, batchContext())).toThrow(TicketParamsError);
    expect(() => s.createTicketBatch(id, 1, batchContext())).toThrow(
      "ticket faceValue too low faceValue=12000000000000000",
    );
  });

  it("unknown sessions throw UnknownSessionError with go-livepeer's %x message", () => {
    const s = sender();
    for (const call of [
      () => s.createTicketBatch("0xab", 1, batchContext()),
      () => s.ev("0xab"),
      () => s.nonce("0xab"),
      () => s.ticketParams("0xab"),
    ]) {
      expect(call).toThrow(UnknownSessionError);
      expect(call).toThrow("error loading session: 30786162");
    }
    const id = s.startSession(d2Params());
    expect(s.endSession(id)).toBe(true);
    expect(s.endSession(id)).toBe(false);
    expect(() => s.nonce(id)).toThrow(UnknownSessionError);
  });

  it("checks the address against the key and keeps the key private", () => {
    expect(new TicketSender({ privateKey: SENDER_KEY }).address).toBe(SENDER);
    expect(
      new TicketSender({
        privateKey: hexToBytes(SENDER_KEY),
        address: SENDER.toUpperCase().replace("0X", "0x"),
      }).address,
    ).toBe(SENDER);
    expect(() => new TicketSender({ privateKey: SENDER_KEY, address: RECIPIENT })).toThrow(InvalidInputError);
    const s = sender();
    expect(JSON.stringify(s)).not.toContain("ac0974");
    expect(Object.keys(s)).toEqual(["address"]);
  });

  it("rejects malformed params at session start", () => {
    const s = sender();
    expect(() => s.startSession(d2Params({ recipient: "0x1234" as Hex }))).toThrow(InvalidInputError);
    expect(() => s.startSession(d2Params({ winProb: MAX_UINT256 + 1n }))).toThrow(InvalidInputError);
    expect(() =>
      s.startSession(d2Params({ expirationParams: { creationRound: 1n, creationRoundBlockHash: "0x00" } })),
    ).toThrow(InvalidInputError);
  });

  it("property: nonces run 1, 2, 3... across batches and every ticket recovers to the sender", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 5 }),
        fc.bigInt(1n, 10n ** 12n),
        (sizes, seed) => {
          const s = sender();
          const id = s.startSession(d2Params({ seed }));
          let expected = 0n;
          for (const size of sizes) {
            const batch = s.createTicketBatch(id, size, batchContext());
            const tickets = expandTicketBatch(batch);
            expect(tickets.length).toBe(size);
            tickets.forEach((t, i) => {
              expected += 1n;
              expect(t.senderNonce).toBe(expected);
              expect(batch.senderParams[i]!.senderNonce).toBe(expected);
              expect(recoverTicketSigner(t, batch.senderParams[i]!.sig)).toBe(SENDER);
            });
            expect(s.nonce(id)).toBe(expected);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it("property: sessions are independent", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 3 })), { maxLength: 12 }),
        (ops) => {
          const s = sender();
          const hashes = [1, 2, 3].map((i) => ("0x" + i.toString(16).padStart(64, "0")) as Hex);
          const ids = hashes.map((h) => s.startSession(d2Params({ recipientRandHash: h })));
          const model = [0n, 0n, 0n];
          for (const [which, size] of ops) {
            const batch = s.createTicketBatch(ids[which]!, size, batchContext());
            expect(batch.senderParams.map((p) => p.senderNonce)).toEqual(
              Array.from({ length: size }, (_, i) => model[which]! + BigInt(i) + 1n),
            );
            model[which]! += BigInt(size);
          }
          ids.forEach((id, i) => expect(s.nonce(id)).toBe(model[i]));
        },
      ),
      { numRuns: 30 },
    );
  });
});
