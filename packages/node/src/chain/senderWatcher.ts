import { getAddress, type Address } from "viem";
import type { BlockEvent, BlockRoundWatcher, RoundState } from "./blockRoundWatcher.js";
import type { BrokerEvent, LivepeerChain, SenderInfo } from "./livepeerChain.js";
import { Listeners, type Unsubscribe } from "./listeners.js";

/** Why a sender's info was re-read. */
export type SenderChangeCause = "initial" | "event" | "round";

export interface SenderInfoChange {
  sender: Address;
  info: SenderInfo;
  /** Undefined the first time the sender is read. */
  previous: SenderInfo | undefined;
  cause: SenderChangeCause;
  /** The broker events that triggered the refresh (empty for "initial" and "round"). */
  events: BrokerEvent[];
}

export interface SenderWatcherOptions {
  /** Senders to watch from the start. */
  senders?: readonly Address[];
  /** Largest block range per eth_getLogs request (public RPCs cap it). Default 2000. */
  maxLogRange?: bigint;
}

type SenderSource = Pick<LivepeerChain, "getSenderInfo" | "getBrokerEvents" | "blockNumber">;

/**
 * Keeps deposit, reserve and withdraw round of a set of senders up to date (go-livepeer's
 * `SenderWatcher`). It rides on a `BlockRoundWatcher`: on each new head it scans the broker's logs
 * for DepositFunded, ReserveFunded, Unlock, UnlockCancelled, Withdrawal, WinningTicketTransfer and
 * ReserveClaimed of the watched senders and re-reads those senders; on each round change it re-reads
 * all of them (`claimedInCurrentRound` is per round). Listeners hear only real changes.
 *
 * @example
 * const sw = new SenderWatcher(chain, blocks, { senders: [gateway] });
 * sw.onChange((c) => console.log(c.sender, c.info.deposit));
 * await sw.start();
 */
export class SenderWatcher {
  private readonly chain: SenderSource;
  private readonly blocks: BlockRoundWatcher;
  private readonly maxLogRange: bigint;
  private readonly infos = new Map<Address, SenderInfo | undefined>();
  private readonly changeListeners = new Listeners<SenderInfoChange>();
  private readonly errorListeners = new Listeners<unknown>();
  private unsubscribe: Unsubscribe[] = [];
  private scannedTo: bigint | undefined;
  private running = false;

  constructor(chain: SenderSource, blocks: BlockRoundWatcher, opts: SenderWatcherOptions = {}) {
    this.chain = chain;
    this.blocks = blocks;
    this.maxLogRange = opts.maxLogRange ?? 2000n;
    for (const s of opts.senders ?? []) this.infos.set(getAddress(s), undefined);
  }

  /** Calls `fn` whenever a watched sender's info changes (and once when first read). */
  onChange(fn: (change: SenderInfoChange) => void | Promise<void>): Unsubscribe {
    return this.changeListeners.add(fn);
  }

  /** Calls `fn` with RPC errors; the watcher retries on the next block. */
  onError(fn: (error: unknown) => void): Unsubscribe {
    return this.errorListeners.add(fn);
  }

  /** The cached info of a watched sender (undefined before its first read). @example sw.get(addr)?.deposit */
  get(sender: Address): SenderInfo | undefined {
    return this.infos.get(getAddress(sender));
  }

  /** The watched senders. */
  get senders(): Address[] {
    return [...this.infos.keys()];
  }

  /**
   * Reads the initial state of every watched sender and subscribes to the block watcher (which
   * the caller starts and stops). @example await sw.start()
   */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    // Events from here on are picked up by the log scan, so nothing between this read and the
    // first scan is missed.
    this.scannedTo = this.blocks.blockNumber ?? (await this.chain.blockNumber());
    this.unsubscribe = [
      this.blocks.onBlock((b) => this.handleBlock(b)),
      this.blocks.onRound((r) => this.handleRound(r)),
    ];
    await this.refresh(this.senders, "initial", new Map());
  }

  /** Unsubscribes from the block watcher; the cache is kept. @example sw.stop() */
  stop(): void {
    this.running = false;
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
  }

  /**
   * Adds a sender and returns its current info. @example const info = await sw.watch(addr)
   */
  async watch(sender: Address): Promise<SenderInfo> {
    const key = getAddress(sender);
    if (!this.infos.has(key)) this.infos.set(key, undefined);
    const known = this.infos.get(key);
    if (known) return known;
    const info = await this.chain.getSenderInfo(key);
    await this.apply(key, info, "initial", []);
    return this.infos.get(key) ?? info;
  }

  /** Stops watching a sender. @example sw.unwatch(addr) */
  unwatch(sender: Address): void {
    this.infos.delete(getAddress(sender));
  }

  private async handleBlock(b: BlockEvent): Promise<void> {
    if (!this.running || this.scannedTo === undefined || b.blockNumber <= this.scannedTo) return;
    const senders = this.senders;
    const bySender = new Map<Address, BrokerEvent[]>();
    try {
      for (let from = this.scannedTo + 1n; from <= b.blockNumber; from += this.maxLogRange) {
        const to =
          from + this.maxLogRange - 1n < b.blockNumber ? from + this.maxLogRange - 1n : b.blockNumber;
        for (const e of await this.chain.getBrokerEvents(from, to, senders)) {
          const key = getAddress(e.sender);
          bySender.set(key, [...(bySender.get(key) ?? []), e]);
        }
      }
    } catch (error) {
      // Not advancing `scannedTo` makes the next head rescan the same range.
      this.errorListeners.emitSync(error);
      return;
    }
    this.scannedTo = b.blockNumber;
    await this.refresh([...bySender.keys()], "event", bySender);
  }

  private async handleRound(_r: RoundState): Promise<void> {
    if (this.running) await this.refresh(this.senders, "round", new Map());
  }

  private async refresh(
    senders: Address[],
    cause: SenderChangeCause,
    events: Map<Address, BrokerEvent[]>,
  ): Promise<void> {
    const results = await Promise.allSettled(senders.map((s) => this.chain.getSenderInfo(s)));
    for (let i = 0; i < senders.length; i++) {
      const r = results[i]!;
      if (r.status === "rejected") this.errorListeners.emitSync(r.reason);
      else await this.apply(senders[i]!, r.value, cause, events.get(senders[i]!) ?? []);
    }
  }

  private async apply(sender: Address, info: SenderInfo, cause: SenderChangeCause, events: BrokerEvent[]) {
    if (!this.infos.has(sender)) return; // unwatched meanwhile
    const previous = this.infos.get(sender);
    if (previous && sameInfo(previous, info)) return;
    this.infos.set(sender, info);
    await this.changeListeners.emit(
      { sender, info, previous, cause: previous ? cause : "initial", events },
      (e) => this.errorListeners.emitSync(e),
    );
  }
}

function sameInfo(a: SenderInfo, b: SenderInfo): boolean {
  return (
    a.deposit === b.deposit &&
    a.withdrawRound === b.withdrawRound &&
    a.reserve.fundsRemaining === b.reserve.fundsRemaining &&
    a.reserve.claimedInCurrentRound === b.reserve.claimedInCurrentRound
  );
}
