// The gRPC client of net.Orchestrator/GetOrchestrator (spec §4.2), on grpc-js with the protocol
// package's wire codecs (no proto-loader). The gateway uses it to discover and price orchestrators;
// the orchestrator's tests use it as a gateway would. The server stays in orchestrator/grpcServer.ts.
import * as grpc from "@grpc/grpc-js";
import {
  LivepayError,
  decodeOrchestratorInfo,
  encodeOrchestratorRequest,
  signOrchestratorInfoRequest,
  type Capabilities,
  type Hex,
  type OrchestratorInfo,
  type OrchestratorRequest,
  type PrivateKey,
} from "@livepay/protocol";

/** The full gRPC method path go-livepeer serves. */
export const GET_ORCHESTRATOR_PATH = "/net.Orchestrator/GetOrchestrator";

/** go-livepeer's GetOrchestrator connect timeout (`GRPCConnectTimeout`, 3 s): the default deadline. */
export const DEFAULT_GET_ORCHESTRATOR_TIMEOUT_MS = 3000;

/**
 * GetOrchestrator failed: unreachable, timed out, refused, or answered garbage. `code` is
 * `RPC_TIMEOUT`, `RPC_FAILED` or `INVALID_URI`; `cause` is grpc-js's ServiceError (its `code` is
 * the gRPC status, its `details` the orchestrator's message).
 */
export class OrchestratorRpcError extends LivepayError {}

/**
 * The gRPC target of a service URI: `host:port`, TLS unless the scheme is `http` (plain h2c).
 * @example grpcTarget("https://orch.example:8935") // { address: "orch.example:8935", tls: true }
 */
export function grpcTarget(uri: string): { address: string; tls: boolean } {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new OrchestratorRpcError("INVALID_URI", `invalid orchestrator URI "${uri}"`, { uri });
  }
  const tls = url.protocol !== "http:";
  const port = url.port !== "" ? url.port : tls ? "443" : "80";
  // URL keeps IPv6 hostnames in brackets, which is the form gRPC targets use too.
  return { address: `${url.hostname}:${port}`, tls };
}

/**
 * Calls GetOrchestrator on any number of orchestrators, one cached grpc-js channel per URI.
 * TLS certificates are not verified, as go-livepeer (`InsecureSkipVerify`): orchestrators use
 * self-signed certificates and are authenticated by their on-chain address instead.
 *
 * @example
 * const rpc = new OrchestratorRpc({ sender, privateKey, timeoutMs: 2500 });
 * const info = await rpc.getOrchestrator("https://127.0.0.1:8935", jobCapabilities(33, "llm-model"));
 */
export class OrchestratorRpc {
  readonly sender: Hex;
  readonly #sig: Hex;
  readonly #timeoutMs: number;
  readonly #clients = new Map<string, grpc.Client>();

  /** `privateKey` signs the request for `sender` (a different key makes the orchestrator refuse it). */
  constructor(opts: { sender: Hex; privateKey: PrivateKey; timeoutMs?: number }) {
    this.sender = opts.sender;
    // The info signature only covers the sender address: sign once.
    this.#sig = signOrchestratorInfoRequest(opts.sender, opts.privateKey);
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_GET_ORCHESTRATOR_TIMEOUT_MS;
  }

  /**
   * GetOrchestrator with the gateway's signed request; `capabilities` asks for the price and ticket
   * params of one job type (spec §4.2). Rejects with `OrchestratorRpcError`.
   * @example const info = await rpc.getOrchestrator(uri)
   */
  getOrchestrator(uri: string, capabilities?: Capabilities): Promise<OrchestratorInfo> {
    const request: OrchestratorRequest = { address: this.sender, sig: this.#sig, ignoreCapacityCheck: false };
    if (capabilities) request.capabilities = capabilities;
    let client: grpc.Client;
    try {
      client = this.#client(uri);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest<OrchestratorRequest, OrchestratorInfo>(
        GET_ORCHESTRATOR_PATH,
        (r) => Buffer.from(encodeOrchestratorRequest(r)),
        (b) => decodeOrchestratorInfo(new Uint8Array(b.buffer, b.byteOffset, b.byteLength)),
        request,
        new grpc.Metadata(),
        { deadline: Date.now() + this.#timeoutMs },
        (err, value) => {
          if (err || value === undefined) {
            const code = err?.code === grpc.status.DEADLINE_EXCEEDED ? "RPC_TIMEOUT" : "RPC_FAILED";
            const e = new OrchestratorRpcError(
              code,
              `GetOrchestrator ${uri}: ${err?.details || err?.message || "no answer"}`,
              { uri, grpcCode: err?.code },
            );
            if (err) e.cause = err;
            reject(e);
          } else resolve(value);
        },
      );
    });
  }

  /** Drops the channel of one orchestrator (e.g. after it failed), so the next call reconnects. */
  forget(uri: string): void {
    this.#clients.get(uri)?.close();
    this.#clients.delete(uri);
  }

  /** Closes every channel. */
  close(): void {
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
  }

  #client(uri: string): grpc.Client {
    let c = this.#clients.get(uri);
    if (!c) {
      const { address, tls } = grpcTarget(uri);
      const creds = tls
        ? grpc.credentials.createSsl(null, null, null, {
            rejectUnauthorized: false,
            checkServerIdentity: () => undefined,
          })
        : grpc.credentials.createInsecure();
      c = new grpc.Client(address, creds, {
        // go-livepeer's GRPCConnectTimeout is 3 s; keep reconnect backoff short so a restarted orchestrator is found again.
        "grpc.initial_reconnect_backoff_ms": 200,
        "grpc.max_reconnect_backoff_ms": 2000,
        "grpc.max_receive_message_length": 1 << 20,
      });
      this.#clients.set(uri, c);
    }
    return c;
  }
}
