// Chain access for livepay nodes: viem clients for the livepay devnet and Livepeer on Arbitrum One,
// block/round and sender watchers, and the devnet itself.
export * from "./errors.js";
export * from "./livepeerContracts.js";
export * from "./livepeerChain.js";
export * from "./connect.js";
export * from "./manifest.js";
export * from "./listeners.js";
export * from "./blockRoundWatcher.js";
export * from "./senderWatcher.js";
export * from "./devnet.js";
