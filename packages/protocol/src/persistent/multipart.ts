// Multipart requests (image edits, transcriptions) hash as the raw bytes sent, but their units are
// read from the form: the payee and the payer parse the same bytes into the same request view, so
// `requestUnitBound` and `unitsFor` see what a JSON request would carry. Browser-safe (Fetch API).
import { InvalidInputError } from "../errors.js";

/** Form fields that are numbers in the JSON form of a request (`n` of an image edit, sizes). */
const NUMERIC_FIELDS = new Set(["n", "num_images_per_prompt", "width", "height"]);

/**
 * Whether a Content-Type names a multipart form.
 * @example isMultipartContentType("multipart/form-data; boundary=x") // true
 */
export function isMultipartContentType(contentType: string | null | undefined): boolean {
  return (contentType ?? "").split(";")[0]!.trim().toLowerCase() === "multipart/form-data";
}

/**
 * Parses a `multipart/form-data` body (boundary from the Content-Type). Throws `InvalidInputError`
 * `INVALID_MULTIPART` for anything that is not a well-formed form.
 * @example const form = await parseMultipart(bytes, "multipart/form-data; boundary=abc")
 */
export async function parseMultipart(body: Uint8Array, contentType: string): Promise<FormData> {
  if (!isMultipartContentType(contentType)) {
    throw new InvalidInputError("INVALID_MULTIPART", "expected a multipart/form-data body");
  }
  try {
    return await new Response(body as BodyInit, { headers: { "content-type": contentType } }).formData();
  } catch {
    throw new InvalidInputError("INVALID_MULTIPART", "malformed multipart/form-data body");
  }
}

/**
 * The request view of a form: text fields as strings (`n`, `num_images_per_prompt`, `width`,
 * `height` as numbers when they are decimal integers), files as their bytes; a repeated name
 * (`image[]`) becomes an array. What `requestUnitBound`, `unitsFor` and `checkQuote` read.
 * @example await formRequestView(form) // { model: "m", n: 2, size: "64x64", image: Uint8Array(…) }
 */
export async function formRequestView(form: FormData): Promise<Record<string, unknown>> {
  const view: Record<string, unknown> = {};
  const entries: [string, FormDataEntryValue][] = [];
  form.forEach((value, key) => entries.push([key, value])); // forEach: DOM lib without DOM.Iterable
  for (const [key, value] of entries) {
    const v: unknown =
      typeof value === "string"
        ? NUMERIC_FIELDS.has(key) && /^\d{1,15}$/.test(value)
          ? Number(value)
          : value
        : new Uint8Array(await value.arrayBuffer());
    if (!(key in view)) view[key] = v;
    else if (Array.isArray(view[key])) (view[key] as unknown[]).push(v);
    else view[key] = [view[key], v];
  }
  return view;
}
