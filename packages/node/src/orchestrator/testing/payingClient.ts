// A minimal paying client built only from @livepay/protocol and ../../net/, as a gateway
// would pay: GetOrchestrator, stage tickets for a fee, sign segment credentials, send the headers.
// Used by the orchestrator tests; no gateway logic (no balances across requests, no retries).
import type { Rational } from "@livepay/protocol";
import {
  PAYMENT_HEADER,
  SEGMENT_HEADER,
  TicketSender,
  buildPayment,
  createSegData,
  encodePaymentHeader,
  encodeSegmentHeader,
  maxRational,
  privateKeyToAddress,
  signSegData,
  type Capabilities,
  type Hex,
  type OrchestratorInfo,
  type Payment,
  type SegData,
  type TicketBatch,
} from "@livepay/protocol";
import type { LivepeerChain } from "../../chain/livepeerChain.js";
import { AI_WORKER_AUTHORIZATION } from "../../net/headers.js";
import { OrchestratorRpc } from "../../net/orchestratorRpc.js";

/** One payment's headers and what went into them. */
export interface PaidRequest {
  headers: Record<string, string>;
  payment: Payment;
  segData: SegData;
  batch: TicketBatch | undefined;
}

/** A payer: one key, one TicketSender, sessions keyed by the params' recipientRandHash. */
export class PayingClient {
  readonly address: Hex;
  readonly sender: TicketSender;
  private readonly grpc: OrchestratorRpc;

  constructor(
    private readonly key: Hex,
    private readonly chain: LivepeerChain,
  ) {
    this.address = privateKeyToAddress(key);
    this.sender = new TicketSender({ privateKey: key });
    this.grpc = new OrchestratorRpc({ sender: this.address, privateKey: key });
  }

  /** GetOrchestrator for `capabilities`, and a fresh PM session for its params. */
  async info(grpcUrl: string, capabilities?: Capabilities): Promise<OrchestratorInfo> {
    const info = await this.grpc.getOrchestrator(grpcUrl, capabilities);
    if (info.ticketParams) this.sender.startSession(info.ticketParams);
    return info;
  }

  /** The exact EV of one ticket of these params. */
  ev(info: OrchestratorInfo): Rational {
    return this.sender.ev(info.ticketParams!.recipientRandHash.toLowerCase());
  }

  /**
   * Headers paying `fee` (wei) with `ceil(max(fee, EV) / EV)` tickets (`tickets` overrides; 0 sends a
   * ticket-less payment), for the AI job of `manifestId`.
   */
  async pay(
    info: OrchestratorInfo,
    manifestId: string,
    fee: Rational,
    opts: { tickets?: number; signKey?: Hex } = {},
  ): Promise<PaidRequest> {
    const params = info.ticketParams!;
    const session = params.recipientRandHash.toLowerCase();
    const ev = this.sender.ev(session);
    const n = opts.tickets ?? Number(maxRational(fee, ev).div(ev).ceil());
    let batch: TicketBatch | undefined;
    if (n > 0) {
      const [lastSeenL1Block, lastInitializedRound, senderInfo] = await Promise.all([
        this.chain.roundsBlockNumber(),
        this.chain.lastInitializedRound(),
        this.chain.getSenderInfo(this.address),
      ]);
      batch = this.sender.createTicketBatch(session, n, {
        lastSeenL1Block,
        lastInitializedRound,
        lastInitializedBlockHash: await this.chain.blockHashForRound(lastInitializedRound),
        senderInfo,
        maxTicketEV: 10n ** 18n,
        maxTotalEV: 10n ** 19n,
      });
    }
    const payment = buildPayment({
      sender: this.address,
      expectedPrice: info.priceInfo!,
      ...(batch ? { batch } : {}),
    });
    const seg = createSegData({ manifestId, ...(info.authToken ? { authToken: info.authToken } : {}) });
    const segData = { ...seg, sig: signSegData(seg, opts.signKey ?? this.key) };
    return {
      headers: {
        [PAYMENT_HEADER]: encodePaymentHeader(payment),
        [SEGMENT_HEADER]: encodeSegmentHeader(segData),
        Authorization: AI_WORKER_AUTHORIZATION,
      },
      payment,
      segData,
      batch,
    };
  }

  close(): void {
    this.grpc.close();
  }
}
