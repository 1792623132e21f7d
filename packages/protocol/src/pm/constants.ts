import type { Hex } from "../bytes/hex.js";

/** 32 zero bytes. */
export const ZERO_HASH: Hex = "0x0000000000000000000000000000000000000000000000000000000000000000";
