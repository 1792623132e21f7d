import { LivepayError } from "@livepay/protocol";

/**
 * Stable codes of the errors the gateway answers with. HTTP layers map on `code`; each has a
 * default HTTP status and an OpenAI error `type`.
 */
export type GatewayErrorCode =
  | "invalid_request" // 400: malformed body, unknown model, bad parameter
  | "missing_api_key" // 401
  | "invalid_api_key" // 401
  | "api_key_disabled" // 403
  | "admin_unauthorized" // 401: admin endpoints
  | "insufficient_credit" // 402: the key cannot cover the request's maximum cost
  | "spending_cap_exceeded" // 429: per-request or per-day cap
  | "idempotency_conflict" // 409: same Idempotency-Key, different request
  | "idempotency_in_progress" // 409: same Idempotency-Key, first request still running
  | "model_not_found" // 404: no orchestrator offers the model
  | "no_orchestrator" // 503: none reachable, or none under the price cap
  | "upstream_error" // 502: every attempt failed
  | "upstream_timeout" // 504
  | "payment_error" // 503: the gateway cannot pay (own deposit/reserve, ticket params)
  | "payee_unavailable" // 409: the Livepay-Payee asked for is not reachable through this gateway
  | "internal_error"; // 500

const STATUS: Record<GatewayErrorCode, number> = {
  invalid_request: 400,
  missing_api_key: 401,
  invalid_api_key: 401,
  api_key_disabled: 403,
  admin_unauthorized: 401,
  insufficient_credit: 402,
  spending_cap_exceeded: 429,
  idempotency_conflict: 409,
  idempotency_in_progress: 409,
  model_not_found: 404,
  no_orchestrator: 503,
  upstream_error: 502,
  upstream_timeout: 504,
  payment_error: 503,
  payee_unavailable: 409,
  internal_error: 500,
};

// OpenAI's error `type` vocabulary, so OpenAI SDKs classify the errors as they would OpenAI's.
const TYPE: Record<GatewayErrorCode, string> = {
  invalid_request: "invalid_request_error",
  missing_api_key: "authentication_error",
  invalid_api_key: "authentication_error",
  api_key_disabled: "permission_error",
  admin_unauthorized: "authentication_error",
  insufficient_credit: "insufficient_quota",
  spending_cap_exceeded: "rate_limit_error",
  idempotency_conflict: "invalid_request_error",
  idempotency_in_progress: "invalid_request_error",
  model_not_found: "invalid_request_error",
  no_orchestrator: "service_unavailable",
  upstream_error: "api_error",
  upstream_timeout: "api_error",
  payment_error: "service_unavailable",
  payee_unavailable: "invalid_request_error",
  internal_error: "api_error",
};

/** The OpenAI-style error body every gateway route answers with. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; code: string; param?: string | null };
}

/**
 * An error the gateway answers with: stable `code`, HTTP `status`, OpenAI `type`.
 * @example throw new GatewayError("insufficient_credit", "this request may cost up to 5000 wei; 12 wei left")
 */
export class GatewayError extends LivepayError {
  declare readonly code: GatewayErrorCode;
  readonly status: number;
  readonly type: string;

  constructor(code: GatewayErrorCode, message: string, details?: Record<string, unknown>, status?: number) {
    super(code, message, details);
    this.status = status ?? STATUS[code];
    this.type = TYPE[code];
  }

  /** The OpenAI-style body. @example reply.code(e.status).send(e.body()) */
  body(): OpenAiErrorBody {
    return { error: { message: this.message, type: this.type, code: this.code } };
  }
}

/**
 * Shorthand for an `invalid_request` (400) error.
 * @example throw invalidRequest("size must be WIDTHxHEIGHT")
 */
export function invalidRequest(message: string, details?: Record<string, unknown>): GatewayError {
  return new GatewayError("invalid_request", message, details);
}
