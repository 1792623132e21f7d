import { InvalidInputError } from "../../errors.js";
import { Rational } from "../../money/rational.js";

/** How many tickets a payment needs, and the credit they carry. */
export interface StagedTickets {
  numTickets: number;
  /** `numTickets * ev`, exact. */
  newCredit: Rational;
}

/**
 * The arithmetic of go-livepeer `Balance.StageUpdate` (spec §3.4): the fewest tickets of EV `ev` that
 * bring `existing` credit up to `minCredit`, i.e. `ceil((minCredit - existing) / ev)`; none when the
 * existing credit already covers `minCredit` or when `ev` is 0 (free params). `ev` may be `undefined`
 * only where Go's tests pass nil, which is fine as long as no ticket is needed.
 * @example ticketsToStage(Rational.of(1n, 4n), Rational.of(2n), Rational.ONE) // { numTickets: 2, newCredit: 2 }
 */
export function ticketsToStage(
  existing: Rational,
  minCredit: Rational,
  ev: Rational | undefined,
): StagedTickets {
  if (existing.gte(minCredit)) return { numTickets: 0, newCredit: Rational.ZERO };
  if (ev === undefined || ev.sign() === 0) return { numTickets: 0, newCredit: Rational.ZERO };
  if (ev.sign() < 0) {
    throw new InvalidInputError("INVALID_TICKET_EV", "ticket EV must not be negative", { ev: ev.toString() });
  }
  const n = minCredit.sub(existing).div(ev).ceil();
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) {
    // Go would truncate this to an int64; no real payment needs 2^53 tickets, so refuse instead.
    throw new InvalidInputError("TOO_MANY_TICKETS", "payment would need too many tickets", {
      numTickets: n.toString(),
    });
  }
  return { numTickets: Number(n), newCredit: ev.mul(n) };
}
