// Ticket signing and validation throughput on one core, native libsecp256k1 and pure JS side by side.
// Baselines: the bare secp256k1 sign and recover of a 32-byte digest in the same run, so the ratio
// shows what the ticket work (hashing, HMAC, checks) adds on top of the curve operation.
import {
  Rational,
  TicketRecipient,
  issueTicketParams,
  personalHash,
  recoverDigestSigner,
  signDigest,
  signTicket,
  useSecp256k1Backend,
  utf8,
  type Hex,
  type Secp256k1Backend,
  type Ticket,
} from "@livepay/protocol";
import { medianRate } from "./stats.js";

const SENDER_KEY: Hex = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const SENDER: Hex = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";
const RECIPIENT: Hex = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
const BLOCK_HASH: Hex = "0x41b1a0649752af1b28b3dc29a1556eee781e4a4c3a1f7f53f90fa834de098c4d";

export interface TicketBenchRow {
  backend: Secp256k1Backend;
  rawSign: number;
  ticketSign: number;
  rawRecover: number;
  ticketValidate: number;
}

function fixture(paramSets: number, perSet: number) {
  const secret = new Uint8Array(32).fill(7);
  const price = Rational.of(1200n);
  const chain = {
    lastSeenL1Block: 100n,
    lastInitializedRound: 10n,
    senderInfo: {
      deposit: 10n ** 18n,
      withdrawRound: 0n,
      reserve: { fundsRemaining: 10n ** 18n, claimedInCurrentRound: 0n },
    },
  };
  const received = [];
  for (let s = 0; s < paramSets; s++) {
    const p = issueTicketParams({
      recipient: RECIPIENT,
      secret,
      sender: SENDER,
      price,
      faceValue: 12_000_000_000_000_000n,
      ev: 8_000_000_000n,
      seed: BigInt(s + 1) * 0x1234567890abcdefn,
      lastSeenL1Block: 100n,
      lastInitializedRound: 10n,
      lastInitializedRoundBlockHash: BLOCK_HASH,
    });
    for (let n = 1; n <= perSet; n++) {
      const ticket: Ticket = {
        recipient: RECIPIENT,
        sender: SENDER,
        faceValue: p.faceValue,
        winProb: p.winProb,
        senderNonce: BigInt(n),
        recipientRandHash: p.recipientRandHash,
        ...p.expirationParams,
      };
      received.push({
        ticket,
        sig: signTicket(ticket, SENDER_KEY),
        seed: p.seed,
        expirationBlock: p.expirationBlock,
        price,
      });
    }
  }
  return { secret, chain, received };
}

/** Measures sign and validate rates with the given backend. */
export function benchTickets(backend: Secp256k1Backend, ms = 700): TicketBenchRow {
  useSecp256k1Backend("native");
  const fx = fixture(backend === "native" ? 20 : 4, 500);
  useSecp256k1Backend(backend);
  const digest = personalHash(utf8("livepay bench"));
  const digestSig = signDigest(digest, SENDER_KEY);

  const template = fx.received[0]!.ticket;
  let nonce = 0n;
  const ticketSign = medianRate(() => {
    signTicket({ ...template, senderNonce: ++nonce }, SENDER_KEY);
  }, ms);
  const rawSign = medianRate(() => {
    signDigest(digest, SENDER_KEY);
  }, ms);
  const rawRecover = medianRate(() => {
    recoverDigestSigner(digest, digestSig);
  }, ms);

  // A fresh recipient per pass over the pool: each ticket is new to it, as in production.
  let recipient = new TicketRecipient({ address: RECIPIENT, secret: fx.secret });
  let i = 0;
  const ticketValidate = medianRate(() => {
    if (i === fx.received.length) {
      i = 0;
      recipient = new TicketRecipient({ address: RECIPIENT, secret: fx.secret });
    }
    const r = recipient.receiveTicket(fx.received[i++]!, fx.chain);
    if (r.error) throw r.error;
  }, ms);
  useSecp256k1Backend("native");
  return { backend, rawSign, ticketSign, rawRecover, ticketValidate };
}
