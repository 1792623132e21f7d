import type { Capabilities, OrchestratorInfo } from "@livepay/protocol";
import type { Pipeline } from "../runners/types.js";

/**
 * Livepeer capability ids of the AI pipelines (spec §4.1, go-livepeer `core/capabilities.go`).
 * Embeddings have no Livepeer capability: livepay uses 38 (the first id after BYOC, 37) until
 * Livepeer assigns one; `capabilityIds` in the gateway config overrides it.
 */
export const DEFAULT_CAPABILITY_IDS: Readonly<Record<Pipeline, number>> = {
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

/** Maps capability ids to pipelines and back, with operator overrides. */
export class CapabilityMap {
  readonly #byPipeline: Map<Pipeline, number>;
  readonly #byId: Map<number, Pipeline>;

  constructor(overrides: Partial<Record<Pipeline, number>> = {}) {
    this.#byPipeline = new Map(
      (Object.keys(DEFAULT_CAPABILITY_IDS) as Pipeline[]).map((p) => [
        p,
        overrides[p] ?? DEFAULT_CAPABILITY_IDS[p],
      ]),
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
 * The orchestrator-side manifest id of an AI job, `"<capability>_<modelId>"` (spec §2.7), which the
 * gateway also puts in its segment credentials.
 * @example manifestId(27, "ByteDance/SDXL-Lightning") // "27_ByteDance/SDXL-Lightning"
 */
export function manifestId(capability: number, model: string): string {
  return `${capability}_${model}`;
}

/**
 * The `Capabilities` a gateway sends in GetOrchestrator (and SegData) for one AI job: the capability
 * bit, capacity 1, and the model as the only constraint, so the orchestrator prices exactly that
 * (capability, model) (go-livepeer `PriceInfoForCaps`, spec §6.1).
 * @example jobCapabilities(33, "meta-llama/Llama-3.1-8B-Instruct")
 */
export function jobCapabilities(capability: number, model: string): Capabilities {
  const word = Math.floor(capability / 64);
  const bitstring: bigint[] = Array.from({ length: word + 1 }, () => 0n);
  bitstring[word] = 1n << BigInt(capability % 64);
  return {
    bitstring,
    mandatories: [],
    capacities: new Map([[capability, 1]]),
    version: "",
    constraints: {
      minVersion: "",
      perCapability: new Map([
        [
          capability,
          {
            models: new Map([[model, { warm: false, capacity: 1, runnerVersion: "", capacityInUse: 0 }]]),
          },
        ],
      ]),
    },
  };
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
