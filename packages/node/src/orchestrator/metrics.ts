// Prometheus metrics of one orchestrator (its own registry, so several can run in one process).
//
// Money in Prometheus: samples are float64, so wei amounts (up to 2^256) cannot be exact. Money
// counters are in gwei (`*_gwei_total`): float64 holds every whole gwei amount below 2^53 gwei
// (~9 million ETH) exactly, and sub-gwei fractions (ticket EVs are rationals) to ~1e-6 gwei. The
// exact wei values are in the store (balances, the winning-ticket queue); metrics are for graphs.
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";

/** The orchestrator's metrics. @example metrics.ticketsReceived.inc(3) */
export class OrchestratorMetrics {
  readonly registry = new Registry();
  readonly ticketsReceived: Counter;
  readonly ticketsAccepted: Counter;
  readonly winningTickets: Counter;
  readonly ticketsRedeemed: Counter;
  readonly redemptionFailures: Counter<"retryable">;
  readonly valueRedeemedGwei: Counter;
  readonly creditGwei: Counter;
  readonly debitGwei: Counter;
  readonly debits: Counter;
  readonly payments: Counter<"result">;
  readonly requests: Counter<"pipeline" | "status">;
  readonly pendingWinners: Gauge;

  constructor(opts: { pendingWinners: () => Promise<number>; defaultMetrics?: boolean }) {
    const registers = [this.registry];
    this.ticketsReceived = new Counter({
      name: "livepay_orchestrator_tickets_received_total",
      help: "Tickets received in Livepeer-Payment headers",
      registers,
    });
    this.ticketsAccepted = new Counter({
      name: "livepay_orchestrator_tickets_accepted_total",
      help: "Tickets credited (valid, before any error of their payment)",
      registers,
    });
    this.winningTickets = new Counter({
      name: "livepay_orchestrator_winning_tickets_total",
      help: "Winning tickets queued for redemption",
      registers,
    });
    this.ticketsRedeemed = new Counter({
      name: "livepay_orchestrator_tickets_redeemed_total",
      help: "Winning tickets redeemed on chain",
      registers,
    });
    this.redemptionFailures = new Counter({
      name: "livepay_orchestrator_redemption_failures_total",
      help: "Failed redemption attempts (retryable: the ticket stays queued)",
      labelNames: ["retryable"],
      registers,
    });
    this.valueRedeemedGwei = new Counter({
      name: "livepay_orchestrator_value_redeemed_gwei_total",
      help: "Value paid to the recipient by redeemed tickets, in gwei (float; exact wei in the store)",
      registers,
    });
    this.creditGwei = new Counter({
      name: "livepay_orchestrator_credit_gwei_total",
      help: "Ticket EV credited to payer balances, in gwei",
      registers,
    });
    this.debitGwei = new Counter({
      name: "livepay_orchestrator_debit_gwei_total",
      help: "Fees debited from payer balances (actual units x price), in gwei",
      registers,
    });
    this.debits = new Counter({
      name: "livepay_orchestrator_balance_debits_total",
      help: "Jobs debited from payer balances",
      registers,
    });
    this.payments = new Counter({
      name: "livepay_orchestrator_payments_total",
      help: "Payments processed, by result (ok, error, fatal)",
      labelNames: ["result"],
      registers,
    });
    this.requests = new Counter({
      name: "livepay_orchestrator_requests_total",
      help: "AI requests answered, by pipeline and HTTP status",
      labelNames: ["pipeline", "status"],
      registers,
    });
    const pending = opts.pendingWinners;
    this.pendingWinners = new Gauge({
      name: "livepay_orchestrator_pending_winning_tickets",
      help: "Winning tickets queued and not yet redeemed",
      registers,
      async collect() {
        this.set(await pending());
      },
    });
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** The Prometheus text exposition. @example reply.type(metrics.contentType).send(await metrics.text()) */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
