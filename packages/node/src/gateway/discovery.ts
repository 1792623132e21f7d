import { OrchestratorRegistryAbi } from "@livepay/contracts";
import { getAddress, zeroAddress, type Address, type Chain, type PublicClient, type Transport } from "viem";

/** An orchestrator the gateway may use, as discovery found it. */
export interface DiscoveredOrchestrator {
  /** Service URI: where GetOrchestrator is called. */
  uri: string;
  /** On-chain address (registry discovery only). */
  address?: Address;
  /** Total stake in wei (0 when unknown, e.g. a static list). */
  stake: bigint;
}

/** Largest pool the gateway walks (Livepeer's active set is 100). */
const MAX_POOL = 1000;

/**
 * The active orchestrators from the on-chain registry (Livepeer's BondingManager, or the devnet's
 * OrchestratorRegistry): walks the transcoder pool from `getFirstTranscoderInPool` with
 * `getNextTranscoderInPool`, and reads each one's stake and service URI (`getServiceURI`, which on
 * Livepeer lives in the separate ServiceRegistry: pass its address as `serviceRegistry`).
 * Orchestrators without a service URI are skipped.
 *
 * @example const list = await registryOrchestrators(publicClient, addresses.bondingManager)
 */
export async function registryOrchestrators(
  client: PublicClient<Transport, Chain>,
  registry: Address,
  serviceRegistry: Address = registry,
): Promise<DiscoveredOrchestrator[]> {
  const out: DiscoveredOrchestrator[] = [];
  let addr = await client.readContract({
    address: registry,
    abi: OrchestratorRegistryAbi,
    functionName: "getFirstTranscoderInPool",
  });
  const seen = new Set<string>();
  while (addr !== zeroAddress && !seen.has(addr) && seen.size < MAX_POOL) {
    seen.add(addr);
    const [uri, stake] = await Promise.all([
      client.readContract({
        address: serviceRegistry,
        abi: OrchestratorRegistryAbi,
        functionName: "getServiceURI",
        args: [addr],
      }),
      client.readContract({
        address: registry,
        abi: OrchestratorRegistryAbi,
        functionName: "transcoderTotalStake",
        args: [addr],
      }),
    ]);
    if (/^https?:\/\//.test(uri))
      out.push({ uri: uri.replace(/\/+$/, ""), address: getAddress(addr), stake });
    addr = await client.readContract({
      address: registry,
      abi: OrchestratorRegistryAbi,
      functionName: "getNextTranscoderInPool",
      args: [addr],
    });
  }
  return out;
}

/**
 * A static orchestrator list as discovery entries (stake unknown).
 * @example staticOrchestrators(["http://127.0.0.1:8935"])
 */
export function staticOrchestrators(uris: readonly string[]): DiscoveredOrchestrator[] {
  return [...new Set(uris)].map((uri) => ({ uri, stake: 0n }));
}
