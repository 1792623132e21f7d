import { normalizeAddress } from "../../bytes/address.js";
import type { Hex } from "../../bytes/hex.js";
import { privateKeyToAddress, type PrivateKey } from "../../crypto/secp256k1.js";
import { InvalidInputError } from "../../errors.js";
import type { Rational } from "../../money/rational.js";
import { signTicket } from "../signTicket.js";
import { MAX_SENDER_NONCE, type Ticket } from "../ticket.js";
import type { ExpirationParams } from "../ticketParams.js";
import { ticketEV } from "../winningTicket.js";
import { SenderNonceExhaustedError, UnknownSessionError } from "./errors.js";
import { normalizeSenderTicketParams, type SenderTicketParams } from "./senderTicketParams.js";
import { ticketBatch, type SignedNonce, type TicketBatch } from "./ticketBatch.js";
import { validateTicketParams, type TicketParamsContext } from "./validateTicketParams.js";

/** Chain state for `createTicketBatch`: the validation context plus the sender's fallback creation round. */
export interface TicketBatchContext extends TicketParamsContext {
  /** Block hash of `lastInitializedRound`, used when the params carry no expiration params. */
  lastInitializedBlockHash: Hex;
}

export interface TicketSenderOptions {
  privateKey: PrivateKey;
  /** The key's address; checked against the key when given. */
  address?: string;
}

interface Session {
  params: Readonly<SenderTicketParams>;
  nonce: bigint;
}

function nonceOf(value: bigint | number): bigint {
  const n = typeof value === "bigint" ? value : Number.isSafeInteger(value) ? BigInt(value) : -1n;
  if (n < 0n || n > MAX_SENDER_NONCE) {
    throw new InvalidInputError("INVALID_SENDER_NONCE", "nonce must be a uint32", { value: String(value) });
  }
  return n;
}

function usableExpirationParams(p: ExpirationParams | undefined): p is ExpirationParams {
  return p !== undefined && p.creationRound !== 0n && BigInt(p.creationRoundBlockHash) !== 0n;
}

/**
 * The gateway's ticket signer (go-livepeer `pm.sender`): one session per orchestrator params, keyed by
 * recipientRandHash, each with its own nonce counter; batches are validated (spec §3.2) and signed
 * (spec §1.5). Pure and synchronous; the caller supplies chain state per call.
 *
 * @example
 * const sender = new TicketSender({ privateKey: key });
 * const id = sender.startSession(orchestratorInfo.ticketParams);
 * const batch = sender.createTicketBatch(id, 3, { lastSeenL1Block, lastInitializedRound, lastInitializedBlockHash, senderInfo });
 */
export class TicketSender {
  readonly address: Hex;
  // Private so that the key never shows up in logs, JSON or structured clones of the sender.
  readonly #privateKey: PrivateKey;
  readonly #sessions = new Map<string, Session>();

  constructor(options: TicketSenderOptions) {
    const derived = privateKeyToAddress(options.privateKey);
    if (options.address !== undefined && normalizeAddress(options.address) !== derived) {
      throw new InvalidInputError("ADDRESS_KEY_MISMATCH", "address does not match private key", {
        address: options.address,
      });
    }
    this.address = derived;
    this.#privateKey = options.privateKey;
  }

  /**
   * Starts (or restarts) a session for these params with nonce 0; returns its id, the lowercase
   * recipientRandHash. Restarting with the same hash resets the nonce to 0, as in Go, and the next
   * batch re-uses nonces the orchestrator has already seen: it rejects them as duplicates. A caller that
   * may restart a session (e.g. after reloading the same params) should use `startSessionWithNonce`
   * with the last nonce it used.
   * @example const id = sender.startSession(params) // "0x2aad9be4..."
   */
  startSession(params: SenderTicketParams): string {
    return this.startSessionWithNonce(params, 0n);
  }

  /**
   * Starts a session whose next ticket uses `nonce + 1` (go-livepeer `StartSessionWithNonce`, used by
   * the remote signer to resume a session from its signed state).
   * @example sender.startSessionWithNonce(params, 41n) // next ticket has nonce 42
   */
  startSessionWithNonce(params: SenderTicketParams, nonce: bigint | number): string {
    const normalized = normalizeSenderTicketParams(params);
    const n = nonceOf(nonce);
    const id = normalized.recipientRandHash;
    this.#sessions.set(id, { params: normalized, nonce: n });
    return id;
  }

  /** Whether a session exists. @example sender.hasSession(id) */
  hasSession(sessionId: string): boolean {
    return this.#sessions.has(sessionId);
  }

  /** Forgets a session (go-livepeer `CleanupSession`); returns whether it existed. @example sender.endSession(id) */
  endSession(sessionId: string): boolean {
    return this.#sessions.delete(sessionId);
  }

  /** The session's params (frozen, lowercase hex). @example sender.ticketParams(id).faceValue */
  ticketParams(sessionId: string): Readonly<SenderTicketParams> {
    return this.#session(sessionId).params;
  }

  /** The session's ticket EV in wei, exact. @example sender.ev(id).toFixed(5) */
  ev(sessionId: string): Rational {
    const { params } = this.#session(sessionId);
    return ticketEV(params.faceValue, params.winProb);
  }

  /** The last nonce used (0 before the first ticket). @example sender.nonce(id) // 3n after a batch of 3 */
  nonce(sessionId: string): bigint {
    return this.#session(sessionId).nonce;
  }

  /**
   * Validates the session's params for `size` tickets (`validateTicketParams`) and signs `size` tickets
   * with the next nonces. Expiration params are the params' own unless missing, round 0 or zero hash,
   * in which case `(ctx.lastInitializedRound, ctx.lastInitializedBlockHash)`. Any error leaves the
   * session's nonce unchanged.
   * @example const batch = sender.createTicketBatch(id, 2, ctx); batch.senderParams.map((s) => s.senderNonce) // [1n, 2n]
   */
  createTicketBatch(sessionId: string, size: number, ctx: TicketBatchContext): TicketBatch {
    const session = this.#session(sessionId);
    validateTicketParams(session.params, size, ctx);
    if (session.nonce + BigInt(size) > MAX_SENDER_NONCE) {
      throw new SenderNonceExhaustedError(sessionId, session.nonce, size);
    }
    const p = session.params;
    const expirationParams: ExpirationParams = usableExpirationParams(p.expirationParams)
      ? p.expirationParams
      : Object.freeze({
          creationRound: ctx.lastInitializedRound,
          creationRoundBlockHash: ctx.lastInitializedBlockHash.toLowerCase() as Hex,
        });
    const senderParams: SignedNonce[] = [];
    for (let i = 1n; i <= BigInt(size); i++) {
      const ticket: Ticket = {
        recipient: p.recipient,
        sender: this.address,
        faceValue: p.faceValue,
        winProb: p.winProb,
        senderNonce: session.nonce + i,
        recipientRandHash: p.recipientRandHash,
        creationRound: expirationParams.creationRound,
        creationRoundBlockHash: expirationParams.creationRoundBlockHash,
      };
      senderParams.push({ senderNonce: ticket.senderNonce, sig: signTicket(ticket, this.#privateKey) });
    }
    // Commit only once every ticket is signed, so a failure burns no nonces.
    session.nonce += BigInt(size);
    return ticketBatch({ ticketParams: p, expirationParams, sender: this.address, senderParams });
  }

  #session(sessionId: string): Session {
    const s = this.#sessions.get(sessionId);
    if (s === undefined) throw new UnknownSessionError(sessionId);
    return s;
  }
}
