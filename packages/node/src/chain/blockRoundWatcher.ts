import type { Hex } from "viem";
import type { LivepeerChain } from "./livepeerChain.js";
import { Listeners, type Unsubscribe } from "./listeners.js";

/** A new head seen by the watcher (several blocks may have been mined since the previous one). */
export interface BlockEvent {
  blockNumber: bigint;
  /**
   * RoundsManager `blockNum()` at this head: the block number rounds and ticket params expiry count
   * in (Livepeer's "L1 block" on Arbitrum One; equal to `blockNumber` on the devnet).
   */
  roundsBlockNumber: bigint;
  /** The head seen before, undefined on the first event. */
  previous: bigint | undefined;
}

/** Round state, emitted on start and whenever the current or last initialized round changes. */
export interface RoundState {
  currentRound: bigint;
  /** Whether `currentRound` is initialized (tickets of this round carry its block hash). */
  initialized: boolean;
  lastInitializedRound: bigint;
  /** `blockHashForRound(lastInitializedRound)`: what new tickets use as `creationRoundBlockHash`. */
  blockHash: Hex;
  /** The head at which this state was read. */
  blockNumber: bigint;
}

export interface BlockRoundWatcherOptions {
  /** Delay between polls while healthy. Default 1000 ms. */
  pollIntervalMs?: number;
  /** Longest delay between polls after consecutive RPC errors (exponential backoff). Default 30 s. */
  maxBackoffMs?: number;
}

type RoundSource = Pick<
  LivepeerChain,
  "blockNumber" | "roundsBlockNumber" | "currentRound" | "lastInitializedRound" | "blockHashForRound"
>;

/**
 * Polls the chain head and the RoundsManager and tells listeners about new blocks and round changes.
 * Survives RPC errors: it reports them to `onError` and retries with exponential backoff, without
 * emitting anything until the RPC answers again. Listeners run in order and are awaited, so a slow
 * listener delays the next poll instead of piling up work.
 *
 * @example
 * const w = new BlockRoundWatcher(chain, { pollIntervalMs: 500 });
 * w.onRound((r) => console.log("round", r.lastInitializedRound, r.blockHash));
 * await w.start(); ... await w.stop();
 */
export class BlockRoundWatcher {
  private readonly chain: RoundSource;
  private readonly pollIntervalMs: number;
  private readonly maxBackoffMs: number;
  private readonly blockListeners = new Listeners<BlockEvent>();
  private readonly roundListeners = new Listeners<RoundState>();
  private readonly errorListeners = new Listeners<unknown>();
  private head: bigint | undefined;
  private round: RoundState | undefined;
  private failures = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  private inFlight: Promise<void> | undefined;

  constructor(chain: RoundSource, opts: BlockRoundWatcherOptions = {}) {
    this.chain = chain;
    this.pollIntervalMs = opts.pollIntervalMs ?? 1000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 30_000;
  }

  /** The last head seen, if any. */
  get blockNumber(): bigint | undefined {
    return this.head;
  }

  /** The last round state seen, if any. */
  get roundState(): RoundState | undefined {
    return this.round;
  }

  /** Consecutive failed polls (0 while healthy). */
  get consecutiveFailures(): number {
    return this.failures;
  }

  /** Calls `fn` on every new head. @example const off = w.onBlock((b) => log(b.blockNumber)); off(); */
  onBlock(fn: (e: BlockEvent) => void | Promise<void>): Unsubscribe {
    return this.blockListeners.add(fn);
  }

  /** Calls `fn` with the round state on start and on every change. @example w.onRound((r) => log(r)) */
  onRound(fn: (r: RoundState) => void | Promise<void>): Unsubscribe {
    return this.roundListeners.add(fn);
  }

  /** Calls `fn` with RPC errors and errors thrown by listeners. @example w.onError(console.error) */
  onError(fn: (error: unknown) => void): Unsubscribe {
    return this.errorListeners.add(fn);
  }

  /**
   * Starts polling. Resolves after the first poll (successful or not), so `blockNumber` and
   * `roundState` are set when the RPC is up.
   * @example await watcher.start()
   */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.tick();
  }

  /**
   * Stops polling and waits for a poll in progress to finish; no listener is called afterwards.
   * @example await watcher.stop()
   */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }

  /**
   * Polls now instead of waiting for the timer (e.g. right after sending a transaction).
   * @example await watcher.poll()
   */
  async poll(): Promise<void> {
    if (!this.running) return;
    if (this.inFlight) return this.inFlight;
    if (this.timer) clearTimeout(this.timer);
    await this.tick();
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    const run = this.pollOnce();
    this.inFlight = run;
    await run;
    this.inFlight = undefined;
    if (!this.running) return;
    const delay =
      this.failures === 0
        ? this.pollIntervalMs
        : Math.min(this.maxBackoffMs, this.pollIntervalMs * 2 ** Math.min(this.failures, 20));
    this.timer = setTimeout(() => void this.tick(), delay);
    this.timer.unref?.();
  }

  private async pollOnce(): Promise<void> {
    let blockEvent: BlockEvent | undefined;
    let roundEvent: RoundState | undefined;
    try {
      const blockNumber = await this.chain.blockNumber();
      if (this.head !== undefined && blockNumber <= this.head) {
        this.failures = 0;
        return;
      }
      const [currentRound, lastInitializedRound, roundsBlockNumber] = await Promise.all([
        this.chain.currentRound(),
        this.chain.lastInitializedRound(),
        this.chain.roundsBlockNumber(),
      ]);
      const prev = this.round;
      if (!prev || prev.currentRound !== currentRound || prev.lastInitializedRound !== lastInitializedRound) {
        const blockHash =
          prev && prev.lastInitializedRound === lastInitializedRound
            ? prev.blockHash
            : await this.chain.blockHashForRound(lastInitializedRound);
        roundEvent = {
          currentRound,
          initialized: lastInitializedRound === currentRound,
          lastInitializedRound,
          blockHash,
          blockNumber,
        };
      }
      blockEvent = { blockNumber, roundsBlockNumber, previous: this.head };
      this.failures = 0;
    } catch (error) {
      this.failures++;
      this.errorListeners.emitSync(error);
      return;
    }
    // State is committed only after a complete, consistent read.
    this.head = blockEvent.blockNumber;
    if (roundEvent) this.round = roundEvent;
    if (!this.running) return;
    await this.blockListeners.emit(blockEvent, (e) => this.errorListeners.emitSync(e));
    if (roundEvent && this.running)
      await this.roundListeners.emit(roundEvent, (e) => this.errorListeners.emitSync(e));
  }
}
