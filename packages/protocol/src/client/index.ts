// @livepay/protocol/client: the payer SDK (browser-safe). A payer holds a key or a session key,
// enforces a spending policy, answers livepay 402 quotes with signed vouchers, verifies receipts and
// keeps a local record. `payer.fetch` plugs into the `openai` package. HTTP protocol: PROTOCOL.md.
export * from "./errors.js";
export * from "./policy.js";
export * from "./storage.js";
export * from "./records.js";
export * from "./observe.js";
export * from "./sse.js";
export * from "./payer.js";
export * from "./audit.js";
