// Redemption of queued winning tickets (spec §2.6): after their params expire, with gas checks,
// retries with backoff, and nothing lost across restarts (the queue is in the store).
import { TicketBrokerAbi } from "@livepay/contracts";
import { availableFunds, type Ticket } from "@livepay/protocol";
import type { Logger } from "pino";
import { parseEventLogs, type Address, type Chain, type Hash, type PublicClient, type Transport } from "viem";
import { ChainError } from "../chain/errors.js";
import type { LivepeerChain } from "../chain/livepeerChain.js";
import type { StoredWinningTicket, WinningTicketQueue } from "../store/winningTickets.js";
import type { ChainState } from "./chainState.js";
import type { OrchestratorMetrics } from "./metrics.js";

/**
 * Revert reasons after which a ticket can never be redeemed (go-livepeer marks "transaction failed"
 * and "ticket creationRound does not have a block hash" non-retryable; livepay adds the other
 * reasons that depend only on the ticket itself). Unlisted reasons ("sender is unlocked", "sender
 * deposit and reserve are zero", "current round is not initialized", "system is paused") are
 * retried until the ticket expires, because the sender or the chain may still change.
 */
export const NON_RETRYABLE_REVERTS = [
  "ticket creationRound does not have a block hash",
  "ticket creationRoundBlockHash invalid for creationRound",
  "ticket is expired",
  "recipientRand does not match recipientRandHash",
  "ticket did not win",
  "invalid signature over ticket hash",
  "INVALID_SIGNATURE_LENGTH",
  "ECDSA: invalid signature",
  "ticket recipient is null address",
  "ticket sender is null address",
  "invalid length for ticket auxData: must be 64 bytes",
];

export interface RedeemerOptions {
  chain: LivepeerChain;
  publicClient: PublicClient<Transport, Chain>;
  state: ChainState;
  queue: WinningTicketQueue;
  redeemGas: bigint;
  metrics: OrchestratorMetrics;
  logger: Logger;
  /** First retry delay; doubles per failed attempt up to `maxBackoffMs`. Default 2 s. */
  baseBackoffMs?: number;
  maxBackoffMs: number;
  /** How far back to look for the transaction of a ticket found already used (default 50,000 blocks). */
  lookbackBlocks?: bigint;
  now?: () => number;
}

type Outcome = "redeemed" | "retry" | "failed" | "skipped";

/**
 * Redeems winners one at a time on each new block. For each pending ticket whose params expired
 * (`paramsExpirationBlock <= last L1 block`), oldest first:
 * - creation round out of the validity window (`creationRound + validityPeriod <= currentRound`,
 *   spec §9.13) → failed "ticket is expired";
 * - in backoff, or recipient inactive → later;
 * - `usedTickets(hash)` → find the redemption transaction in the logs (a previous run may have been
 *   killed after sending it) and mark redeemed, else failed "ticket already used";
 * - sender's available funds or the face value not above `redeemGas × gas price` → retry later
 *   (go-livepeer's messages);
 * - `redeemWinningTicket`, wait for the receipt, mark redeemed with the transaction hash; a
 *   non-retryable revert marks it failed, anything else retries with exponential backoff.
 */
export class Redeemer {
  private readonly o: RedeemerOptions;
  private readonly nextAttempt = new Map<string, number>();
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(o: RedeemerOptions) {
    this.o = o;
  }

  /** Schedules a pass (coalesced with one already running). Never throws. */
  trigger(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.pass();
        } catch (e) {
          this.o.logger.warn({ err: text(e) }, "redemption pass failed");
        }
      } while (this.again && !this.stopped);
    })().finally(() => (this.running = undefined));
  }

  /** Stops scheduling and waits for the ticket being redeemed, if any. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  /** Resolves when no pass is running (tests). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async pass(): Promise<void> {
    const { state, queue } = this.o;
    const block = state.lastSeenL1Block;
    const currentRound = state.round.currentRound;
    const tickets = await queue.listRedeemable({ block, minRound: 0n, limit: 100 });
    for (const t of tickets) {
      if (this.stopped) return;
      if (t.creationRound + state.ticketValidityPeriod <= currentRound) {
        await this.fail(t, "ticket is expired", false);
        continue;
      }
      if ((this.nextAttempt.get(t.hash) ?? 0) > this.now()) continue;
      if (!state.recipientActive) {
        this.o.logger.debug({ ticket: t.hash }, "recipient inactive: redemption postponed");
        continue;
      }
      await this.redeem(t);
    }
  }

  private async redeem(t: StoredWinningTicket): Promise<Outcome> {
    const { chain, publicClient, state } = this.o;
    const sender = t.sender as Address;
    try {
      if (await chain.usedTickets(t.hash)) return await this.alreadyUsed(t);
      const [info, gasPrice, claimedReserve] = await Promise.all([
        chain.getSenderInfo(sender),
        publicClient.getGasPrice(),
        chain.claimedReserve(sender, t.recipient as Address),
      ]);
      const txCost = this.o.redeemGas * gasPrice;
      // Redemptions run one at a time, so no other redemption of this sender is in flight (pending 0).
      const funds = availableFunds({ ...info, poolSize: state.poolSize, claimedReserve, pending: 0n });
      if (funds <= txCost) return await this.fail(t, "insufficient sender funds for redeem tx cost", true);
      if (t.faceValue <= txCost)
        return await this.fail(t, "insufficient ticket face value for redeem tx cost", true);
      const tx = await chain.redeemWinningTicket(ticketOf(t), t.sig, t.recipientRand);
      return await this.redeemed(t, tx.hash, tx.gasUsed);
    } catch (e) {
      if (e instanceof ChainError && e.code === "CHAIN_REVERTED") {
        if (e.reason === "ticket is used")
          return this.alreadyUsed(t).catch((x: unknown) => this.fail(t, text(x), true));
        const permanent = NON_RETRYABLE_REVERTS.some((r) => e.reason?.startsWith(r));
        return this.fail(t, e.message, !permanent);
      }
      // A mined transaction that failed (receipt status 0): go-livepeer gives up on the ticket.
      if (e instanceof ChainError && e.code === "CHAIN_TX_FAILED") return this.fail(t, e.message, false);
      return this.fail(t, text(e), true);
    }
  }

  private async redeemed(t: StoredWinningTicket, txHash: Hash, gasUsed?: bigint): Promise<Outcome> {
    const paid = await this.paidAmount(txHash, t).catch(() => t.faceValue);
    await this.o.queue.markRedeemed(t.hash, txHash);
    this.nextAttempt.delete(t.hash);
    this.o.metrics.ticketsRedeemed.inc();
    this.o.metrics.valueRedeemedGwei.inc(Number((paid * 1_000_000n) / 1_000_000_000n) / 1e6);
    this.o.logger.info(
      {
        ticket: t.hash,
        tx: txHash,
        sender: t.sender,
        faceValue: t.faceValue.toString(),
        paid: paid.toString(),
        gasUsed: gasUsed?.toString(),
      },
      "winning ticket redeemed",
    );
    return "redeemed";
  }

  private async alreadyUsed(t: StoredWinningTicket): Promise<Outcome> {
    const tx = await this.findRedemption(t);
    if (tx) return this.redeemed(t, tx);
    return this.fail(t, "ticket already used", false);
  }

  private async fail(t: StoredWinningTicket, error: string, retryable: boolean): Promise<Outcome> {
    await this.o.queue.markFailed(t.hash, error, retryable);
    this.o.metrics.redemptionFailures.inc({ retryable: String(retryable) });
    if (retryable) {
      const base = this.o.baseBackoffMs ?? 2000;
      const delay = Math.min(this.o.maxBackoffMs, base * 2 ** Math.min(t.attempts, 20));
      this.nextAttempt.set(t.hash, this.now() + delay);
      this.o.logger.warn({ ticket: t.hash, err: error, retryInMs: delay }, "redemption failed, will retry");
      return "retry";
    }
    this.nextAttempt.delete(t.hash);
    this.o.logger.error({ ticket: t.hash, err: error }, "redemption failed permanently");
    return "failed";
  }

  /** The WinningTicketTransfer amount of a redemption (less than the face value if the sender ran short). */
  private async paidAmount(txHash: Hash, t: StoredWinningTicket): Promise<bigint> {
    const receipt = await this.o.publicClient.getTransactionReceipt({ hash: txHash });
    let paid = 0n;
    for (const log of parseEventLogs({
      abi: TicketBrokerAbi,
      logs: receipt.logs,
      eventName: "WinningTicketTransfer",
    })) {
      const a = log.args as { sender: Address; recipient: Address; amount: bigint };
      if (a.sender.toLowerCase() === t.sender && a.recipient.toLowerCase() === t.recipient) paid += a.amount;
    }
    return paid;
  }

  /** The transaction that redeemed a ticket, from its WinningTicketRedeemed log, if it is recent enough. */
  private async findRedemption(t: StoredWinningTicket): Promise<Hash | undefined> {
    const client = this.o.publicClient;
    const head = await client.getBlockNumber({ cacheTime: 0 });
    const lookback = this.o.lookbackBlocks ?? 50_000n;
    const event = TicketBrokerAbi.find((x) => x.type === "event" && x.name === "WinningTicketRedeemed");
    const step = 10_000n;
    for (let to = head; to >= 0n && head - to < lookback; to -= step) {
      const from = to >= step - 1n ? to - step + 1n : 0n;
      const logs = await client.getLogs({
        address: this.o.chain.addresses.ticketBroker,
        event: event as never,
        args: { sender: t.sender, recipient: t.recipient } as never,
        fromBlock: from,
        toBlock: to,
      });
      for (const log of logs as unknown as {
        args: { senderNonce: bigint; recipientRand: bigint };
        transactionHash: Hash;
      }[]) {
        const a = log.args;
        if (a.senderNonce === t.senderNonce && a.recipientRand === t.recipientRand)
          return log.transactionHash;
      }
      if (from === 0n) break;
    }
    return undefined;
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }
}

function ticketOf(t: StoredWinningTicket): Ticket {
  return {
    recipient: t.recipient,
    sender: t.sender,
    faceValue: t.faceValue,
    winProb: t.winProb,
    senderNonce: t.senderNonce,
    recipientRandHash: t.recipientRandHash,
    creationRound: t.creationRound,
    creationRoundBlockHash: t.creationRoundBlockHash,
  };
}

function text(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
