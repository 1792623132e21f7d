/** What a command writes to and reads from: the process streams in `main`, buffers in tests. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** All of standard input, for commands that accept "-" in place of an argument. */
  readStdin(): Promise<string>;
}

/** Exit codes shared by every command. */
export const EXIT_OK = 0;
/** The command ran but found a problem (e.g. a signature that does not match). */
export const EXIT_FAILED = 1;
/** Bad usage or malformed input. */
export const EXIT_USAGE = 2;

/**
 * A top-level command group (`livepay <name> ...`). Groups live in `commands/`, one file each, and
 * are registered in `commands/index.ts`.
 */
export interface CommandGroup {
  name: string;
  /** One line for `livepay --help`. */
  summary: string;
  /** Runs with the arguments after the group name; resolves to the exit code. */
  run(argv: string[], io: CliIo): Promise<number>;
}

/**
 * The message of a `node:util` parseArgs error, or undefined for anything else.
 * @example const msg = parseArgsError(e)
 */
export function parseArgsError(e: unknown): string | undefined {
  const code = (e as { code?: unknown }).code;
  return typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_") ? (e as Error).message : undefined;
}

/**
 * JSON with bigints as decimal strings and Maps as objects (livepay's domain values).
 * @example toJson({ faceValue: 1n }) // '{\n  "faceValue": "1"\n}'
 */
export function toJson(value: unknown, indent = 2): string {
  return JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (typeof v === "bigint") return v.toString();
      if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), x]));
      return v;
    },
    indent,
  );
}
