/**
 * Base class of every error livepay raises on purpose. `code` is stable: callers and HTTP layers
 * map on it without parsing messages. `message` is short and, where the Livepeer spec fixes an
 * error string, exactly that string.
 *
 * @example
 * try { decodePaymentHeader(h) } catch (e) { if (e instanceof LivepayError) console.log(e.code) }
 */
export class LivepayError extends Error {
  readonly code: string;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

/** Malformed input that cannot be parsed (hex, base64, protobuf, numbers out of range). */
export class InvalidInputError extends LivepayError {}
