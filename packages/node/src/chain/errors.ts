import { LivepayError } from "@livepay/protocol";
import {
  BaseError,
  ContractFunctionRevertedError,
  HttpRequestError,
  InsufficientFundsError,
  RpcRequestError,
  TimeoutError,
} from "viem";

/**
 * Stable codes of chain failures, so callers (CLI exit codes, HTTP layers, the redemption queue)
 * branch on them without parsing messages.
 */
export type ChainErrorCode =
  /** The contract reverted; `reason` holds the revert string (e.g. "sender deposit and reserve are zero"). */
  | "CHAIN_REVERTED"
  /** The transaction was mined but failed (status 0) without a decodable reason. */
  | "CHAIN_TX_FAILED"
  /** The account cannot pay value + gas. */
  | "CHAIN_INSUFFICIENT_FUNDS"
  /** The RPC endpoint is unreachable, timed out or answered with an error. */
  | "CHAIN_RPC"
  /** A write was attempted on a chain client built without a private key. */
  | "CHAIN_NO_ACCOUNT"
  /** The chain configuration is unusable (missing address, bad manifest, wrong chain id). */
  | "CHAIN_CONFIG";

/**
 * A failed chain call. For reverts, `message` is exactly the contract's revert string and `reason`
 * repeats it; `details` carries the contract function and, when known, the transaction hash.
 *
 * @example
 * try { await chain.unlock() } catch (e) { if (e instanceof ChainError && e.code === "CHAIN_REVERTED") console.error(e.reason) }
 */
export class ChainError extends LivepayError {
  declare readonly code: ChainErrorCode;
  /** The revert string (or custom error name) for `CHAIN_REVERTED`, else undefined. */
  readonly reason: string | undefined;

  constructor(code: ChainErrorCode, message: string, details?: Record<string, unknown>, reason?: string) {
    super(code, message, details);
    this.reason = reason;
  }
}

/**
 * Converts anything a viem call throws into a `ChainError`, decoding revert reasons (Error(string),
 * Panic, custom errors) and classifying transport failures. Already-typed errors pass through.
 *
 * @example
 * try { await client.writeContract(req) } catch (e) { throw toChainError(e, { functionName: "unlock" }) }
 */
export function toChainError(error: unknown, details: Record<string, unknown> = {}): ChainError {
  if (error instanceof ChainError) return error;
  if (error instanceof BaseError) {
    const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
    if (reverted instanceof ContractFunctionRevertedError) {
      const reason = revertReason(reverted);
      return new ChainError("CHAIN_REVERTED", reason, details, reason);
    }
    if (error.walk((e) => e instanceof InsufficientFundsError)) {
      return new ChainError("CHAIN_INSUFFICIENT_FUNDS", "insufficient funds for value and gas", details);
    }
    // Some nodes report a revert without data through the RPC error message only.
    const rpc = error.walk((e) => e instanceof RpcRequestError);
    if (rpc instanceof RpcRequestError && /revert/i.test(rpc.details)) {
      const reason = rpc.details.replace(/^.*?reverted:?\s*/i, "").trim() || "execution reverted";
      return new ChainError("CHAIN_REVERTED", reason, details, reason);
    }
    if (
      error.walk(
        (e) => e instanceof HttpRequestError || e instanceof TimeoutError || e instanceof RpcRequestError,
      )
    ) {
      return new ChainError("CHAIN_RPC", `rpc error: ${error.shortMessage}`, details);
    }
    return new ChainError("CHAIN_RPC", error.shortMessage, details);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ChainError("CHAIN_RPC", message, details);
}

function revertReason(e: ContractFunctionRevertedError): string {
  if (e.reason) return e.reason;
  const data = e.data;
  if (data) {
    // Custom errors: the name plus arguments is the most useful text we have.
    const args = (data.args ?? []).map((a) => String(a)).join(", ");
    return data.errorName === "Error" ? args : `${data.errorName}(${args})`;
  }
  return "execution reverted";
}
