// The gateway's view of capability ids: the protocol defaults with operator overrides, and what an
// orchestrator offers. Ids, routes and job Capabilities themselves are in ../net/capabilities.ts.
import type { OrchestratorInfo } from "@livepay/protocol";
import { CAPABILITY_IDS } from "../net/capabilities.js";
import type { Pipeline } from "../runners/types.js";

/** Maps capability ids to pipelines and back: `CAPABILITY_IDS` with operator overrides (`capabilityIds`). */
export class CapabilityMap {
  readonly #byPipeline: Map<Pipeline, number>;
  readonly #byId: Map<number, Pipeline>;

  constructor(overrides: Partial<Record<Pipeline, number>> = {}) {
    this.#byPipeline = new Map(
      (Object.keys(CAPABILITY_IDS) as Pipeline[]).map((p) => [p, overrides[p] ?? CAPABILITY_IDS[p]]),
    );
    this.#byId = new Map([...this.#byPipeline].map(([p, id]) => [id, p]));
  }

  /** @example caps.id("llm") // 33 */
  id(pipeline: Pipeline): number {
    return this.#byPipeline.get(pipeline)!;
  }

  /** @example caps.pipeline(27) // "text-to-image" */
  pipeline(id: number): Pipeline | undefined {
    return this.#byId.get(id);
  }
}

/**
 * The models an orchestrator advertises, per pipeline: the union of its capability constraints and
 * its `capabilities_prices` (either may be missing).
 * @example offeredModels(info, caps).get("llm") // Set { "synthetic-llm" }
 */
export function offeredModels(info: OrchestratorInfo, caps: CapabilityMap): Map<Pipeline, Set<string>> {
  const out = new Map<Pipeline, Set<string>>();
  const add = (capability: number, model: string) => {
    const p = caps.pipeline(capability);
    if (p === undefined || model === "") return;
    let set = out.get(p);
    if (!set) out.set(p, (set = new Set()));
    set.add(model);
  };
  for (const [capability, c] of info.capabilities?.constraints?.perCapability ?? []) {
    for (const model of c.models.keys()) add(capability, model);
  }
  for (const p of info.capabilitiesPrices) add(p.capability, p.constraint);
  return out;
}
