// The livepay gateway: OpenAI-compatible and Livepeer AI APIs in front of Livepeer orchestrators,
// every request paid with probabilistic tickets and billed to API keys with credit.
export * from "./errors.js";
export * from "./capabilities.js";
export * from "./config.js";
export * from "./upstream.js";
export * from "./discovery.js";
export * from "./metrics.js";
export * from "./chainView.js";
export * from "./orchestratorPool.js";
export * from "./sessions.js";
export * from "./selection.js";
export * from "./nonceAllocator.js";
export * from "./payer.js";
export * from "./jobs.js";
export * from "./executor.js";
export * from "./server.js";
export * from "./startGateway.js";
