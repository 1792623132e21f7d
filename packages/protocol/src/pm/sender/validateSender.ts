import { checksumAddress } from "../../bytes/address.js";
import { ReceiveTicketError } from "../errors.js";
import { isUnlockingSoon, type SenderInfo } from "./senderInfo.js";

/**
 * The recipient's first ticket check (go-livepeer `SenderMonitor.ValidateSender`, spec §2.3 check 1):
 * the sender's info must be readable and its deposit must not unlock within a round. Returns the fatal
 * `ReceiveTicketError` (go-livepeer's exact message, address in EIP-55 form as Go's `Address.Hex()`
 * prints it), or `undefined` when the sender is acceptable. It returns rather than throws because
 * `receiveTicket` reports errors as values.
 *
 * @example validateSender("0xf39f...2266", info, 10n) // undefined, or an error for withdrawRound 11
 */
export function validateSender(
  sender: string,
  senderInfo: SenderInfo | Error,
  lastInitializedRound: bigint,
): ReceiveTicketError | undefined {
  // The EIP-55 form costs a keccak: only build it for an error message.
  if (senderInfo instanceof Error) {
    const address = checksumAddress(sender);
    return new ReceiveTicketError(
      "SENDER_INFO_UNAVAILABLE",
      `could not get sender info for ${address}: ${senderInfo.message}`,
      true,
      { sender: address },
    );
  }
  if (isUnlockingSoon(senderInfo.withdrawRound, lastInitializedRound)) {
    const address = checksumAddress(sender);
    return new ReceiveTicketError(
      "SENDER_UNLOCKING",
      `deposit and reserve for sender ${address} is set to unlock soon`,
      true,
      {
        sender: address,
        withdrawRound: senderInfo.withdrawRound.toString(),
        lastInitializedRound: lastInitializedRound.toString(),
      },
    );
  }
  return undefined;
}
