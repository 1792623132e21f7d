// Persistent tickets, payee side (DESIGN.md § Persistent tickets; protocol in @livepay/protocol).
export * from "./broker.js";
export * from "./claimer.js";
export * from "./payee.js";
export * from "./routes.js";
export * from "./startPayee.js";
export * from "./store.js";
