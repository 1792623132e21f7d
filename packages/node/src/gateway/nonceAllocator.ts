import type { SessionNonces } from "../store/sessionNonces.js";

/**
 * Hands out ticket nonces per PM session from blocks reserved durably in the store BEFORE any ticket
 * carrying them is signed: a crash can skip at most one block's unused rest, never reuse a nonce
 * (which the orchestrator would reject as a replay, losing the ticket's value). Orchestrators do not
 * need nonces to be contiguous (spec §2.4). Calls for one session are serialized.
 *
 * @example const first = await nonces.take(session.sessionId, 3) // tickets use first, first+1, first+2
 */
export class NonceAllocator {
  readonly #store: SessionNonces;
  readonly #blockSize: number;
  readonly #blocks = new Map<string, { next: bigint; last: bigint }>();
  readonly #queues = new Map<string, Promise<unknown>>();

  constructor(store: SessionNonces, blockSize: number) {
    this.#store = store;
    this.#blockSize = blockSize;
  }

  /** Reserves `count` consecutive nonces and returns the first. */
  take(sessionId: string, count: number): Promise<bigint> {
    const prev = this.#queues.get(sessionId) ?? Promise.resolve();
    const run = prev.then(
      () => this.#take(sessionId, count),
      () => this.#take(sessionId, count),
    );
    const tail = run.catch(() => undefined);
    this.#queues.set(sessionId, tail);
    void tail.then(() => {
      if (this.#queues.get(sessionId) === tail) this.#queues.delete(sessionId);
    });
    return run;
  }

  /** Forgets a session's in-memory block (its params were replaced). */
  drop(sessionId: string): void {
    this.#blocks.delete(sessionId);
  }

  async #take(sessionId: string, count: number): Promise<bigint> {
    const b = this.#blocks.get(sessionId);
    if (b && b.last - b.next + 1n >= BigInt(count)) {
      const first = b.next;
      b.next += BigInt(count);
      return first;
    }
    const range = await this.#store.reserveNonces(sessionId, Math.max(count, this.#blockSize));
    this.#blocks.set(sessionId, { next: range.first + BigInt(count), last: range.last });
    return range.first;
  }
}
