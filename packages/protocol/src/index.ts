// @livepay/protocol: Livepeer-compatible probabilistic micropayments and livepay's persistent
// tickets in pure TypeScript (no I/O; runs in Node and browsers).
export * from "./errors.js";
export * from "./bytes/hex.js";
export * from "./bytes/integers.js";
export * from "./bytes/address.js";
export * from "./money/rational.js";
export * from "./crypto/keccak256.js";
export * from "./crypto/personalHash.js";
export * from "./crypto/personalSign.js";
export * from "./crypto/secp256k1.js";
export * from "./pm/index.js";
export * from "./wire/index.js";
export * from "./persistent/index.js";
export * from "./crypto/hmacSha256.js";
