// @livepay/node: the running system. Chain clients, watchers and the devnet; typed configuration.
export * from "./chain/index.js";
export * from "./config/amount.js";
export * from "./config/chainOptions.js";
export * from "./store/index.js";
export * from "./net/index.js";
export * from "./orchestrator/index.js";
export * from "./gateway/index.js";
export * from "./persistent/index.js";
