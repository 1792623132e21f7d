// HTTP header values of go-livepeer's AI worker protocol that both livepay nodes speak. The payment
// and segment header names live in @livepay/protocol (PAYMENT_HEADER, SEGMENT_HEADER).

/** The `Authorization` value go-livepeer gateways send on AI routes (`protoVerAIWorker`). */
export const AI_WORKER_AUTHORIZATION = "Livepeer-AI-Worker-1.0";
