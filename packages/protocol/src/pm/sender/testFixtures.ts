// Shared test fixtures (not exported from the barrel): spec §8.3 D2 params and the public dev keys.
import type { Hex } from "../../bytes/hex.js";
import type { SenderInfo } from "./senderInfo.js";
import type { SenderTicketParams } from "./senderTicketParams.js";
import type { TicketBatchContext } from "./ticketSender.js";

export const SENDER_KEY: Hex = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
export const SENDER: Hex = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";
export const SENDER_CHECKSUM = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
export const RECIPIENT: Hex = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
/** keccak256("foo") */
export const FOO_HASH: Hex = "0x41b1a0649752af1b28b3dc29a1556eee781e4a4c3a1f7f53f90fa834de098c4d";

/** Spec §8.3 D2: EV = 8e9 wei (plus ~2.76e-52), face value 0.012 ETH. */
export function d2Params(overrides: Partial<SenderTicketParams> = {}): SenderTicketParams {
  return {
    recipient: RECIPIENT,
    faceValue: 12_000_000_000_000_000n,
    winProb: 77194726158210796949047323339125271902179989777093709359638392000000000n,
    recipientRandHash: "0x2aad9be4d3937d8f6bb30b5a3f9f3f19138a56efa8727e268558c9993a286264",
    seed: 0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20n,
    expirationBlock: 19_000_040n,
    expirationParams: { creationRound: 3500n, creationRoundBlockHash: FOO_HASH },
    ...overrides,
  };
}

export function senderInfo(overrides: Partial<SenderInfo> = {}): SenderInfo {
  return {
    deposit: 10n ** 18n,
    withdrawRound: 0n,
    reserve: { fundsRemaining: 10n ** 18n, claimedInCurrentRound: 0n },
    ...overrides,
  };
}

export function batchContext(overrides: Partial<TicketBatchContext> = {}): TicketBatchContext {
  return {
    lastSeenL1Block: 19_000_000n,
    lastInitializedRound: 3500n,
    lastInitializedBlockHash: FOO_HASH,
    senderInfo: senderInfo(),
    ...overrides,
  };
}
