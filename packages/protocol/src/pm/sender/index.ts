// Gateway (sender) side of Livepeer probabilistic micropayments, plus the sender-funds math both roles use.
export * from "./senderInfo.js";
export * from "./validateSender.js";
export * from "./errors.js";
export * from "./senderTicketParams.js";
export * from "./validateTicketParams.js";
export * from "./ticketBatch.js";
export * from "./ticketSender.js";
export * from "./ticketsToStage.js";
export * from "./balances.js";
export * from "./maxFloat.js";
export * from "./estimateFee.js";
export * from "./selectionProbabilities.js";
