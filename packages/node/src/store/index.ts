// livepay's store: one Kysely query layer over SQLite (embedded default) and PostgreSQL (replicas).
export * from "./openStore.js";
export * from "./errors.js";
export type { Dialect } from "./db.js";
export { MIGRATIONS, SCHEMA_VERSION } from "./migrations.js";
export * from "./meta.js";
export * from "./payerBalances.js";
export * from "./winningTickets.js";
export * from "./senderNonces.js";
export * from "./apiKeys.js";
export * from "./creditReservations.js";
export * from "./idempotency.js";
export * from "./usage.js";
export * from "./sessionNonces.js";
export * from "./gatewayBalances.js";
export * from "./payerRecords.js";
