// Prometheus metrics of one orchestrator (its own registry, so several can run in one process).
//
// Money in Prometheus: samples are float64, so wei amounts (up to 2^256) cannot be exact. Money
// counters are in gwei (`*_gwei_total`): float64 holds every whole gwei amount below 2^53 gwei
// (~9 million ETH) exactly, and sub-gwei fractions (ticket EVs are rationals) to ~1e-6 gwei. The
// exact wei values are in the store (balances, the winning-ticket queue); metrics are for graphs.
import { channel } from "node:diagnostics_channel";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** One payment's timings, as published on {@link ORCHESTRATOR_PAYMENT_CHANNEL}. */
export interface OrchestratorPaymentSample {
  /** CPU-side work: header decode + segment/auth checks + processPayment (seconds). */
  workSeconds: number;
  /** The durable store commit of credit, winners and nonces (seconds); undefined when nothing to commit. */
  commitSeconds: number | undefined;
  tickets: number;
}

/**
 * `node:diagnostics_channel` name on which every orchestrator in the process publishes an
 * {@link OrchestratorPaymentSample} per payment: raw samples for benchmarks and profilers, where
 * histogram buckets are too coarse. Costs nothing without subscribers.
 * @example subscribe(ORCHESTRATOR_PAYMENT_CHANNEL, (s) => samples.push(s as OrchestratorPaymentSample))
 */
export const ORCHESTRATOR_PAYMENT_CHANNEL = "livepay:orchestrator:payment";
const paymentChannel = channel(ORCHESTRATOR_PAYMENT_CHANNEL);

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
  readonly paymentWorkSeconds: Histogram;
  readonly paymentCommitSeconds: Histogram;

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
    this.paymentWorkSeconds = new Histogram({
      name: "livepay_orchestrator_payment_work_seconds",
      help: "CPU-side payment work per paid request: header decode, segment and auth checks, processPayment",
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05],
      registers,
    });
    this.paymentCommitSeconds = new Histogram({
      name: "livepay_orchestrator_payment_commit_seconds",
      help: "Durable store commit of a payment (credit, winning tickets, nonces)",
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
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

  /**
   * Records one payment's timings in the two histograms and publishes them on
   * {@link ORCHESTRATOR_PAYMENT_CHANNEL} when someone listens.
   * @example metrics.observePayment({ workSeconds: 0.0002, commitSeconds: 0.0004, tickets: 1 })
   */
  observePayment(s: OrchestratorPaymentSample): void {
    this.paymentWorkSeconds.observe(s.workSeconds);
    if (s.commitSeconds !== undefined) this.paymentCommitSeconds.observe(s.commitSeconds);
    if (paymentChannel.hasSubscribers) paymentChannel.publish(s);
  }

  /** The Prometheus text exposition. @example reply.type(metrics.contentType).send(await metrics.text()) */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
