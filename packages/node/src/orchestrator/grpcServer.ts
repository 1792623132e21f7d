// gRPC server for `net.Orchestrator/GetOrchestrator` (@grpc/grpc-js, plaintext h2c).
import {
  Server,
  ServerCredentials,
  status,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServiceError,
} from "@grpc/grpc-js";
import {
  WireError,
  decodeOrchestratorRequest,
  type OrchestratorInfo,
  type OrchestratorRequest,
} from "@livepay/protocol";
import type { Logger } from "pino";
import { OrchestratorError } from "./errors.js";
import { orchestratorService } from "./grpcService.js";

export interface GrpcServerHandle {
  /** `http://host:port` (plaintext HTTP/2). */
  url: string;
  port: number;
  stop(): Promise<void>;
}

function grpcCode(e: unknown): status {
  if (e instanceof WireError) return status.INVALID_ARGUMENT;
  if (e instanceof OrchestratorError) {
    switch (e.code) {
      case "INVALID_ORCHESTRATOR_REQUEST":
        return status.PERMISSION_DENIED;
      case "CHAIN_NOT_READY":
        return status.UNAVAILABLE;
      case "TICKET_PARAMS_UNAVAILABLE":
        return e.status === 503 ? status.RESOURCE_EXHAUSTED : status.FAILED_PRECONDITION;
      default:
        return status.UNKNOWN;
    }
  }
  return status.INTERNAL;
}

/**
 * Serves GetOrchestrator on `host:port` (0 = a free port). TLS is not offered: run it on loopback or
 * behind a TLS terminator; go-livepeer gateways reach an `http://` service URI over h2c.
 * Errors answer with a gRPC status and the error's message (go-livepeer's gateways only check that
 * the call failed).
 * @example const grpc = await startGrpcServer({ host: "127.0.0.1", port: 0, handle, logger })
 */
export async function startGrpcServer(opts: {
  host: string;
  port: number;
  handle: (req: OrchestratorRequest) => Promise<OrchestratorInfo>;
  logger: Logger;
}): Promise<GrpcServerHandle> {
  const server = new Server();
  server.addService(orchestratorService, {
    GetOrchestrator(
      call: ServerUnaryCall<Uint8Array, OrchestratorInfo>,
      callback: sendUnaryData<OrchestratorInfo>,
    ) {
      void (async () => {
        try {
          const req = decodeOrchestratorRequest(call.request);
          callback(null, await opts.handle(req));
        } catch (e) {
          const code = grpcCode(e);
          const message = e instanceof Error ? e.message : String(e);
          if (code === status.INTERNAL) opts.logger.error({ err: message }, "GetOrchestrator failed");
          else opts.logger.debug({ err: message, code }, "GetOrchestrator refused");
          const err: Partial<ServiceError> = { code, details: message, message };
          callback(err as ServiceError, null);
        }
      })();
    },
  });
  const bindHost = opts.host.includes(":") && !opts.host.startsWith("[") ? `[${opts.host}]` : opts.host;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${bindHost}:${opts.port}`, ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  let stopped: Promise<void> | undefined;
  return {
    url: `http://${bindHost}:${port}`,
    port,
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), 2000);
        force.unref();
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      })),
  };
}
