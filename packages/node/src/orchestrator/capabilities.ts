// The orchestrator's advertised Capabilities and what a GetOrchestrator request asks for. Capability
// ids, routes and job Capabilities are shared with the gateway in ../net/capabilities.ts.
import type { Capabilities, CapabilityConstraints, ModelConstraint } from "@livepay/protocol";
import { CAPABILITY_IDS, capabilityBitstring } from "../net/capabilities.js";
import type { Pipeline } from "../runners/types.js";

/**
 * go-livepeer's capability version: gateways with `-orchMinLivepeerVersion` compare it to theirs.
 * livepay speaks the 0.9.x wire protocol.
 */
export const DEFAULT_CAPABILITIES_VERSION = "0.9.1";

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
    bitstring: capabilityBitstring(ids),
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
