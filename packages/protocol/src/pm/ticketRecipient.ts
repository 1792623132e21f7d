import { normalizeAddress, ZERO_ADDRESS } from "../bytes/address.js";
import type { Hex } from "../bytes/hex.js";
import { LivepayError } from "../errors.js";
import type { Rational } from "../money/rational.js";
import { ReceiveTicketError } from "./errors.js";
import { recipientRand, recipientRandHash } from "./recipientRand.js";
import { SenderNonces } from "./senderNonces.js";
import { recoverTicketSigner } from "./signTicket.js";
import type { Ticket } from "./ticket.js";
import { isWinningTicket, ticketEV } from "./winningTicket.js";
import type { SenderInfo } from "./sender/senderInfo.js";
import { validateSender } from "./sender/validateSender.js";

/** One ticket as it arrives in a Payment, with the off-chain values bound into recipientRand. */
export interface ReceivedTicket {
  ticket: Ticket;
  sig: Hex | Uint8Array;
  seed: bigint;
  /** The params' L1 expiration block (echoed by the gateway). */
  expirationBlock: bigint;
  /** The price the gateway echoed (Payment.expected_price), normalized. */
  price: Rational;
}

/** What the recipient knows of the chain when the ticket arrives. */
export interface RecipientChainView {
  lastSeenL1Block: bigint;
  lastInitializedRound: bigint;
  /** The sender's on-chain info, or the error fetching it. */
  senderInfo: SenderInfo | Error;
}

export interface ReceiveTicketResult {
  /** Whether the ticket wins; a winner is redeemable even when `error` is a non-fatal error. */
  won: boolean;
  recipientRand: bigint;
  /** Exact EV of the ticket: what the recipient credits when there is no error. */
  ev: Rational;
  error?: ReceiveTicketError;
}

function fatal(code: string, message: string): ReceiveTicketError {
  return new ReceiveTicketError(code, message, true);
}

/**
 * The orchestrator's ticket checks (go-livepeer `recipient.ReceiveTicket` + `validator`), in the
 * spec §2.3 order with its exact messages and fatal/non-fatal split:
 * sender unlock (fatal), recipient (fatal), sender (fatal), recipientRand (fatal), signature,
 * win test, nonce (after the win test, so winners survive), params expiry.
 * Never throws for ticket content: every problem comes back as `error`.
 *
 * @example
 * const r = new TicketRecipient({ address: orch, secret });
 * const { won, ev, error } = r.receiveTicket(received, { lastSeenL1Block, lastInitializedRound, senderInfo });
 */
export class TicketRecipient {
  readonly address: Hex;
  readonly nonces: SenderNonces;
  private readonly secret: Uint8Array;
  // The tickets of a batch share their params: recipientRand, its hash and the EV are computed once
  // per params, not per ticket (HMAC, Keccak and a 512-bit gcd saved on every ticket after the first).
  private memo: { key: string; rand: bigint; randHash: Hex; ev: Rational } | undefined;

  constructor(opts: { address: Hex; secret: Uint8Array; nonces?: SenderNonces }) {
    if (opts.secret.length < 16)
      throw new LivepayError("WEAK_SECRET", "recipient secret must be >= 16 bytes");
    this.address = normalizeAddress(opts.address);
    this.secret = opts.secret;
    this.nonces = opts.nonces ?? new SenderNonces();
  }

  /** recipientRand for the echoed values (redemption reveals it on chain). */
  recipientRandFor(r: ReceivedTicket): bigint {
    return recipientRand(this.secret, {
      seed: r.seed,
      sender: r.ticket.sender,
      faceValue: r.ticket.faceValue,
      winProb: r.ticket.winProb,
      expirationBlock: r.expirationBlock,
      price: r.price,
      creationRound: r.ticket.creationRound,
      creationRoundBlockHash: r.ticket.creationRoundBlockHash,
    });
  }

  private paramsValues(r: ReceivedTicket): { rand: bigint; randHash: Hex; ev: Rational } {
    const t = r.ticket;
    const key = `${r.seed}|${t.sender}|${t.faceValue}|${t.winProb}|${r.expirationBlock}|${r.price.num}/${r.price.den}|${t.creationRound}|${t.creationRoundBlockHash}`;
    if (this.memo?.key !== key) {
      const rand = this.recipientRandFor(r);
      this.memo = { key, rand, randHash: recipientRandHash(rand), ev: ticketEV(t.faceValue, t.winProb) };
    }
    return this.memo;
  }

  receiveTicket(r: ReceivedTicket, chain: RecipientChainView): ReceiveTicketResult {
    const t = r.ticket;
    let rand: bigint;
    let randHash: Hex;
    let ev: Rational;
    try {
      ({ rand, randHash, ev } = this.paramsValues(r));
    } catch (e) {
      // Malformed field values (bad address, negative integer) cannot come from honest params.
      return {
        won: false,
        recipientRand: 0n,
        ev: ticketEV(0n, 0n),
        error: fatal("INVALID_TICKET", e instanceof Error ? e.message : String(e)),
      };
    }
    const fail = (error: ReceiveTicketError, won = false): ReceiveTicketResult => ({
      won,
      recipientRand: rand,
      ev,
      error,
    });

    const senderError = validateSender(t.sender, chain.senderInfo, chain.lastInitializedRound);
    if (senderError) return fail(senderError);
    if (t.recipient.toLowerCase() !== this.address) {
      return fail(fatal("INVALID_TICKET_RECIPIENT", "invalid ticket recipient"));
    }
    if (t.sender.toLowerCase() === ZERO_ADDRESS) {
      return fail(fatal("INVALID_TICKET_SENDER", "invalid ticket sender"));
    }
    if (randHash !== t.recipientRandHash.toLowerCase()) {
      return fail(fatal("INVALID_RECIPIENT_RAND", "invalid recipientRand for ticket recipientRandHash"));
    }
    let signer: Hex | undefined;
    try {
      signer = recoverTicketSigner(t, r.sig);
    } catch {
      signer = undefined;
    }
    if (signer !== t.sender.toLowerCase()) {
      return fail(new ReceiveTicketError("INVALID_TICKET_SIGNATURE", "invalid ticket signature", false));
    }
    const won = isWinningTicket(r.sig, rand, t.winProb);
    try {
      this.nonces.record(rand, t.senderNonce, r.expirationBlock, t.sender);
    } catch (e) {
      return fail(e as ReceiveTicketError, won);
    }
    if (r.expirationBlock <= chain.lastSeenL1Block) {
      return fail(new ReceiveTicketError("TICKET_PARAMS_EXPIRED", "TicketParams expired", false), won);
    }
    return { won, recipientRand: rand, ev };
  }
}
