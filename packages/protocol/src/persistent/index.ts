// livepay persistent tickets (DESIGN "Persistent tickets"): EIP-712 typed data (Voucher, Delegation,
// Quote, Receipt), ticket state and its transitions, approval sizing, the payer's and payee's checks,
// units and rounding, content and request hashes, the receipts sum tree, and the HTTP message codecs.
export * from "./errors.js";
export * from "./eip712.js";
export * from "./domain.js";
export * from "./compactSignature.js";
export * from "./voucher.js";
export * from "./voucherContext.js";
export * from "./delegation.js";
export * from "./quote.js";
export * from "./receipt.js";
export * from "./canonicalJson.js";
export * from "./requestHash.js";
export * from "./contentHash.js";
export * from "./units.js";
export * from "./wav.js";
export * from "./multipart.js";
export * from "./charge.js";
export * from "./makeQuote.js";
export * from "./ticketState.js";
export * from "./approval.js";
export * from "./checkQuote.js";
export * from "./checkReceipt.js";
export * from "./acceptVoucher.js";
export * from "./buildReceipt.js";
export * from "./sumTree.js";
export * from "./json.js";
export * from "./base64url.js";
export * from "./headers.js";
export * from "./paymentRequired.js";
export * from "./receiptEvent.js";
