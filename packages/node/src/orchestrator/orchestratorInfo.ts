// GetOrchestrator (spec §4.2): verify the request, price it, issue ticket params and an auth token.
import { randomBytes } from "node:crypto";
import {
  InsufficientReserveError,
  Rational,
  bytesToBigInt,
  faceValue,
  issueTicketParams,
  maxFloat,
  verifyOrchestratorInfoRequest,
  type Hex,
  type OrchestratorInfo,
  type OrchestratorRequest,
} from "@livepay/protocol";
import type { Address } from "viem";
import type { LivepeerChain } from "../chain/livepeerChain.js";
import type { WinningTicketQueue } from "../store/winningTickets.js";
import { CAPABILITY_IDS } from "../net/capabilities.js";
import { orchestratorCapabilities, requestedModels, type ServedModel } from "./capabilities.js";
import type { ChainState } from "./chainState.js";
import { OrchestratorError } from "./errors.js";
import { toPriceInfo, type PriceBook } from "./pricing.js";
import { issueAuthToken } from "./secrets.js";

export interface OrchestratorInfoDeps {
  /** The node's signing address (OrchestratorInfo.address). */
  address: Hex;
  recipient: Hex;
  ticketEV: bigint;
  maxFaceValue: bigint;
  redeemGas: bigint;
  authTokenTtlSeconds: number;
  capabilitiesVersion: string;
  recipientSecret: Uint8Array;
  authSecret: Uint8Array;
  state: ChainState;
  chain: Pick<LivepeerChain, "claimedReserve">;
  winningTickets: Pick<WinningTicketQueue, "pendingFaceValue">;
  prices: PriceBook;
  models: () => ServedModel[];
  serviceUri: () => string;
  now?: () => number;
}

/**
 * Builds the OrchestratorInfo for a GetOrchestrator request:
 * 1. the request's `sig` must be the sender's info signature (else INVALID_ORCHESTRATOR_REQUEST);
 * 2. capacity: a requested model at capacity refuses, unless `ignoreCapacityCheck`;
 * 3. price = Σ requested (capability, model) prices (PriceBook.priceForCaps); without capabilities
 *    the params are quoted at 0 and `capabilities_prices` lists every model;
 * 4. face value from the gas price and the sender's max float (reserve / pool size − claimed −
 *    queued winners), win probability for the EV, params expiring 40 L1 blocks ahead, a random seed;
 * 5. a fresh auth token (30 min), the service URI, capabilities and the signing address.
 * @example const info = await buildOrchestratorInfo(deps, decodeOrchestratorRequest(bytes))
 */
export async function buildOrchestratorInfo(
  d: OrchestratorInfoDeps,
  req: OrchestratorRequest,
): Promise<OrchestratorInfo> {
  const sender = req.address.toLowerCase() as Hex;
  if (!verifyOrchestratorInfoRequest(sender, req.sig)) {
    throw new OrchestratorError(
      "INVALID_ORCHESTRATOR_REQUEST",
      "invalid orchestrator request signature",
      403,
    );
  }
  const models = d.models();
  const requested = requestedModels(req.capabilities);
  if (!req.ignoreCapacityCheck) {
    for (const r of requested) {
      const m = models.find((x) => CAPABILITY_IDS[x.pipeline] === r.capability && x.modelId === r.modelId);
      if (m && m.inFlight >= m.capacity) {
        throw new OrchestratorError("TICKET_PARAMS_UNAVAILABLE", "orchestrator at capacity", 503, {
          capability: r.capability,
          model: r.modelId,
        });
      }
    }
  }
  // The params bind the price exactly as it travels (PriceInfo), which the gateway echoes back.
  const priceInfo = toPriceInfo(req.capabilities ? d.prices.priceForCaps(req.capabilities) : Rational.ZERO);
  const price = Rational.of(priceInfo.pricePerUnit, priceInfo.pixelsPerUnit);

  let fv = 0n;
  if (price.sign() > 0) {
    const info = await d.state.senderInfo(sender);
    if (info instanceof Error) {
      throw new OrchestratorError(
        "TICKET_PARAMS_UNAVAILABLE",
        `could not get sender info: ${info.message}`,
        503,
      );
    }
    const [claimedReserve, pending] = await Promise.all([
      d.chain.claimedReserve(sender as Address, d.recipient as Address),
      d.winningTickets.pendingFaceValue(sender),
    ]);
    const mf = maxFloat({ ...info, poolSize: d.state.poolSize, claimedReserve, pending });
    try {
      fv = faceValue({
        price,
        gasPrice: d.state.faceValueGasPrice,
        redeemGas: d.redeemGas,
        ev: d.ticketEV,
        maxFloat: mf,
        maxFaceValue: d.maxFaceValue,
      });
    } catch (e) {
      if (e instanceof InsufficientReserveError) {
        throw new OrchestratorError(
          "TICKET_PARAMS_UNAVAILABLE",
          e.message,
          402,
          e.details as Record<string, unknown>,
        );
      }
      throw e;
    }
  }

  const round = d.state.round;
  const params = issueTicketParams({
    recipient: d.recipient,
    secret: d.recipientSecret,
    sender,
    price,
    faceValue: fv,
    ev: d.ticketEV,
    seed: bytesToBigInt(randomBytes(32)),
    lastSeenL1Block: d.state.lastSeenL1Block,
    lastInitializedRound: round.lastInitializedRound,
    lastInitializedRoundBlockHash: round.blockHash,
  });
  return {
    transcoder: d.serviceUri(),
    ticketParams: {
      recipient: params.recipient,
      faceValue: params.faceValue,
      winProb: params.winProb,
      recipientRandHash: params.recipientRandHash,
      seed: params.seed,
      expirationBlock: params.expirationBlock,
      expirationParams: { ...params.expirationParams },
    },
    priceInfo,
    address: d.address,
    capabilities: orchestratorCapabilities(models, d.capabilitiesVersion),
    authToken: issueAuthToken(d.authSecret, d.authTokenTtlSeconds, (d.now ?? Date.now)()),
    hardware: [],
    storage: [],
    capabilitiesPrices: req.capabilities ? [] : d.prices.capabilitiesPrices(),
    nodes: [],
  };
}
