// What the orchestrator knows of the chain, kept fresh by the block/round watcher: last L1 block,
// rounds, whether the recipient is active, pool size, gas price, and senders' funds.
import type { Hex, RecipientChainView, SenderInfo } from "@livepay/protocol";
import type { Logger } from "pino";
import type { Address, Chain, PublicClient, Transport } from "viem";
import { BlockRoundWatcher, type BlockEvent, type RoundState } from "../chain/blockRoundWatcher.js";
import type { LivepeerChain } from "../chain/livepeerChain.js";
import type { Unsubscribe } from "../chain/listeners.js";
import { SenderWatcher } from "../chain/senderWatcher.js";
import { OrchestratorError } from "./errors.js";

export interface ChainStateOptions {
  chain: LivepeerChain;
  publicClient: PublicClient<Transport, Chain>;
  recipient: Hex;
  pollIntervalMs: number;
  /** Fixed gas price for face values; otherwise the RPC's, clamped to [min, max] (max 0 = none). */
  gasPrice: bigint | undefined;
  minGasPrice: bigint;
  maxGasPrice: bigint;
  logger: Logger;
}

/** The chain view ticket processing needs, plus whether the recipient is active. */
export type PaymentChainView = RecipientChainView & { recipientActive: boolean };

/**
 * A cached, watcher-driven view of the chain. `start()` resolves once a block and a round have
 * been seen; afterwards every read is synchronous except sender info (fetched once per sender,
 * then kept current by the sender watcher from broker events).
 * @example const state = new ChainState(opts); await state.start(); state.lastSeenL1Block
 */
export class ChainState {
  readonly watcher: BlockRoundWatcher;
  readonly senders: SenderWatcher;
  private readonly opts: ChainStateOptions;
  private block: BlockEvent | undefined;
  private active = false;
  private pool = 0n;
  private rpcGasPrice: bigint | undefined;
  private validity: bigint | undefined;
  private readonly subscriptions: Unsubscribe[] = [];

  constructor(opts: ChainStateOptions) {
    this.opts = opts;
    this.watcher = new BlockRoundWatcher(opts.chain, { pollIntervalMs: opts.pollIntervalMs });
    this.senders = new SenderWatcher(opts.chain, this.watcher);
    this.subscriptions.push(
      this.watcher.onBlock((b) => this.onBlock(b)),
      this.watcher.onError((e) => opts.logger.warn({ err: errText(e) }, "chain watcher error")),
      this.senders.onError((e) => opts.logger.warn({ err: errText(e) }, "sender watcher error")),
    );
  }

  /** Polls once, reads the chain constants, starts the sender watcher. Throws if the RPC is down. */
  async start(): Promise<void> {
    const c = this.opts.chain;
    this.validity = await c.ticketValidityPeriod();
    await this.watcher.start();
    if (!this.block || !this.watcher.roundState) {
      throw new OrchestratorError("CHAIN_NOT_READY", "cannot read the chain head and round", 503);
    }
    await this.refresh();
    await this.senders.start();
  }

  async stop(): Promise<void> {
    for (const off of this.subscriptions) off();
    this.senders.stop();
    await this.watcher.stop();
  }

  /** The last L1 block seen (RoundsManager `blockNum()`: what params expiry counts in). */
  get lastSeenL1Block(): bigint {
    return this.ready().block.roundsBlockNumber;
  }

  /** The last round state seen. */
  get round(): RoundState {
    return this.ready().round;
  }

  /** TicketBroker `ticketValidityPeriod` (rounds a ticket stays redeemable). */
  get ticketValidityPeriod(): bigint {
    return this.validity ?? 2n;
  }

  get recipientActive(): boolean {
    return this.active;
  }

  get poolSize(): bigint {
    return this.pool;
  }

  /** Gas price for face values (spec §2.1 step 2.1): the configured one, else the RPC's, clamped. */
  get faceValueGasPrice(): bigint {
    if (this.opts.gasPrice !== undefined) return this.opts.gasPrice;
    let g = this.rpcGasPrice ?? 0n;
    if (g < this.opts.minGasPrice) g = this.opts.minGasPrice;
    if (this.opts.maxGasPrice > 0n && g > this.opts.maxGasPrice) g = this.opts.maxGasPrice;
    return g;
  }

  /**
   * A sender's on-chain funds, or the error reading them (ticket validation turns it into go-livepeer's
   * fatal "could not get sender info"). The sender is watched from then on.
   * @example const info = await state.senderInfo(payment.sender)
   */
  async senderInfo(sender: Hex): Promise<SenderInfo | Error> {
    try {
      return await this.senders.watch(sender as Address);
    } catch (e) {
      return e instanceof Error ? e : new Error(String(e));
    }
  }

  /** The view `processPayment` needs. @example processPayment(p, recipient, await state.paymentView(sender)) */
  async paymentView(sender: Hex): Promise<PaymentChainView> {
    const { block, round } = this.ready();
    return {
      lastSeenL1Block: block.roundsBlockNumber,
      lastInitializedRound: round.lastInitializedRound,
      senderInfo: await this.senderInfo(sender),
      recipientActive: this.active,
    };
  }

  /** Re-reads recipient activity, pool size and gas price now. */
  async refresh(): Promise<void> {
    const c = this.opts.chain;
    const [active, pool, gas] = await Promise.all([
      c.isActiveTranscoder(this.opts.recipient as Address),
      c.getTranscoderPoolSize(),
      this.opts.publicClient.getGasPrice(),
    ]);
    this.active = active;
    this.pool = pool;
    this.rpcGasPrice = gas;
  }

  private async onBlock(b: BlockEvent): Promise<void> {
    this.block = b;
    // The first block is read by start() itself; later ones refresh here (the devnet registry's
    // active set changes immediately, Livepeer's at round boundaries: per block covers both).
    if (b.previous === undefined) return;
    try {
      await this.refresh();
    } catch (e) {
      this.opts.logger.warn({ err: errText(e) }, "chain refresh failed");
    }
  }

  private ready(): { block: BlockEvent; round: RoundState } {
    const round = this.watcher.roundState;
    if (!this.block || !round) throw new OrchestratorError("CHAIN_NOT_READY", "chain view not ready", 503);
    return { block: this.block, round };
  }
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
