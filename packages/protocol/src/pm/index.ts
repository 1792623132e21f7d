export * from "./ticket.js";
export * from "./ticketHash.js";
export * from "./signTicket.js";
export * from "./winningTicket.js";
export * from "./errors.js";
export * from "./recipientRand.js";
export * from "./faceValue.js";
export * from "./sender/index.js";
