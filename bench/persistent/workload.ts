// The persistent-ticket bench's workload: model, price, funding, warm-up.
export const ETH = 10n ** 18n;
export const MODEL = "synthetic-llm";
export const PRICE = 1_000_000_000n; // 1 gwei per completion token, as bench/node.ts
export const DEPOSIT = ETH / 10n;
export const RESERVE = ETH;
export const TWO_256 = 2n ** 256n;
export const GATEWAY_FEE = 1000n; // the gateway's explicit fee line per paid request, wei
export const WARMUP = 20;
