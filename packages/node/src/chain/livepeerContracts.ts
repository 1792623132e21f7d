import { keccak256, stringToBytes, type Address, type Hex } from "viem";

/**
 * The Controller id of a Livepeer contract: `keccak256(name)` over the UTF-8 name (spec §7.1, §7.5).
 * @example contractId("RoundsManager") // "0xe8438ea868df48e3fc21f2f087b993c9b1837dc0f6135064161ce7d7a1701fe8"
 */
export function contractId(name: string): Hex {
  return keccak256(stringToBytes(name));
}

/** Livepeer's deployment on Arbitrum One (spec §7.1; go-livepeer `starter.go`). */
export const ARBITRUM_ONE = {
  chainId: 42161,
  /** TicketBroker proxy (target 0xea1b0F6c8D158328a6e3D3F924B86A759F41465c since 2023-09-08). */
  ticketBroker: "0xa8bB618B1520E284046F3dFc448851A1Ff26e41B",
  controller: "0xD8E8328501E9645d16Cf49539efC04f734606ee4",
  /** A public endpoint for convenience; operators should use their own provider. */
  defaultRpcUrl: "https://arb1.arbitrum.io/rpc",
} as const satisfies { chainId: number; ticketBroker: Address; controller: Address; defaultRpcUrl: string };

/**
 * The minimal Controller surface (spec §7.6) used to resolve RoundsManager and BondingManager,
 * declared here because the devnet has no Controller of its own.
 */
export const ControllerAbi = [
  {
    type: "function",
    name: "getContract",
    stateMutability: "view",
    inputs: [{ name: "_id", type: "bytes32" }],
    outputs: [{ name: "", type: "address" }],
  },
  {
    type: "function",
    name: "owner",
    stateMutability: "view",
    inputs: [],
    outputs: [{ name: "", type: "address" }],
  },
  {
    type: "function",
    name: "paused",
    stateMutability: "view",
    inputs: [],
    outputs: [{ name: "", type: "bool" }],
  },
] as const;
