#!/usr/bin/env node
// The `livepay` command line: `livepay <group> <command> [options]`. Groups live in commands/.
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { EXIT_OK, EXIT_USAGE, parseArgsError, type CliIo } from "./command.js";
import { commandGroups } from "./commands/index.js";

function usage(): string {
  const width = Math.max(...commandGroups.map((g) => g.name.length));
  const lines = commandGroups.map((g) => `  ${g.name.padEnd(width)}  ${g.summary}`);
  return `Usage: livepay <command> [options]

Commands:
${lines.join("\n")}

Options:
  -h, --help  show this help

Run "livepay <command> --help" for the options of a command.
`;
}

/**
 * Runs the CLI with `argv` (the arguments after the program name) and resolves to the exit code.
 * @example process.exitCode = await main(["payment", "decode", header], processIo)
 */
export async function main(argv: string[], io: CliIo): Promise<number> {
  // Global options come before the command name; everything after it belongs to the command.
  const at = argv.findIndex((a) => !a.startsWith("-"));
  const globalArgs = at < 0 ? argv : argv.slice(0, at);
  let help: boolean | undefined;
  try {
    ({
      values: { help },
    } = parseArgs({ args: globalArgs, options: { help: { type: "boolean", short: "h" } }, strict: true }));
  } catch (e) {
    const msg = parseArgsError(e);
    if (msg === undefined) throw e;
    io.stderr(`livepay: ${msg}\n\n${usage()}`);
    return EXIT_USAGE;
  }
  if (help) {
    io.stdout(usage());
    return EXIT_OK;
  }
  if (at < 0) {
    io.stderr(usage());
    return EXIT_USAGE;
  }
  const name = argv[at]!;
  const group = commandGroups.find((g) => g.name === name);
  if (group === undefined) {
    io.stderr(`livepay: unknown command "${name}"\n\n${usage()}`);
    return EXIT_USAGE;
  }
  return group.run(argv.slice(at + 1), io);
}

const processIo: CliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  async readStdin() {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  },
};

// Run only as the program itself (npm's bin link is a symlink: compare real paths), not on import.
const entry = process.argv[1];
if (entry !== undefined && realpathSync(entry) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2), processIo).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(
        `livepay: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
      );
      process.exitCode = 1;
    },
  );
}
