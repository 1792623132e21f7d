// Wire formats: go-livepeer's protobuf messages (byte-identical), the Livepeer-Payment and
// Livepeer-Segment headers, and the signatures that travel with them. See packages/protocol/WIRE.md.
export * from "./errors.js";
export * from "./limits.js";
export * from "./base64.js";
export type { WireExpirationParams, WireTicketParams, WireTicketSenderParams } from "./ticketParams.js";
export { encodePriceInfo, decodePriceInfo, type PriceInfo } from "./priceInfo.js";
export { encodeAuthToken, decodeAuthToken, type AuthToken } from "./authToken.js";
export {
  encodeCapabilities,
  decodeCapabilities,
  type Capabilities,
  type CapabilitiesConstraints,
  type CapabilityConstraints,
  type ModelConstraint,
} from "./capabilities.js";
export { encodePayment, decodePayment, type Payment } from "./payment.js";
export { encodeOrchestratorInfo, decodeOrchestratorInfo, type OrchestratorInfo } from "./orchestratorInfo.js";
export {
  encodeOrchestratorRequest,
  decodeOrchestratorRequest,
  type OrchestratorRequest,
} from "./orchestratorRequest.js";
export { encodePaymentResult, decodePaymentResult, type PaymentResult } from "./paymentResult.js";
export {
  encodeSegData,
  decodeSegData,
  createSegData,
  LEGACY_PROFILES_INVALID,
  type SegData,
} from "./segData.js";
export * from "./headers.js";
export * from "./orchestratorInfoSig.js";
export * from "./segmentCredentials.js";
export * from "./authTokenHmac.js";
