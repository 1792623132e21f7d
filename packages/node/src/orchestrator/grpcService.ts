// The gRPC service definition of go-livepeer's `net.Orchestrator`, with livepay's wire codecs as
// (de)serializers (no proto-loader), for the server (the client is ../net/orchestratorRpc.ts).
import type { ServiceDefinition } from "@grpc/grpc-js";
import {
  decodeOrchestratorInfo,
  encodeOrchestratorInfo,
  encodeOrchestratorRequest,
  type OrchestratorInfo,
  type OrchestratorRequest,
} from "@livepay/protocol";
import { GET_ORCHESTRATOR_PATH } from "../net/orchestratorRpc.js";

/**
 * `net.Orchestrator` with GetOrchestrator only. The server side deserializes to raw bytes so that a
 * malformed request becomes INVALID_ARGUMENT in the handler (a throwing deserializer would be
 * reported by grpc-js as INTERNAL).
 */
export const orchestratorServiceDefinition = {
  GetOrchestrator: {
    path: GET_ORCHESTRATOR_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: (r: OrchestratorRequest): Buffer => Buffer.from(encodeOrchestratorRequest(r)),
    requestDeserialize: (b: Buffer): Uint8Array => new Uint8Array(b),
    responseSerialize: (info: OrchestratorInfo): Buffer => Buffer.from(encodeOrchestratorInfo(info)),
    responseDeserialize: (b: Buffer): OrchestratorInfo => decodeOrchestratorInfo(new Uint8Array(b)),
  },
} as const;

/** The same definition typed for grpc-js. */
export const orchestratorService = orchestratorServiceDefinition as unknown as ServiceDefinition;
