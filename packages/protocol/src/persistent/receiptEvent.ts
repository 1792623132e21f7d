import { PersistentWireError } from "./errors.js";
import { signedReceiptFromJson, signedReceiptToJson } from "./json.js";
import type { SignedReceipt } from "./receipt.js";

/** SSE event name of the receipt a streaming response ends with (before `data: [DONE]`). */
export const RECEIPT_EVENT = "livepay-receipt";

/**
 * The SSE event carrying the receipt of a streamed response:
 * `event: livepay-receipt\ndata: {"receipt":…,"signature":…,"salt":…}\n\n`.
 * @example res.write(formatReceiptEvent(signed)); res.write("data: [DONE]\n\n");
 */
export function formatReceiptEvent(signed: SignedReceipt): string {
  return `event: ${RECEIPT_EVENT}\ndata: ${JSON.stringify(signedReceiptToJson(signed))}\n\n`;
}

/**
 * Parses the `data` of a receipt event; throws `PersistentWireError`.
 * @example parseReceiptEventData(event.data)
 */
export function parseReceiptEventData(data: string): SignedReceipt {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    throw new PersistentWireError("INVALID_RECEIPT_EVENT", "receipt event data is not JSON");
  }
  return signedReceiptFromJson(json);
}
