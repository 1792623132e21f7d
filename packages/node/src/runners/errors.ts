import { LivepayError } from "@livepay/protocol";
import type { Usage } from "./types.js";

/**
 * Stable codes of every error a runner raises on purpose. HTTP layers map on `code` (and use
 * `status` as the suggested answer), never on the message.
 */
export type RunnerErrorCode =
  | "BAD_REQUEST" // the request cannot be served as given (client's fault)
  | "CAPACITY" // every slot of this runner (or of its upstream) is busy: try another node
  | "UPSTREAM_ERROR" // the upstream failed, answered garbage, or cannot be reached
  | "UPSTREAM_TIMEOUT" // the upstream did not answer (or went silent mid-stream) in time
  | "CANCELLED" // the caller aborted; `usage` says what was produced before the stop
  | "INVALID_CONFIG"; // a model/runner config entry is wrong

const DEFAULT_STATUS: Record<RunnerErrorCode, number> = {
  BAD_REQUEST: 400,
  CAPACITY: 503,
  UPSTREAM_ERROR: 502,
  UPSTREAM_TIMEOUT: 504,
  CANCELLED: 499,
  INVALID_CONFIG: 500,
};

/**
 * The one error class of `runners/`: a stable `code`, a short message, the HTTP status to answer
 * with, optional details, and for `CANCELLED` the units produced before the stop. It has the shape
 * of `@livepay/protocol`'s `LivepayError` (code, message, details).
 *
 * @example
 * throw new RunnerError("BAD_REQUEST", "max_tokens must be a positive integer", { max_tokens: -1 });
 */
export class RunnerError extends LivepayError {
  declare readonly code: RunnerErrorCode;
  readonly status: number;
  /** Units produced before the failure or cancellation (what the orchestrator may charge). */
  readonly usage: Usage | undefined;

  constructor(
    code: RunnerErrorCode,
    message: string,
    options: { status?: number; details?: Record<string, unknown>; usage?: Usage; cause?: unknown } = {},
  ) {
    super(code, message, options.details);
    if (options.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
    this.status = options.status ?? DEFAULT_STATUS[code];
    this.usage = options.usage;
  }
}

/**
 * Shorthand for a `BAD_REQUEST` error.
 *
 * @example
 * if (!(w > 0)) throw badRequest("width must be a positive integer", { width: w });
 */
export function badRequest(message: string, details?: Record<string, unknown>): RunnerError {
  return new RunnerError("BAD_REQUEST", message, details === undefined ? {} : { details });
}

/**
 * Whether `e` is a `RunnerError`, optionally with a given code.
 *
 * @example
 * if (isRunnerError(e, "CAPACITY")) res.statusCode = 503;
 */
export function isRunnerError(e: unknown, code?: RunnerErrorCode): e is RunnerError {
  return e instanceof RunnerError && (code === undefined || e.code === code);
}
