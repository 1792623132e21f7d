// The livepay orchestrator: go-livepeer's GetOrchestrator and AI routes, paid with tickets.
export * from "./errors.js";
export * from "./capabilities.js";
export * from "./pricing.js";
export * from "./config.js";
export * from "./secrets.js";
export * from "./chainState.js";
export * from "./orchestratorInfo.js";
export * from "./grpcService.js";
export * from "./grpcServer.js";
export * from "./metrics.js";
export * from "./paymentReceiver.js";
export * from "./ledger.js";
export * from "./jobs.js";
export * from "./httpServer.js";
export * from "./redeemer.js";
export * from "./startOrchestrator.js";
