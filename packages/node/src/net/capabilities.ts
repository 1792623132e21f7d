// Livepeer capability ids of the AI pipelines, their orchestrator routes, and the Capabilities and
// manifest id of one AI job: the protocol facts gateway and orchestrator must agree on.
import type { Capabilities } from "@livepay/protocol";
import type { Pipeline } from "../runners/types.js";

/**
 * Capability ids (spec §4.1, go-livepeer `core/capabilities.go`). Embeddings have no Livepeer id:
 * livepay uses 38, the first id after BYOC (37), until Livepeer assigns one; the gateway's
 * `capabilityIds` config overrides these defaults.
 */
export const CAPABILITY_IDS: Readonly<Record<Pipeline, number>> = {
  "text-to-image": 27,
  "image-to-image": 28,
  "audio-to-text": 31,
  llm: 33,
  "text-to-speech": 36,
  embeddings: 38,
};

/** The orchestrator HTTP route of each pipeline (go-livepeer's AI routes; `/embeddings` is livepay's). */
export const PIPELINE_ROUTES: Readonly<Record<Pipeline, string>> = {
  "text-to-image": "/text-to-image",
  "image-to-image": "/image-to-image",
  "audio-to-text": "/audio-to-text",
  llm: "/llm",
  "text-to-speech": "/text-to-speech",
  embeddings: "/embeddings",
};

/** A capability id, or a pipeline standing for its default id. */
export type CapabilityRef = number | Pipeline;

function capabilityId(c: CapabilityRef): number {
  return typeof c === "number" ? c : CAPABILITY_IDS[c];
}

/**
 * The capability bitstring of a set of ids: bit `id % 64` of 64-bit word `id / 64`.
 * @example capabilityBitstring([27, 33]) // [(1n << 27n) | (1n << 33n)]
 */
export function capabilityBitstring(ids: readonly number[]): bigint[] {
  const words = ids.length === 0 ? 0 : Math.floor(Math.max(...ids) / 64) + 1;
  const out: bigint[] = Array.from({ length: words }, () => 0n);
  for (const id of ids) out[Math.floor(id / 64)]! |= 1n << BigInt(id % 64);
  return out;
}

/**
 * The orchestrator-side manifest id (balance key) of an AI job, `"<capability>_<modelId>"` (spec §2.7),
 * which the gateway also puts in its segment credentials.
 * @example manifestIdFor("text-to-image", "ByteDance/SDXL-Lightning") // "27_ByteDance/SDXL-Lightning"
 */
export function manifestIdFor(capability: CapabilityRef, modelId: string): string {
  return `${capabilityId(capability)}_${modelId}`;
}

/**
 * The `Capabilities` a gateway sends in GetOrchestrator (and SegData) for one AI job: the capability
 * bit, capacity 1, and the model as the only constraint, so the orchestrator prices exactly that
 * (capability, model) (go-livepeer `PriceInfoForCaps`, spec §6.1).
 * @example jobCapabilities("llm", "meta-llama/Llama-3.1-8B-Instruct") // same as jobCapabilities(33, ...)
 */
export function jobCapabilities(capability: CapabilityRef, modelId: string): Capabilities {
  const id = capabilityId(capability);
  return {
    bitstring: capabilityBitstring([id]),
    mandatories: [],
    capacities: new Map([[id, 1]]),
    version: "",
    constraints: {
      minVersion: "",
      perCapability: new Map([
        [
          id,
          { models: new Map([[modelId, { warm: false, capacity: 1, runnerVersion: "", capacityInUse: 0 }]]) },
        ],
      ]),
    },
  };
}
