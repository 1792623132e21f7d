import { channel } from "node:diagnostics_channel";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * One timing of the gateway's payment path, as published on {@link GATEWAY_PAYMENT_CHANNEL}:
 * `work` (staging, signing, header encoding: CPU), `nonces` (the durable nonce reservation, usually
 * served from a block already reserved) and `balance` (persisting the balance change after the job).
 */
export interface GatewayPaymentSample {
  step: "work" | "nonces" | "balance";
  seconds: number;
}

/**
 * `node:diagnostics_channel` name on which every gateway in the process publishes a
 * {@link GatewayPaymentSample} per payment step: raw samples for benchmarks and profilers, where
 * histogram buckets are too coarse. Costs nothing without subscribers.
 * @example subscribe(GATEWAY_PAYMENT_CHANNEL, (s) => samples.push(s as GatewayPaymentSample))
 */
export const GATEWAY_PAYMENT_CHANNEL = "livepay:gateway:payment";
const paymentChannel = channel(GATEWAY_PAYMENT_CHANNEL);

/**
 * The gateway's Prometheus metrics, in a registry of its own (several gateways can share a process,
 * as in tests). Wei amounts are exported as floats: Prometheus has no integers, and metrics are for
 * dashboards, never for accounting (the store is).
 * @example const m = new GatewayMetrics(); m.requests.inc({ pipeline: "llm", status: "200" })
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: "livepay_gateway_requests_total",
    help: "Requests answered, by pipeline and HTTP status",
    labelNames: ["pipeline", "status"] as const,
    registers: [this.registry],
  });
  readonly requestSeconds = new Histogram({
    name: "livepay_gateway_request_duration_seconds",
    help: "Time from request to the end of the response",
    labelNames: ["pipeline"] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  readonly paymentSeconds = new Histogram({
    name: "livepay_gateway_payment_work_seconds",
    help: "CPU-side payment work per attempt: staging, signing tickets, building headers",
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05],
    registers: [this.registry],
  });
  readonly paymentCommitSeconds = new Histogram({
    name: "livepay_gateway_payment_commit_seconds",
    help: "Durable store writes of the payment path: nonce reservation before signing, balance after the job",
    labelNames: ["step"] as const,
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
    registers: [this.registry],
  });
  readonly ticketsSent = new Counter({
    name: "livepay_gateway_tickets_sent_total",
    help: "Tickets sent, by orchestrator",
    labelNames: ["orchestrator"] as const,
    registers: [this.registry],
  });
  readonly evSentWei = new Counter({
    name: "livepay_gateway_ticket_ev_sent_wei_total",
    help: "Expected value of the tickets sent (wei, float)",
    labelNames: ["orchestrator"] as const,
    registers: [this.registry],
  });
  readonly feesChargedWei = new Counter({
    name: "livepay_gateway_fees_charged_wei_total",
    help: "Fees committed against API keys (wei, float)",
    labelNames: ["pipeline"] as const,
    registers: [this.registry],
  });
  readonly failovers = new Counter({
    name: "livepay_gateway_failovers_total",
    help: "Attempts abandoned for another orchestrator before the first byte",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  readonly sessionRefreshes = new Counter({
    name: "livepay_gateway_session_refreshes_total",
    help: "GetOrchestrator calls for ticket params, by reason",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  readonly orchestrators = new Gauge({
    name: "livepay_gateway_orchestrators",
    help: "Known orchestrators, by state",
    labelNames: ["state"] as const,
    registers: [this.registry],
  });
  readonly depositWei = new Gauge({
    name: "livepay_gateway_deposit_wei",
    help: "The gateway's TicketBroker deposit (wei, float)",
    registers: [this.registry],
  });
  readonly reserveWei = new Gauge({
    name: "livepay_gateway_reserve_wei",
    help: "The gateway's TicketBroker reserve still unclaimed (wei, float)",
    registers: [this.registry],
  });
  readonly fundsLow = new Gauge({
    name: "livepay_gateway_funds_low",
    help: "1 when the deposit or reserve is below its warning threshold, or an unlock is pending",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics ?? true)
      collectDefaultMetrics({ register: this.registry, prefix: "livepay_gateway_" });
  }

  /**
   * Records a payment-path timing in its histogram and publishes it on
   * {@link GATEWAY_PAYMENT_CHANNEL} when someone listens.
   * @example metrics.observePayment({ step: "work", seconds: 0.0002 })
   */
  observePayment(s: GatewayPaymentSample): void {
    if (s.step === "work") this.paymentSeconds.observe(s.seconds);
    else this.paymentCommitSeconds.observe({ step: s.step }, s.seconds);
    if (paymentChannel.hasSubscribers) paymentChannel.publish(s);
  }
}
