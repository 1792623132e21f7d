// Livepeer capability ids of the AI pipelines, the orchestrator's advertised Capabilities, and
// what a GetOrchestrator request asks for.
import type { Capabilities, CapabilityConstraints, ModelConstraint } from "@livepay/protocol";
import type { Pipeline } from "../runners/types.js";

/**
 * Capability ids (spec §4.1, go-livepeer `core/capabilities.go`). Embeddings have no Livepeer id:
 * livepay uses 38, the first id after BYOC (37), as livepay's gateway does.
 */
export const CAPABILITY_IDS: Readonly<Record<Pipeline, number>> = {
  "text-to-image": 27,
  "image-to-image": 28,
  "audio-to-text": 31,
  llm: 33,
  "text-to-speech": 36,
  embeddings: 38,
};

/** The HTTP route of each pipeline (go-livepeer's AI routes; `/embeddings` is livepay's). */
export const PIPELINE_ROUTES: Readonly<Record<Pipeline, string>> = {
  "text-to-image": "/text-to-image",
  "image-to-image": "/image-to-image",
  "audio-to-text": "/audio-to-text",
  llm: "/llm",
  "text-to-speech": "/text-to-speech",
  embeddings: "/embeddings",
};

/**
 * go-livepeer's capability version: gateways with `-orchMinLivepeerVersion` compare it to theirs.
 * livepay speaks the 0.9.x wire protocol.
 */
export const DEFAULT_CAPABILITIES_VERSION = "0.9.1";

/**
 * The orchestrator-side manifest id (balance key) of an AI job: `"<capability>_<modelId>"` (spec §2.7).
 * @example manifestIdFor("text-to-image", "ByteDance/SDXL-Lightning") // "27_ByteDance/SDXL-Lightning"
 */
export function manifestIdFor(pipeline: Pipeline, modelId: string): string {
  return `${CAPABILITY_IDS[pipeline]}_${modelId}`;
}

/**
 * The pipeline of a capability id, or undefined.
 * @example pipelineOf(33) // "llm"
 */
export function pipelineOf(capability: number): Pipeline | undefined {
  for (const [p, id] of Object.entries(CAPABILITY_IDS)) if (id === capability) return p as Pipeline;
  return undefined;
}

/** One served model, as the capabilities advertise it. */
export interface ServedModel {
  pipeline: Pipeline;
  modelId: string;
  warm: boolean;
  capacity: number;
  inFlight: number;
}

function bitstringOf(ids: readonly number[]): bigint[] {
  const words = ids.length === 0 ? 0 : Math.floor(Math.max(...ids) / 64) + 1;
  const out: bigint[] = Array.from({ length: words }, () => 0n);
  for (const id of ids) out[Math.floor(id / 64)]! |= 1n << BigInt(id % 64);
  return out;
}

/**
 * The orchestrator's `Capabilities`: one bit and one capacity (sum over models) per pipeline, and
 * each model as a constraint with its warm flag, capacity and capacity in use.
 * @example orchestratorCapabilities([{ pipeline: "llm", modelId: "m", warm: true, capacity: 4, inFlight: 0 }])
 */
export function orchestratorCapabilities(
  models: readonly ServedModel[],
  version = DEFAULT_CAPABILITIES_VERSION,
): Capabilities {
  const perCapability = new Map<number, CapabilityConstraints>();
  const capacities = new Map<number, number>();
  for (const m of [...models].sort((a, b) => CAPABILITY_IDS[a.pipeline] - CAPABILITY_IDS[b.pipeline])) {
    const id = CAPABILITY_IDS[m.pipeline];
    capacities.set(id, (capacities.get(id) ?? 0) + m.capacity);
    const c = perCapability.get(id) ?? { models: new Map<string, ModelConstraint>() };
    c.models.set(m.modelId, {
      warm: m.warm,
      capacity: m.capacity,
      runnerVersion: "",
      capacityInUse: Math.min(m.inFlight, m.capacity),
    });
    perCapability.set(id, c);
  }
  const ids = [...capacities.keys()].sort((a, b) => a - b);
  return {
    bitstring: bitstringOf(ids),
    mandatories: [],
    capacities: new Map(ids.map((id) => [id, capacities.get(id)!])),
    version,
    constraints: { minVersion: "", perCapability },
  };
}

/**
 * The (capability, model) pairs a GetOrchestrator request prices (spec §6.1): every capability of
 * `capacities` with every model of its constraints. Capabilities without model constraints
 * contribute nothing (go-livepeer has no "default" model fallback on the orchestrator side).
 * @example requestedModels(jobCapabilities("llm", "m")) // [{ capability: 33, modelId: "m" }]
 */
export function requestedModels(caps: Capabilities | undefined): { capability: number; modelId: string }[] {
  if (!caps) return [];
  const out: { capability: number; modelId: string }[] = [];
  for (const capability of caps.capacities.keys()) {
    const models = caps.constraints?.perCapability.get(capability)?.models;
    if (!models) continue;
    for (const modelId of models.keys()) out.push({ capability, modelId });
  }
  return out;
}

/**
 * The `Capabilities` a gateway sends for one AI job: the capability bit, capacity 1, the model as
 * the only constraint (so the orchestrator prices exactly that model).
 * @example jobCapabilities("llm", "meta-llama/Llama-3.1-8B-Instruct")
 */
export function jobCapabilities(pipeline: Pipeline, modelId: string): Capabilities {
  const id = CAPABILITY_IDS[pipeline];
  return {
    bitstring: bitstringOf([id]),
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
