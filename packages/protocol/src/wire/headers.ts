import { decodeBase64Std, encodeBase64Std } from "./base64.js";
import { WireError } from "./errors.js";
import { MAX_PAYMENT_HEADER_BYTES, MAX_SEGMENT_HEADER_BYTES } from "./limits.js";
import { decodePayment, encodePayment, type Payment } from "./payment.js";
import { decodeSegData, encodeSegData, type SegData } from "./segData.js";

/** HTTP header carrying a base64 `net.Payment` (go-livepeer `paymentHeader`). */
export const PAYMENT_HEADER = "Livepeer-Payment";

/** HTTP header carrying base64 `net.SegData` segment credentials (go-livepeer `segmentHeader`). */
export const SEGMENT_HEADER = "Livepeer-Segment";

function checkHeaderSize(header: unknown, max: number, name: string): string {
  if (typeof header !== "string") throw new WireError("INVALID_BASE64", `${name} header must be a string`);
  if (header.length > max) {
    throw new WireError("HEADER_TOO_LARGE", `${name} header is longer than ${max} characters`, {
      length: header.length,
      max,
    });
  }
  return header;
}

/**
 * The `Livepeer-Payment` header value: standard base64 with padding of the protobuf Payment.
 * Throws WireError (INVALID_FIELD, TOO_MANY_TICKETS, HEADER_TOO_LARGE).
 * @example headers[PAYMENT_HEADER] = encodePaymentHeader(payment)
 */
export function encodePaymentHeader(p: Payment): string {
  return checkHeaderSize(encodeBase64Std(encodePayment(p)), MAX_PAYMENT_HEADER_BYTES, PAYMENT_HEADER);
}

/**
 * Decodes a `Livepeer-Payment` header value. The size cap (`MAX_PAYMENT_HEADER_BYTES`) is checked
 * before any decoding; base64 must be strict standard with padding. Throws only WireError
 * (HEADER_TOO_LARGE, INVALID_BASE64, INVALID_PROTOBUF, TOO_MANY_TICKETS, INVALID_FIELD); go-livepeer
 * answers such a header with HTTP 402.
 * @example const payment = decodePaymentHeader(req.headers["livepeer-payment"])
 */
export function decodePaymentHeader(header: string): Payment {
  return decodePayment(decodeBase64Std(checkHeaderSize(header, MAX_PAYMENT_HEADER_BYTES, PAYMENT_HEADER)));
}

/**
 * The `Livepeer-Segment` header value: standard base64 with padding of the protobuf SegData.
 * @example headers[SEGMENT_HEADER] = encodeSegmentHeader({ ...seg, sig: signSegData(seg, key) })
 */
export function encodeSegmentHeader(s: SegData): string {
  return checkHeaderSize(encodeBase64Std(encodeSegData(s)), MAX_SEGMENT_HEADER_BYTES, SEGMENT_HEADER);
}

/**
 * Decodes a `Livepeer-Segment` header value (cap `MAX_SEGMENT_HEADER_BYTES`, checked first). Throws only WireError.
 * @example verifySegDataSig(decodeSegmentHeader(h), payment.sender)
 */
export function decodeSegmentHeader(header: string): SegData {
  return decodeSegData(decodeBase64Std(checkHeaderSize(header, MAX_SEGMENT_HEADER_BYTES, SEGMENT_HEADER)));
}
