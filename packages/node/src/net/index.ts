// What both livepay nodes share because they speak the same network protocol (go-livepeer's
// GetOrchestrator and AI routes). Gateway and orchestrator import this, never each other.
export * from "./headers.js";
export * from "./capabilities.js";
export * from "./orchestratorRpc.js";
