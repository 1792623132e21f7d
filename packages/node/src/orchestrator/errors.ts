import { LivepayError } from "@livepay/protocol";

/**
 * Stable codes of the orchestrator's own refusals. The HTTP layer answers `{error: {message, code}}`
 * with `status`; gRPC maps them to status codes (see grpcServer.ts).
 */
export type OrchestratorErrorCode =
  /** `Authorization` is not `Livepeer-AI-Worker-1.0`. */
  | "UNAUTHORIZED"
  /** Missing or undecodable `Livepeer-Payment` header (go-livepeer answers 402). */
  | "PAYMENT_REQUIRED"
  /** Missing or undecodable `Livepeer-Segment`, or its signature is not the payment sender's. */
  | "SEGMENT_INVALID"
  /** The auth token of the segment credentials is missing, forged or expired. */
  | "AUTH_TOKEN_INVALID"
  /** The payment was refused (go-livepeer answers 400 with the message). */
  | "PAYMENT_INVALID"
  /** The balance does not cover the job's maximum cost at this orchestrator's price. */
  | "INSUFFICIENT_BALANCE"
  /** No runner serves this (pipeline, model). */
  | "MODEL_NOT_FOUND"
  /** Malformed request body. */
  | "BAD_REQUEST"
  /** The chain view is not ready (no block or round seen yet). */
  | "CHAIN_NOT_READY"
  /** GetOrchestrator: the request's signature is not the sender's. */
  | "INVALID_ORCHESTRATOR_REQUEST"
  /** GetOrchestrator: ticket params cannot be issued for this sender (face value / reserve). */
  | "TICKET_PARAMS_UNAVAILABLE"
  /** Configuration is missing or malformed. */
  | "CONFIG_INVALID";

/**
 * An orchestrator refusal with a stable `code`, a short message, the HTTP status to answer with,
 * and optional details (echoed in the JSON error body).
 * @example throw new OrchestratorError("UNAUTHORIZED", "Unauthorized", 401)
 */
export class OrchestratorError extends LivepayError {
  declare readonly code: OrchestratorErrorCode;
  readonly status: number;

  constructor(
    code: OrchestratorErrorCode,
    message: string,
    status: number,
    details?: Record<string, unknown>,
  ) {
    super(code, message, details);
    this.status = status;
  }
}
