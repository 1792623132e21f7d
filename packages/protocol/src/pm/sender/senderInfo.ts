/** A sender's reserve as the TicketBroker reports it (`getSenderInfo(sender).reserve`). */
export interface SenderReserve {
  /** Reserve not yet claimed. */
  fundsRemaining: bigint;
  /** Reserve already claimed by recipients in the current round. */
  claimedInCurrentRound: bigint;
}

/**
 * A sender's on-chain funds (go-livepeer `pm.SenderInfo`, TicketBroker `getSenderInfo`), in wei and
 * rounds. Both roles read it: the gateway before signing tickets, the orchestrator before accepting them.
 *
 * @example
 * const info: SenderInfo = { deposit: 10n ** 18n, withdrawRound: 0n, reserve: { fundsRemaining: 10n ** 18n, claimedInCurrentRound: 0n } };
 */
export interface SenderInfo {
  deposit: bigint;
  /** Round from which the sender may withdraw; 0 while no unlock is pending. */
  withdrawRound: bigint;
  reserve: SenderReserve;
}

/**
 * Whether the sender's unlock completes within a round: `withdrawRound != 0 && withdrawRound <=
 * lastInitializedRound + 1`. Both go-livepeer roles refuse such a sender, because a ticket signed now
 * might only be redeemable after the deposit is gone.
 * @example isUnlockingSoon(11n, 10n) // true
 */
export function isUnlockingSoon(withdrawRound: bigint, lastInitializedRound: bigint): boolean {
  return withdrawRound !== 0n && withdrawRound <= lastInitializedRound + 1n;
}
