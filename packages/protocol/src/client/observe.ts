import { utf8 } from "../bytes/hex.js";
import {
  audioOutputContent,
  imageOutputContent,
  llmOutputContent,
  transcriptOutputContent,
  type LlmChoiceOutput,
} from "../persistent/contentHash.js";
import { isJsonContentType } from "../persistent/requestHash.js";
import { audioRequestMs, imageSize, ttsUnits, type Pipeline } from "../persistent/units.js";
import { decodeBase64Std } from "../wire/base64.js";

/** What the payer can check a receipt against: the canonical output and the units it can justify. */
export interface Observation {
  /** Canonical output content (llmOutputContent, imageOutputContent); undefined when not observable. */
  outputContent?: Uint8Array;
  /** An upper bound of the units the received output can justify; undefined when not observable. */
  observedUnits?: bigint;
}

const SUFFIXES: [string, Pipeline][] = [
  ["/chat/completions", "llm"],
  ["/llm", "llm"],
  ["/images/generations", "text-to-image"],
  ["/text-to-image", "text-to-image"],
  ["/images/edits", "image-to-image"],
  ["/image-to-image", "image-to-image"],
  ["/audio/transcriptions", "audio-to-text"],
  ["/audio-to-text", "audio-to-text"],
  ["/audio/speech", "text-to-speech"],
  ["/text-to-speech", "text-to-speech"],
  ["/live-video-to-video", "live-video-to-video"],
];

/**
 * The pipeline an endpoint serves (OpenAI-compatible and Livepeer AI routes), or undefined.
 * @example capabilityForPath("/v1/chat/completions") // "llm"
 */
export function capabilityForPath(pathname: string): Pipeline | undefined {
  const p = pathname.replace(/\/+$/, "");
  for (const [suffix, pipeline] of SUFFIXES) if (p.endsWith(suffix)) return pipeline;
  return undefined;
}

/**
 * Accumulates the choices of an LLM response, streamed (deltas) or not (messages).
 * @example const c = new LlmOutputCollector(); c.add(chunk); c.observation().observedUnits
 */
export class LlmOutputCollector {
  private readonly texts: string[] = [];
  private readonly finish: (string | null)[] = [];
  /** Everything generated that is not in the canonical text (reasoning, refusals, tool calls). */
  private extra = "";

  private slot(index: unknown): number {
    const i = typeof index === "number" && Number.isInteger(index) && index >= 0 && index < 128 ? index : 0;
    while (this.texts.length <= i) {
      this.texts.push("");
      this.finish.push(null);
    }
    return i;
  }

  private extras(part: Record<string, unknown>): void {
    for (const k of ["reasoning_content", "reasoning", "refusal"]) {
      if (typeof part[k] === "string") this.extra += part[k] as string;
    }
    if (Array.isArray(part.tool_calls)) {
      for (const t of part.tool_calls as Record<string, unknown>[]) {
        const f = (t?.function ?? {}) as Record<string, unknown>;
        for (const v of [f.name, f.arguments]) if (typeof v === "string") this.extra += v;
      }
    }
  }

  /**
   * Adds one streamed chunk (`choices[].delta`) or a whole response (`choices[].message`).
   * @example collector.add(JSON.parse(sseData))
   */
  add(body: unknown): void {
    const choices = (body as { choices?: unknown } | null)?.choices;
    if (!Array.isArray(choices)) return;
    for (const c of choices as Record<string, unknown>[]) {
      if (!c || typeof c !== "object") continue;
      const i = this.slot(c.index);
      const part = (c.delta ?? c.message ?? {}) as Record<string, unknown>;
      if (typeof part.content === "string") this.texts[i] += part.content;
      this.extras(part);
      if (typeof c.finish_reason === "string") this.finish[i] = c.finish_reason;
    }
  }

  /** The choices in index order. @example llmOutputContent(collector.choices()) */
  choices(): LlmChoiceOutput[] {
    return this.texts.map((text, i) => ({ text, finishReason: this.finish[i] ?? null }));
  }

  /**
   * Canonical content and the tokens the payer counts, plus one end-of-sequence token per choice. With
   * a tokenizer (`countTokens`) the count is the model's; without one it is the UTF-8 byte count, an
   * upper bound for byte-level tokenizers (every generated token decodes to at least one byte). The
   * tolerance covers special tokens that servers strip.
   * @example const { outputContent, observedUnits } = collector.observation();
   */
  observation(countTokens?: (text: string) => number): Observation {
    const choices = this.choices();
    const count = (t: string) =>
      BigInt(countTokens ? Math.max(0, Math.ceil(countTokens(t))) : utf8(t).length);
    let units = this.extra === "" ? 0n : count(this.extra);
    for (const c of choices) units += count(c.text);
    return { outputContent: llmOutputContent(choices), observedUnits: units + BigInt(choices.length) };
  }
}

/**
 * What the payer observes in a complete (non-streamed) successful JSON response: LLM choices, images
 * (`data[].b64_json`, hashed; URLs only count), a transcript's `text` (hashed; units from the request's
 * WAV), text-to-speech units from the request. Unknown shapes observe nothing for LLMs (units must
 * then be within the tolerance's slack) and are skipped for other pipelines.
 * @example observeJsonResponse("llm", request, await res.json())
 */
export function observeJsonResponse(
  capability: Pipeline,
  request: unknown,
  body: unknown,
  countTokens?: (text: string) => number,
): Observation {
  try {
    switch (capability) {
      case "llm": {
        const c = new LlmOutputCollector();
        c.add(body);
        return c.observation(countTokens);
      }
      case "text-to-image":
      case "image-to-image": {
        const o = body as Record<string, unknown>;
        const items = (Array.isArray(o?.data) ? o.data : Array.isArray(o?.images) ? o.images : undefined) as
          Record<string, unknown>[] | undefined;
        if (!items) return {};
        const { width, height } = imageSize(request);
        const obs: Observation = { observedUnits: width * height * BigInt(items.length) };
        if (items.every((i) => typeof i?.b64_json === "string")) {
          obs.outputContent = imageOutputContent(items.map((i) => decodeBase64Std(i.b64_json as string)));
        }
        return obs;
      }
      case "audio-to-text": {
        const text = (body as Record<string, unknown> | null)?.text;
        const obs = observeRequest(capability, request);
        return typeof text === "string" ? { ...obs, outputContent: transcriptOutputContent(text) } : obs;
      }
      case "text-to-speech":
        return observeRequest(capability, request);
      default:
        return {};
    }
  } catch {
    return {};
  }
}

/**
 * What the payer observes in a complete successful response of any content type: JSON as
 * `observeJsonResponse`; a binary text-to-speech answer is the audio file itself (`audioOutputContent`,
 * units from the request's text); a `text/plain` transcript is the transcript (`response_format: "text"`).
 * @example observeResponse("text-to-speech", { input: "hi" }, "audio/wav", bytes) // { observedUnits: 2n, outputContent }
 */
export function observeResponse(
  capability: Pipeline,
  request: unknown,
  contentType: string,
  body: Uint8Array,
  countTokens?: (text: string) => number,
): Observation {
  const mime = contentType.split(";")[0]!.trim().toLowerCase();
  if (isJsonContentType(mime)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(body));
    } catch {
      return capability === "llm" ? { observedUnits: 0n } : {};
    }
    return observeJsonResponse(capability, request, parsed, countTokens);
  }
  const obs = observeRequest(capability, request);
  if (capability === "text-to-speech") return { ...obs, outputContent: audioOutputContent(body) };
  if (capability === "audio-to-text" && mime === "text/plain") {
    try {
      return {
        ...obs,
        outputContent: transcriptOutputContent(new TextDecoder("utf-8", { fatal: true }).decode(body)),
      };
    } catch {
      return obs;
    }
  }
  return obs;
}

/**
 * What the request alone tells: text-to-speech the exact unit count; audio-to-text the duration of
 * a WAV input, measured by the payer itself (`audioRequestMs`; other formats observe nothing and the
 * receipt is bounded by the quote's `maxUnits` only).
 * @example observeRequest("text-to-speech", { input: "hello" }) // { observedUnits: 5n }
 */
export function observeRequest(capability: Pipeline, request: unknown): Observation {
  if (capability === "audio-to-text") {
    try {
      const ms = audioRequestMs(request);
      return ms === undefined ? {} : { observedUnits: ms };
    } catch {
      return {};
    }
  }
  if (capability !== "text-to-speech") return {};
  const r = request as Record<string, unknown> | undefined;
  const text = r?.input ?? r?.text;
  return typeof text === "string" ? { observedUnits: ttsUnits(text) } : {};
}
