// A small gRPC client for `net.Orchestrator/GetOrchestrator`, for gateways and tests. It depends
// only on @grpc/grpc-js and @livepay/protocol (no orchestrator code), so a gateway can use it as is.
import {
  credentials,
  makeGenericClientConstructor,
  Metadata,
  type Client,
  type ServiceError,
} from "@grpc/grpc-js";
import {
  signOrchestratorInfoRequest,
  type Capabilities,
  type Hex,
  type OrchestratorInfo,
  type OrchestratorRequest,
  type PrivateKey,
} from "@livepay/protocol";
import { orchestratorService } from "./grpcService.js";

/** go-livepeer's GetOrchestrator timeouts: connect 3 s (`GRPCConnectTimeout`), refresh 2.5 s. */
export const DEFAULT_GET_ORCHESTRATOR_TIMEOUT_MS = 3000;

const OrchestratorClientCtor = makeGenericClientConstructor(orchestratorService, "Orchestrator");

type UnaryFn = (
  req: OrchestratorRequest,
  metadata: Metadata,
  options: { deadline: number },
  cb: (err: ServiceError | null, res?: OrchestratorInfo) => void,
) => void;

/**
 * The grpc-js target and credentials of an orchestrator URI: `http://host:port` → plaintext h2c;
 * `https://host:port` → TLS without certificate verification (go-livepeer orchestrators use
 * self-signed certificates and Go gateways skip verification, spec §4.2); `host:port` → plaintext.
 * @example grpcTarget("https://orch.example:8935") // { target: "orch.example:8935", tls: true }
 */
export function grpcTarget(uri: string): { target: string; tls: boolean } {
  const m = /^(https?):\/\/([^/]+)\/?$/i.exec(uri.trim());
  if (m) return { target: m[2]!, tls: m[1]!.toLowerCase() === "https" };
  return { target: uri.trim(), tls: false };
}

/**
 * A GetOrchestrator client with one channel per orchestrator URI. Close it when done.
 * @example
 * const client = new OrchestratorClient();
 * const info = await client.getOrchestrator("http://127.0.0.1:8935", { senderKey, sender, capabilities });
 * client.close();
 */
export class OrchestratorClient {
  private readonly clients = new Map<string, Client>();

  /**
   * Calls GetOrchestrator, signing the request with `senderKey` (spec §4.2). Rejects with the grpc-js
   * ServiceError (its `code` and `details`) or a timeout after `timeoutMs`.
   * @example await client.getOrchestrator(uri, { senderKey, sender, capabilities: jobCapabilities("llm", "m") })
   */
  getOrchestrator(
    uri: string,
    req: {
      sender: Hex;
      /** Signs the request; or give `sig` (e.g. from a remote signer). */
      senderKey?: PrivateKey;
      sig?: Hex;
      capabilities?: Capabilities;
      ignoreCapacityCheck?: boolean;
    },
    opts: { timeoutMs?: number } = {},
  ): Promise<OrchestratorInfo> {
    const sig =
      req.sig ?? (req.senderKey ? signOrchestratorInfoRequest(req.sender, req.senderKey) : undefined);
    if (!sig) return Promise.reject(new Error("getOrchestrator needs senderKey or sig"));
    const request: OrchestratorRequest = {
      address: req.sender,
      sig,
      ignoreCapacityCheck: req.ignoreCapacityCheck ?? false,
      ...(req.capabilities ? { capabilities: req.capabilities } : {}),
    };
    const client = this.client(uri);
    const call = (client as unknown as { GetOrchestrator: UnaryFn }).GetOrchestrator.bind(client);
    const deadline = Date.now() + (opts.timeoutMs ?? DEFAULT_GET_ORCHESTRATOR_TIMEOUT_MS);
    return new Promise((resolve, reject) =>
      call(request, new Metadata(), { deadline }, (err, res) => (err || !res ? reject(err) : resolve(res))),
    );
  }

  /** Closes every channel. */
  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  private client(uri: string): Client {
    const known = this.clients.get(uri);
    if (known) return known;
    const { target, tls } = grpcTarget(uri);
    const creds = tls
      ? credentials.createSsl(null, null, null, {
          rejectUnauthorized: false,
          checkServerIdentity: () => undefined,
        })
      : credentials.createInsecure();
    const c = new OrchestratorClientCtor(target, creds) as unknown as Client;
    this.clients.set(uri, c);
    return c;
  }
}

/**
 * One-shot GetOrchestrator (opens and closes a channel).
 * @example const info = await getOrchestratorInfo(uri, { sender, senderKey })
 */
export async function getOrchestratorInfo(
  uri: string,
  req: Parameters<OrchestratorClient["getOrchestrator"]>[1],
  opts?: { timeoutMs?: number },
): Promise<OrchestratorInfo> {
  const client = new OrchestratorClient();
  try {
    return await client.getOrchestrator(uri, req, opts);
  } finally {
    client.close();
  }
}
