// Kysely row types of every table. Column names are snake_case SQL; repositories translate to the
// camelCase domain types. Money columns are TEXT (see codec.ts); BIGINT columns come back as bigint
// (better-sqlite3 with safe integers) or string (pg), so their select type is a union read by codec.ts.
import type { ColumnType, Generated } from "kysely";

/** A BIGINT column: written as bigint or number, read back as bigint, number or decimal string. */
export type Int = ColumnType<bigint | number | string, bigint | number, bigint | number>;
/** A nullable BIGINT column. */
export type NullableInt = ColumnType<
  bigint | number | string | null,
  bigint | number | null | undefined,
  bigint | number | null
>;
/** An auto-incremented BIGINT primary key (insertion order). */
export type Seq = Generated<bigint | number | string>;

export interface MetaTable {
  key: string;
  value: string;
}

export interface PayerBalancesTable {
  sender: string;
  manifest_id: string;
  amount_num: string;
  amount_den: string;
  fixed_price_num: string | null;
  fixed_price_den: string | null;
  updated_at: Int;
}

export interface WinningTicketsTable {
  seq: Seq;
  ticket_hash: string;
  sender: string;
  recipient: string;
  face_value: string;
  win_prob: string;
  sender_nonce: Int;
  recipient_rand: string;
  recipient_rand_hash: string;
  sig: string;
  creation_round: Int;
  creation_round_block_hash: string;
  params_expiration_block: Int;
  status: string;
  attempts: Int;
  last_error: string | null;
  tx_hash: string | null;
  created_at: Int;
  updated_at: Int;
}

export interface SenderNoncesTable {
  recipient_rand: string;
  nonce: Int;
  expiration_block: Int;
}

export interface ApiKeysTable {
  id: string;
  name: string;
  key_hash: string;
  key_prefix: string;
  granted_wei: string;
  available_wei: string;
  reserved_wei: string;
  spent_wei: string;
  cap_per_request_wei: string | null;
  cap_per_day_wei: string | null;
  disabled_at: NullableInt;
  created_at: Int;
  updated_at: Int;
}

export interface CreditReservationsTable {
  id: string;
  key_id: string;
  amount_wei: string;
  committed_wei: string | null;
  status: string;
  idempotency_key: string | null;
  day: string;
  created_at: Int;
  closed_at: NullableInt;
}

export interface KeyDailySpendTable {
  key_id: string;
  day: string;
  amount_wei: string;
}

export interface IdempotencyRecordsTable {
  key_id: string;
  idempotency_key: string;
  request_hash: string;
  status: string;
  response: string | null;
  created_at: Int;
  updated_at: Int;
}

export interface UsageRecordsTable {
  seq: Seq;
  request_id: string;
  key_id: string;
  pipeline: string;
  model: string;
  units: string;
  fee_wei: string;
  gateway_fee_wei: string;
  orchestrator: string | null;
  tickets_sent: Int;
  ev_sent_num: string;
  ev_sent_den: string;
  status: string;
  day: string;
  created_at: Int;
}

export interface GatewaySessionsTable {
  session_id: string;
  last_nonce: Int;
  created_at: Int;
  updated_at: Int;
}

export interface GatewayBalancesTable {
  recipient: string;
  session_id: string;
  amount_num: string;
  amount_den: string;
  updated_at: Int;
}

export interface PersistentPayerRecordsTable {
  namespace: string;
  key: string;
  value: string;
}

/** Every table of the livepay store. */
export interface Schema {
  meta: MetaTable;
  payer_balances: PayerBalancesTable;
  winning_tickets: WinningTicketsTable;
  sender_nonces: SenderNoncesTable;
  api_keys: ApiKeysTable;
  credit_reservations: CreditReservationsTable;
  key_daily_spend: KeyDailySpendTable;
  idempotency_records: IdempotencyRecordsTable;
  usage_records: UsageRecordsTable;
  gateway_sessions: GatewaySessionsTable;
  gateway_balances: GatewayBalancesTable;
  persistent_payer_records: PersistentPayerRecordsTable;
}
