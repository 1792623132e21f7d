// Spec §8 vectors: go-livepeer's own test values and the DERIVED D2/D3 vectors.
import { describe, expect, it } from "vitest";
import { bytesToHex, hexToBytes, utf8 } from "../bytes/hex.js";
import { MAX_UINT256, minBytes } from "../bytes/integers.js";
import { keccak256 } from "../crypto/keccak256.js";
import { personalHash } from "../crypto/personalHash.js";
import { Rational } from "../money/rational.js";
import { ZERO_HASH } from "./constants.js";
import { faceValue, winProbForFaceValue } from "./faceValue.js";
import { recipientRand, recipientRandHash, recipientRandMessage } from "./recipientRand.js";
import { recoverTicketSigner, signTicket } from "./signTicket.js";
import type { Ticket } from "./ticket.js";
import { auxData, ticketHash, ticketHashPreimage } from "./ticketHash.js";
import { issueTicketParams } from "./ticketParams.js";
import { isWinningTicket, ticketEV, winProbRat } from "./winningTicket.js";
import { InsufficientReserveError } from "./errors.js";

const ZERO_ADDR = "0x0000000000000000000000000000000000000000";
const FOO = bytesToHex(keccak256(utf8("foo")));
const SENDER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const SENDER = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";
const RECIPIENT = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";

const base: Ticket = {
  recipient: ZERO_ADDR,
  sender: ZERO_ADDR,
  faceValue: 0n,
  winProb: 0n,
  senderNonce: 0n,
  recipientRandHash: ZERO_HASH,
  creationRound: 0n,
  creationRoundBlockHash: ZERO_HASH,
};

describe("ticket hash (pm/ticket_test.go TestHash)", () => {
  it.each<[Partial<Ticket>, string]>([
    [{ senderNonce: 4294967295n }, "e1393fc7f6de093780674022f96cb8e3872235167d037c04d554e58c0e63d280"],
    [{ senderNonce: 1n }, "ce0918ba94518293e9712effbe5fca4f1f431089833a5b8c257cb1e024595f68"],
    [{ faceValue: 1n, winProb: 500n }, "87ef13f2d37e4d5352a01d3c77b8179d80e0887f1953bfabfd0bfd7b0f689ddd"],
    [{ faceValue: 500n, winProb: 1n }, "aa4b35071043587992ac8b9dd1b2cf1d8311130e6458cf0b2342484e21af5f5b"],
    [
      { recipient: "0x73AEd7b5dEb30222fa896f399d46cC99c7BEe57F" },
      "81e353ae39046e2b77b9f996abbaeed527fda559b61ef90f299c4499dd508ccc",
    ],
    [{ recipientRandHash: FOO }, "be5eaf9a49a39540b9bb02f1a21904f61324a29819e2c032824bfaa10c100b17"],
    [
      { creationRound: 10n, creationRoundBlockHash: FOO },
      "e502907c16036ab3d11b78c5a2e93c20f3d6415c67f91de4ed01348182b3b2e2",
    ],
  ])("%o", (fields, expected) => {
    expect(ticketHash({ ...base, ...fields })).toBe(`0x${expected}`);
  });
});

describe("auxData (TestAuxData)", () => {
  const h = "0x7624778dedc75f8b322b9fa1632a610d40b85e106c7d9bf0e743a9ce291b9c6f";
  it("is empty only when both round and hash are zero", () => {
    expect(auxData(0n, ZERO_HASH).length).toBe(0);
    expect(bytesToHex(auxData(0n, h))).toBe(`0x${"00".repeat(32)}${h.slice(2)}`);
    expect(bytesToHex(auxData(5n, ZERO_HASH))).toBe(`0x${"00".repeat(31)}05${"00".repeat(32)}`);
    expect(bytesToHex(auxData(5n, h))).toBe(`0x${"00".repeat(31)}05${h.slice(2)}`);
  });
});

describe("EV and win probability", () => {
  it("matches TestEV / TestWinProbRat", () => {
    expect(ticketEV(1000n, MAX_UINT256 / 2n).toFixed(0)).toBe("500");
    expect(ticketEV(1000n, 0n).eq(0n)).toBe(true);
    expect(ticketEV(1000n, MAX_UINT256).eq(1000n)).toBe(true);
    expect(ticketEV(0n, MAX_UINT256).eq(0n)).toBe(true);
    expect(winProbRat(MAX_UINT256 / 2n).toFixed(1)).toBe("0.5");
    expect(winProbRat(MAX_UINT256 / 4n).toFixed(2)).toBe("0.25");
  });

  it("derives face value and win prob like TestTicketParams (EV 5, redeemGas 10000)", () => {
    const price = Rational.of(1n);
    const common = { price, redeemGas: 10_000n, ev: 5n };
    let fv = faceValue({ ...common, gasPrice: 100n, maxFloat: 10n ** 10n });
    expect(fv).toBe(100_000_000n);
    expect(winProbForFaceValue(fv, 5n)).toBe(
      5789604461865809771178549250434395392663499233282028201972879200395660n,
    );
    fv = faceValue({ ...common, gasPrice: 777n, maxFloat: 10n ** 10n });
    expect(fv).toBe(777_000_000n);
    expect(winProbForFaceValue(fv, 5n)).toBe(
      745122839364969082519761808292714979750772102095499125093034646125570n,
    );
    fv = faceValue({ ...common, gasPrice: 1n, maxFloat: 10001n });
    expect(fv).toBe(10001n);
    expect(winProbForFaceValue(fv, 5n)).toBe(
      57890255593098787833002192285115442382396752657554526567072084795477017120n,
    );
    expect(() => faceValue({ ...common, gasPrice: 100n, maxFloat: 4n })).toThrow(InsufficientReserveError);
    expect(() => faceValue({ ...common, gasPrice: 100n, maxFloat: 4n })).toThrow(
      "insufficient sender reserve",
    );
    expect(faceValue({ ...common, price: Rational.ZERO, gasPrice: 100n, maxFloat: 10n ** 10n })).toBe(0n);
    expect(faceValue({ ...common, price: Rational.of(-1n), gasPrice: 100n, maxFloat: 10n ** 10n })).toBe(0n);
    expect(winProbForFaceValue(0n, 5n)).toBe(0n);
    expect(faceValue({ ...common, gasPrice: 0n, maxFloat: 10n ** 30n })).toBe(500n);
    expect(winProbForFaceValue(5n, 5n)).toBe(MAX_UINT256);
  });
});

describe("signatures and win test", () => {
  it("win test of pm/validator_test.go (sig 'foo', recipientRand 10)", () => {
    expect(recipientRandHash(10n)).toBe("0xc65a7bb8d6351c1cf70c95a316cc6a92839c986682d98bc35f958f4883f9d2a8");
    expect(recipientRandHash(5n)).toBe("0x036b6384b5eca791c62761152d0c79bb0604c104a5fb6f4eb0703f3154bb3db0");
    expect(isWinningTicket(utf8("foo"), 10n, 0n)).toBe(false);
    expect(isWinningTicket(utf8("foo"), 10n, MAX_UINT256)).toBe(true);
  });
});

describe("D2/D3: orchestrator params and three signed tickets", () => {
  const secret = new Uint8Array(32);
  secret[0] = 3;
  const seed = BigInt(bytesToHex(Uint8Array.from({ length: 32 }, (_, i) => i + 1)));
  const fv = 1_200_000n * 100_000_000n * 100n;
  const price = Rational.of(1200n, 1n);

  it("issues D2 params", () => {
    expect(fv).toBe(12000000000000000n);
    const p = issueTicketParams({
      recipient: RECIPIENT,
      secret,
      sender: SENDER,
      price,
      faceValue: fv,
      ev: 8_000_000_000n,
      seed,
      lastSeenL1Block: 19000000n,
      lastInitializedRound: 3500n,
      lastInitializedRoundBlockHash: FOO,
    });
    expect(p.winProb).toBe(77194726158210796949047323339125271902179989777093709359638392000000000n);
    expect(bytesToHex(minBytes(p.winProb))).toBe(
      "0x0b2f4fc0794908cf232ff78625902416a7530755a66c5788c4a773d4b000",
    );
    expect(p.expirationBlock).toBe(19000040n);
    const input = {
      seed,
      sender: SENDER,
      faceValue: fv,
      winProb: p.winProb,
      expirationBlock: 19000040n,
      price,
      ...p.expirationParams,
    } as const;
    expect(bytesToHex(recipientRandMessage(input))).toBe(
      "0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20f39fd6e51aad88f6f4ce6ab8827279cfffb922662aa1efb94e00000b2f4fc0794908cf232ff78625902416a7530755a66c5788c4a773d4b0000121eae804b0010000000000000000000000000000000000000000000000000000000000000dac41b1a0649752af1b28b3dc29a1556eee781e4a4c3a1f7f53f90fa834de098c4d",
    );
    const rand = recipientRand(secret, input);
    expect(rand).toBe(0xe2e3a436a2bb0b974f4b11db7608412022bbb4a3e40a2bb271f3877a2a502ea2n);
    expect(p.recipientRandHash).toBe("0x2aad9be4d3937d8f6bb30b5a3f9f3f19138a56efa8727e268558c9993a286264");
    expect(ticketEV(fv, p.winProb).gt(8_000_000_000n)).toBe(true);
    expect(
      ticketEV(fv, p.winProb)
        .sub(8_000_000_000n)
        .lt(Rational.of(1n, 10n ** 51n)),
    ).toBe(true);
  });

  it.each([
    [
      1n,
      "cd42ee82d34f82a5083632b128dc79ac43063368602d9e731b4bcda4fb0c45b1",
      "779bd18c52518bccf35bbfdc77562d2eb711c00c9f7aadc17f21ff1b044a0b63",
      "88f48764dc44e75deca25f41d6ffdaf0bf8e086a5dae8f01c752bf9ae9c0697250a43cd423229fbafe1912fdcc8fb0cd654103b47df961f5050c7038fc31a1681c",
    ],
    [
      2n,
      "5653021b0b0424a8b08079c69886ae53ee388d80b1b96b2ed5be0d4fbb3fbe9d",
      "b1a0851ba9f68edef42e813495753d5347191d1e0d6c76972ec8d18bbf60bcc6",
      "c9f37f2d0530ab4a6bce2ce988d1cddde08747eb8a2a824b2fa2f0adb65b021858d0075fb546f409e7f8b9d5d594ebc40913b6ae4ba227b0117b4f3b3b03bbe51b",
    ],
    [
      3n,
      "3001078e77a7c723e450938bb2ed6fe63043a0f5cd49ac794b2750301a85a74a",
      "8523c6f3132449d5c3807210205c08bb074d929da3eb4bf06647a24163d29b62",
      "a4877211ef0ed4ea3f259ebd931b05c692d6058e2926a969cb355fa4d8341709720d0192df085f17f931e38f64264a05d13ef043bcc965a90e1bc679d562c0311c",
    ],
  ])("nonce %s", (nonce, hash, personal, sig) => {
    const t: Ticket = {
      recipient: RECIPIENT,
      sender: SENDER,
      faceValue: fv,
      winProb: 77194726158210796949047323339125271902179989777093709359638392000000000n,
      senderNonce: nonce,
      recipientRandHash: "0x2aad9be4d3937d8f6bb30b5a3f9f3f19138a56efa8727e268558c9993a286264",
      creationRound: 3500n,
      creationRoundBlockHash: FOO,
    };
    expect(ticketHashPreimage(t).length).toBe(232);
    expect(ticketHash(t)).toBe(`0x${hash}`);
    expect(bytesToHex(personalHash(hexToBytes(hash)))).toBe(`0x${personal}`);
    expect(signTicket(t, SENDER_KEY)).toBe(`0x${sig}`);
    expect(recoverTicketSigner(t, `0x${sig}`)).toBe(SENDER);
    expect(
      isWinningTicket(
        `0x${sig}`,
        0xe2e3a436a2bb0b974f4b11db7608412022bbb4a3e40a2bb271f3877a2a502ea2n,
        t.winProb,
      ),
    ).toBe(false);
  });
});
