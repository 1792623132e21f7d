// Parsing and validation of incoming requests (JSON bodies and multipart forms) into the typed
// requests runners take. Bad input is a BAD_REQUEST naming the field; defaults are filled here
// so the bounds computed from a request match what the runner will actually do.
import { badRequest } from "./errors.js";
import type {
  AudioToTextRequest,
  BinaryInput,
  ChatMessage,
  EmbeddingsRequest,
  ImageToImageRequest,
  LlmRequest,
  TextToImageRequest,
  TextToSpeechRequest,
} from "./types.js";

/** Largest image side accepted by parsing (runners may cap lower). */
export const MAX_IMAGE_SIDE = 16384;
/** Most images per request. */
export const MAX_IMAGES_PER_PROMPT = 16;
/** Largest `max_tokens`. */
export const MAX_TOKENS_LIMIT = 1_000_000;
/** Longest text-to-speech input, in UTF-16 code units (ai-runner allows 10,000 characters). */
export const MAX_TTS_TEXT = 10_000;

type Obj = Record<string, unknown>;

function asObject(body: unknown, what: string): Obj {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw badRequest(`${what} must be a JSON object`);
  return body as Obj;
}

function optString(o: Obj, key: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw badRequest(`${key} must be a string`, { [key]: v });
  return v;
}

function optNumber(o: Obj, key: string): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v))
    throw badRequest(`${key} must be a finite number`, { [key]: v });
  return v;
}

function optInt(o: Obj, key: string, min: number, max: number): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min || v > max) {
    throw badRequest(`${key} must be an integer in [${min}, ${max}]`, { [key]: v });
  }
  return v;
}

function optBool(o: Obj, key: string): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") throw badRequest(`${key} must be a boolean`, { [key]: v });
  return v;
}

/** Drops undefined values so optional fields are absent, not present-and-undefined. */
function compact<T extends Obj>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const LLM_KNOWN = new Set([
  "model",
  "messages",
  "max_tokens",
  "max_completion_tokens",
  "temperature",
  "top_p",
  "top_k",
  "stream",
  "stream_options",
  "stop",
  "seed",
  "n",
]);

/**
 * Parses an ai-runner `/llm` or OpenAI `/v1/chat/completions` JSON body. `max_completion_tokens`
 * is accepted for `max_tokens`; `n` other than 1 is refused; unknown fields go to `extra`.
 *
 * @example
 * parseLlmRequest({ messages: [{ role: "user", content: "hi" }], max_tokens: 16 })
 */
export function parseLlmRequest(body: unknown): LlmRequest {
  const o = asObject(body, "request");
  const messages = o.messages;
  if (!Array.isArray(messages) || messages.length === 0)
    throw badRequest("messages must be a non-empty array");
  messages.forEach((m: unknown, i) => {
    if (typeof m !== "object" || m === null || typeof (m as Obj).role !== "string") {
      throw badRequest(`messages[${i}] must be an object with a string role`);
    }
    const c = (m as Obj).content;
    if (c !== undefined && c !== null && typeof c !== "string" && !Array.isArray(c)) {
      throw badRequest(`messages[${i}].content must be a string or an array of parts`);
    }
  });
  const maxTokens = optInt(o, "max_tokens", 1, MAX_TOKENS_LIMIT);
  const maxCompletion = optInt(o, "max_completion_tokens", 1, MAX_TOKENS_LIMIT);
  if (maxTokens !== undefined && maxCompletion !== undefined && maxTokens !== maxCompletion) {
    throw badRequest("max_tokens and max_completion_tokens disagree");
  }
  const n = optInt(o, "n", 1, 1_000_000);
  if (n !== undefined && n !== 1) throw badRequest("n > 1 is not supported: send one request per completion");
  let stop: string[] | undefined;
  if (typeof o.stop === "string") stop = [o.stop];
  else if (Array.isArray(o.stop) && o.stop.every((s) => typeof s === "string")) stop = o.stop as string[];
  else if (o.stop !== undefined && o.stop !== null)
    throw badRequest("stop must be a string or an array of strings");
  if (stop?.some((s) => s.length === 0)) throw badRequest("stop sequences must not be empty");
  const extra: Obj = {};
  for (const [k, v] of Object.entries(o)) if (!LLM_KNOWN.has(k)) extra[k] = v;
  return compact({
    model: optString(o, "model"),
    messages: messages as ChatMessage[],
    max_tokens: maxTokens ?? maxCompletion,
    temperature: optNumber(o, "temperature"),
    top_p: optNumber(o, "top_p"),
    top_k: optInt(o, "top_k", -1, 1_000_000),
    stream: optBool(o, "stream"),
    stop,
    seed: optInt(o, "seed", Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
    extra: Object.keys(extra).length > 0 ? extra : undefined,
  });
}

function imageCommon(o: Obj) {
  return {
    model_id: optString(o, "model_id"),
    num_images_per_prompt: optInt(o, "num_images_per_prompt", 1, MAX_IMAGES_PER_PROMPT) ?? 1,
    seed: optInt(o, "seed", 0, Number.MAX_SAFE_INTEGER),
    negative_prompt: optString(o, "negative_prompt"),
    guidance_scale: optNumber(o, "guidance_scale"),
    num_inference_steps: optInt(o, "num_inference_steps", 1, 10_000),
    safety_check: optBool(o, "safety_check"),
    loras: optString(o, "loras"),
  };
}

function requiredPrompt(o: Obj): string {
  const prompt = optString(o, "prompt");
  if (prompt === undefined || prompt.trim() === "") throw badRequest("prompt must be a non-empty string");
  return prompt;
}

/**
 * Parses an ai-runner `/text-to-image` JSON body. Width and height default to 512 and images to
 * 1, as go-livepeer bills them (runners send them explicitly so the output matches the bill).
 *
 * @example
 * parseTextToImageRequest({ prompt: "a cat", width: 256 }) // height 512, num_images_per_prompt 1
 */
export function parseTextToImageRequest(body: unknown): TextToImageRequest {
  const o = asObject(body, "request");
  return compact({
    prompt: requiredPrompt(o),
    width: optInt(o, "width", 1, MAX_IMAGE_SIDE) ?? 512,
    height: optInt(o, "height", 1, MAX_IMAGE_SIDE) ?? 512,
    ...imageCommon(o),
  });
}

/** Form fields as strings, files as BinaryInput; numbers and booleans are parsed from strings. */
async function formToObject(
  form: FormData,
  fileFields: readonly string[],
): Promise<{ fields: Obj; files: Record<string, BinaryInput> }> {
  const fields: Obj = {};
  const files: Record<string, BinaryInput> = {};
  // forEach, not entries(): the DOM typings here lack the iterable FormData methods.
  const entries: [string, FormDataEntryValue][] = [];
  form.forEach((value, key) => entries.push([key, value]));
  for (const [key, value] of entries) {
    if (typeof value === "string") {
      if (fileFields.includes(key)) throw badRequest(`${key} must be a file`);
      fields[key] = value;
    } else {
      if (!fileFields.includes(key)) throw badRequest(`unexpected file field ${key}`);
      files[key] = {
        data: new Uint8Array(await value.arrayBuffer()),
        ...(value.name ? { filename: value.name } : {}),
        ...(value.type ? { contentType: value.type } : {}),
      };
    }
  }
  return { fields, files };
}

/** Converts multipart string values of the numeric and boolean keys into JSON types. */
function typedFields(fields: Obj, numeric: readonly string[], booleans: readonly string[]): Obj {
  const out: Obj = { ...fields };
  for (const k of numeric) {
    const v = fields[k];
    if (typeof v === "string" && v.trim() !== "") {
      const n = Number(v);
      if (!Number.isFinite(n)) throw badRequest(`${k} must be a number`, { [k]: v });
      out[k] = n;
    } else if (v === "") out[k] = undefined; // an empty form field means "use the default"
  }
  for (const k of booleans) {
    const v = fields[k];
    if (v === "true" || v === "false") out[k] = v === "true";
    else if (v !== undefined) throw badRequest(`${k} must be true or false`, { [k]: v });
  }
  return out;
}

/**
 * Parses an ai-runner `/image-to-image` multipart form (`image` file + fields).
 *
 * @example
 * const req = await parseImageToImageForm(await new Response(body, { headers }).formData());
 */
export async function parseImageToImageForm(form: FormData): Promise<ImageToImageRequest> {
  const { fields, files } = await formToObject(form, ["image"]);
  const image = files.image;
  if (!image || image.data.length === 0) throw badRequest("image file is required");
  const o = typedFields(
    fields,
    [
      "num_images_per_prompt",
      "seed",
      "strength",
      "guidance_scale",
      "image_guidance_scale",
      "num_inference_steps",
    ],
    ["safety_check"],
  );
  return compact({
    prompt: requiredPrompt(o),
    image,
    strength: optNumber(o, "strength"),
    image_guidance_scale: optNumber(o, "image_guidance_scale"),
    ...imageCommon(o),
  });
}

/**
 * Parses an ai-runner `/audio-to-text` multipart form (`audio` file, `model_id`,
 * `return_timestamps`, and livepay's optional `duration_ms` for audio it cannot decode).
 *
 * @example
 * const req = await parseAudioToTextForm(form); // req.audio.data holds the file bytes
 */
export async function parseAudioToTextForm(form: FormData): Promise<AudioToTextRequest> {
  const { fields, files } = await formToObject(form, ["audio"]);
  const audio = files.audio;
  if (!audio || audio.data.length === 0) throw badRequest("audio file is required");
  const o = typedFields(fields, ["duration_ms"], []);
  return compact({
    audio,
    model_id: optString(o, "model_id"),
    return_timestamps: optString(o, "return_timestamps"),
    duration_ms: optInt(o, "duration_ms", 1, 24 * 3600 * 1000),
  });
}

/**
 * Parses an ai-runner `/text-to-speech` JSON body; `text` must be non-blank.
 *
 * @example
 * parseTextToSpeechRequest({ text: "Hello there" })
 */
export function parseTextToSpeechRequest(body: unknown): TextToSpeechRequest {
  const o = asObject(body, "request");
  const text = optString(o, "text");
  if (text === undefined || text.trim() === "") throw badRequest("text must be a non-empty string");
  if (text.length > MAX_TTS_TEXT) throw badRequest(`text exceeds ${MAX_TTS_TEXT} characters`);
  return compact({ text, model_id: optString(o, "model_id"), description: optString(o, "description") });
}

/**
 * Parses an OpenAI `/v1/embeddings` JSON body (`input`: a string or an array of strings).
 *
 * @example
 * parseEmbeddingsRequest({ model: "m", input: ["a", "b"] })
 */
export function parseEmbeddingsRequest(body: unknown): EmbeddingsRequest {
  const o = asObject(body, "request");
  const input = o.input;
  const ok =
    (typeof input === "string" && input.length > 0) ||
    (Array.isArray(input) && input.length > 0 && input.every((s) => typeof s === "string" && s.length > 0));
  if (!ok) throw badRequest("input must be a non-empty string or a non-empty array of non-empty strings");
  const format = optString(o, "encoding_format");
  if (format !== undefined && format !== "float" && format !== "base64") {
    throw badRequest("encoding_format must be float or base64");
  }
  return compact({
    model: optString(o, "model"),
    input: input as string | string[],
    encoding_format: format as "float" | "base64" | undefined,
    dimensions: optInt(o, "dimensions", 1, 65536),
  });
}
