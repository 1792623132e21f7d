// The orchestrator's own prices: wei per unit as exact rationals, from the models config.
import { Rational, type Capabilities, type PriceInfo } from "@livepay/protocol";
import type { RunnerConfig } from "../runners/config.js";
import type { Pipeline } from "../runners/types.js";
import { CAPABILITY_IDS } from "../net/capabilities.js";
import { pipelineOf, requestedModels } from "./capabilities.js";
import { OrchestratorError } from "./errors.js";

const WEI_PER_ETH = 10n ** 18n;
const MAX_INT64 = (1n << 63n) - 1n;

/**
 * A model entry's price in wei per unit: `price_per_unit / pixels_per_unit`, with `currency` ""/"wei"
 * (wei) or "eth" (× 1e18). Fiat currencies need a price feed, which livepay does not have: they are
 * a configuration error rather than a silently wrong price.
 * @example modelPrice({ pricePerUnit: "0.5", pixelsPerUnit: 1n, currency: "" }) // 1/2
 */
export function modelPrice(
  c: Pick<RunnerConfig, "pricePerUnit" | "pixelsPerUnit" | "currency" | "pipeline" | "modelId">,
): Rational {
  const where = `model ${c.pipeline} ${c.modelId}`;
  if (c.pricePerUnit === undefined) {
    throw new OrchestratorError("CONFIG_INVALID", `${where}: price_per_unit is required`, 500);
  }
  let price: Rational;
  try {
    price = Rational.parse(c.pricePerUnit);
  } catch {
    throw new OrchestratorError("CONFIG_INVALID", `${where}: price_per_unit is not a number`, 500);
  }
  if (price.sign() < 0) throw new OrchestratorError("CONFIG_INVALID", `${where}: negative price`, 500);
  const currency = c.currency.toLowerCase();
  if (currency === "eth") price = price.mul(WEI_PER_ETH);
  else if (currency !== "" && currency !== "wei") {
    throw new OrchestratorError(
      "CONFIG_INVALID",
      `${where}: currency "${c.currency}" needs a price feed; use wei or eth`,
      500,
    );
  }
  return price.div(c.pixelsPerUnit);
}

/**
 * A price as a wire `PriceInfo`: the exact normalized `num/den` when both fit int64, else
 * `floor(price)/1` (go-livepeer `PriceInfoForCaps` step 4).
 * @example toPriceInfo(Rational.of(3n, 2n)) // { pricePerUnit: 3n, pixelsPerUnit: 2n, capability: 0, constraint: "" }
 */
export function toPriceInfo(price: Rational, capability = 0, constraint = ""): PriceInfo {
  if (price.num <= MAX_INT64 && price.den <= MAX_INT64) {
    return { pricePerUnit: price.num, pixelsPerUnit: price.den, capability, constraint };
  }
  return { pricePerUnit: price.floor(), pixelsPerUnit: 1n, capability, constraint };
}

/** The prices of every served (pipeline, model). */
export class PriceBook {
  private readonly prices = new Map<string, Rational>();

  constructor(models: readonly { pipeline: Pipeline; modelId: string; price: Rational }[]) {
    for (const m of models) this.prices.set(key(CAPABILITY_IDS[m.pipeline], m.modelId), m.price);
  }

  /**
   * Wei per unit for a served model, or undefined.
   * @example book.price("llm", "m") // 1000000000/1
   */
  price(pipeline: Pipeline, modelId: string): Rational | undefined {
    return this.prices.get(key(CAPABILITY_IDS[pipeline], modelId));
  }

  /**
   * The price quoted for a GetOrchestrator request (go-livepeer `PriceInfoForCaps`, spec §6.1): the
   * sum of the prices of every requested (capability, model) this orchestrator serves; 0 when none
   * is requested or served. livepay does not apply go-livepeer's `-autoAdjustPrice` (a surcharge
   * for redemption gas, truncated to 3 decimals, which makes prices below 0.001 wei/unit free):
   * face values already cover redemption, and the quoted price is exactly the configured one.
   * @example book.priceForCaps(jobCapabilities("llm", "m"))
   */
  priceForCaps(caps: Capabilities | undefined): Rational {
    let sum = Rational.ZERO;
    for (const { capability, modelId } of requestedModels(caps)) {
      const p = this.prices.get(key(capability, modelId));
      if (p) sum = sum.add(p);
    }
    return sum;
  }

  /**
   * `capabilities_prices` of OrchestratorInfo: one PriceInfo per model. go-livepeer sends
   * `floor(price)` with `pixelsPerUnit = 1` here; livepay sends the exact rational (same fields,
   * so Go gateways read a correct, more precise price).
   * @example book.capabilitiesPrices()[0] // { pricePerUnit: 1n, pixelsPerUnit: 2n, capability: 33, constraint: "m" }
   */
  capabilitiesPrices(): PriceInfo[] {
    return [...this.prices.entries()]
      .map(([k, price]) => {
        const [cap, ...rest] = k.split("\u0000");
        return toPriceInfo(price, Number(cap), rest.join("\u0000"));
      })
      .sort((a, b) => a.capability - b.capability || (a.constraint < b.constraint ? -1 : 1));
  }

  /** The served (pipeline, model) pairs. */
  models(): { pipeline: Pipeline; modelId: string; price: Rational }[] {
    return [...this.prices.entries()].map(([k, price]) => {
      const [cap, ...rest] = k.split("\u0000");
      return { pipeline: pipelineOf(Number(cap))!, modelId: rest.join("\u0000"), price };
    });
  }
}

function key(capability: number, modelId: string): string {
  return `${capability}\u0000${modelId}`;
}
