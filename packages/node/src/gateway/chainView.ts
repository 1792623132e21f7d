import type { SenderInfo, TicketBatchContext } from "@livepay/protocol";
import type { Logger } from "pino";
import type { Address, Hex } from "viem";
import { BlockRoundWatcher } from "../chain/blockRoundWatcher.js";
import type { LivepeerChain } from "../chain/livepeerChain.js";
import { SenderWatcher } from "../chain/senderWatcher.js";
import { formatAmount } from "../config/amount.js";
import type { GatewayMetrics } from "./metrics.js";

export interface ChainViewOptions {
  pollIntervalMs: number;
  warnDepositBelow: bigint;
  warnReserveBelow: bigint;
  log: Logger;
  metrics: GatewayMetrics;
}

/**
 * What the gateway knows of the chain when it signs tickets: the latest L1 block, the last
 * initialized round and its block hash (ticket aux data), and its own deposit and reserve
 * (`validateTicketParams` checks 7–12). It also watches those funds and warns (log + metric)
 * before they run low, or when an unlock is pending.
 *
 * @example
 * const view = new GatewayChainView(chain, sender, opts); await view.start();
 * sender.createTicketBatch(id, n, { ...view.ticketContext(), maxTicketEV })
 */
export class GatewayChainView {
  readonly #chain: LivepeerChain;
  readonly #sender: Address;
  readonly #opts: ChainViewOptions;
  readonly #blocks: BlockRoundWatcher;
  readonly #senders: SenderWatcher;
  #l1Block: bigint | undefined;
  #warned = { deposit: false, reserve: false, unlock: false };

  constructor(chain: LivepeerChain, sender: Address, opts: ChainViewOptions) {
    this.#chain = chain;
    this.#sender = sender;
    this.#opts = opts;
    this.#blocks = new BlockRoundWatcher(chain, { pollIntervalMs: opts.pollIntervalMs });
    this.#senders = new SenderWatcher(chain, this.#blocks, { senders: [sender] });
    this.#blocks.onBlock((b) => {
      this.#l1Block = b.roundsBlockNumber;
    });
    this.#blocks.onError((e) => opts.log.warn({ err: e }, "chain poll failed"));
    this.#senders.onError((e) => opts.log.warn({ err: e }, "sender info refresh failed"));
    this.#senders.onChange((c) => this.#checkFunds(c.info));
  }

  /** Reads the chain once and starts watching. @example await view.start() */
  async start(): Promise<void> {
    await this.#blocks.start();
    if (this.#blocks.roundState === undefined) {
      throw new Error(`cannot read the chain (${this.#blocks.consecutiveFailures} failed polls)`);
    }
    this.#l1Block ??= await this.#chain.roundsBlockNumber();
    await this.#senders.start();
  }

  /** Stops the watchers. @example await view.stop() */
  async stop(): Promise<void> {
    this.#senders.stop();
    await this.#blocks.stop();
  }

  /** The latest L1 block seen (params expiry counts in it). */
  get lastSeenL1Block(): bigint {
    return this.#l1Block ?? 0n;
  }

  /** The gateway's own TicketBroker funds, or the error reading them. */
  senderInfo(): SenderInfo | Error {
    return this.#senders.get(this.#sender) ?? new Error(`sender info for ${this.#sender} not read yet`);
  }

  /**
   * The chain part of a `createTicketBatch` context.
   * @example sender.createTicketBatch(id, 2, { ...view.ticketContext(), maxTicketEV })
   */
  ticketContext(): TicketBatchContext {
    const round = this.#blocks.roundState;
    return {
      lastSeenL1Block: this.lastSeenL1Block,
      lastInitializedRound: round?.lastInitializedRound ?? 0n,
      lastInitializedBlockHash: (round?.blockHash ?? `0x${"0".repeat(64)}`) as Hex,
      senderInfo: this.senderInfo(),
    };
  }

  /** Polls now (tests, and right after the gateway learns params expired). */
  async poll(): Promise<void> {
    await this.#blocks.poll();
  }

  #checkFunds(info: SenderInfo): void {
    const { metrics, log, warnDepositBelow, warnReserveBelow } = this.#opts;
    metrics.depositWei.set(Number(info.deposit));
    metrics.reserveWei.set(Number(info.reserve.fundsRemaining));
    const low = {
      deposit: info.deposit < warnDepositBelow,
      reserve: info.reserve.fundsRemaining < warnReserveBelow,
      unlock: info.withdrawRound !== 0n,
    };
    for (const kind of ["deposit", "reserve", "unlock"] as const) {
      metrics.fundsLow.set({ kind }, low[kind] ? 1 : 0);
      // Warn once per crossing, not on every block.
      if (low[kind] && !this.#warned[kind]) {
        const msg =
          kind === "unlock"
            ? `gateway deposit and reserve are unlocking (withdraw round ${info.withdrawRound}): orchestrators will refuse tickets a round before`
            : `gateway ${kind} is low: ${formatAmount(kind === "deposit" ? info.deposit : info.reserve.fundsRemaining)} < ${formatAmount(kind === "deposit" ? warnDepositBelow : warnReserveBelow)}; fund it with "livepay ${kind}"`;
        log.warn({ sender: this.#sender, kind }, msg);
      }
      this.#warned[kind] = low[kind];
    }
  }
}
