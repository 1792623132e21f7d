import { checksumAddress } from "../bytes/address.js";
import type { Hex } from "../bytes/hex.js";
import { ReceiveTicketError } from "./errors.js";

/** go-livepeer's cap on distinct nonces per recipientRand. */
export const MAX_SENDER_NONCES = 600;

/** One recipientRand's nonce set, as persisted by an orchestrator. */
export interface SenderNonceEntry {
  recipientRand: bigint;
  expirationBlock: bigint;
  nonces: bigint[];
}

/**
 * The recipient's record of nonces seen per recipientRand (spec §2.4): rejects duplicates and more
 * than 600 nonces, forgets entries once their params expire. Callers that must survive restarts
 * persist `entries()` and rebuild with `new SenderNonces(entries)`.
 * @example const n = new SenderNonces(); n.record(rand, 1n, 19000040n, sender)
 */
export class SenderNonces {
  private readonly byRand = new Map<bigint, { expirationBlock: bigint; nonces: Set<bigint> }>();

  constructor(entries: Iterable<SenderNonceEntry> = []) {
    for (const e of entries) {
      this.byRand.set(e.recipientRand, { expirationBlock: e.expirationBlock, nonces: new Set(e.nonces) });
    }
  }

  /**
   * Records a nonce or throws go-livepeer's non-fatal error. Changes nothing when it throws.
   * @example nonces.record(rand, 2n, expirationBlock, sender)
   */
  record(recipientRand: bigint, nonce: bigint, expirationBlock: bigint, sender: Hex): void {
    const entry = this.byRand.get(recipientRand);
    if (!entry) {
      this.byRand.set(recipientRand, { expirationBlock, nonces: new Set([nonce]) });
      return;
    }
    if (entry.nonces.has(nonce)) {
      throw new ReceiveTicketError(
        "NONCE_ALREADY_SEEN",
        `invalid ticket senderNonce: already seen sender=${checksumAddress(sender)} nonce=${nonce}`,
        false,
      );
    }
    if (entry.nonces.size >= MAX_SENDER_NONCES) {
      throw new ReceiveTicketError(
        "TOO_MANY_NONCES",
        `invalid ticket senderNonce: too many values sender=${checksumAddress(sender)} nonce=${nonce}`,
        false,
      );
    }
    entry.nonces.add(nonce);
  }

  /** Whether a nonce was already recorded. @example nonces.has(rand, 1n) */
  has(recipientRand: bigint, nonce: bigint): boolean {
    return this.byRand.get(recipientRand)?.nonces.has(nonce) ?? false;
  }

  /**
   * Drops entries whose params expired at or before `block` (called on every new L1 block).
   * Returns the recipientRands dropped.
   * @example nonces.cleanup(latestL1Block)
   */
  cleanup(block: bigint): bigint[] {
    const dropped: bigint[] = [];
    for (const [rand, e] of this.byRand) {
      if (e.expirationBlock <= block) {
        this.byRand.delete(rand);
        dropped.push(rand);
      }
    }
    return dropped;
  }

  /** Number of recipientRands tracked. */
  get size(): number {
    return this.byRand.size;
  }

  /** Snapshot for persistence. @example store.save([...nonces.entries()]) */
  *entries(): IterableIterator<SenderNonceEntry> {
    for (const [recipientRand, e] of this.byRand) {
      yield { recipientRand, expirationBlock: e.expirationBlock, nonces: [...e.nonces] };
    }
  }
}
