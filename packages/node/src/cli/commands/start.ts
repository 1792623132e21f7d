import { parseArgs } from "node:util";
import { formatEth, parseAmount } from "../../config/amount.js";
import {
  DEMO_LLM_MODEL,
  DEMO_IMAGE_MODEL,
  DEMO_ORCHESTRATORS,
  startNetwork,
} from "../../start/startNetwork.js";
import { EXIT_OK, EXIT_USAGE, parseArgsError, type CliIo, type CommandGroup } from "../command.js";

const USAGE = `Usage: livepay start [options]

Runs a whole local livepay network on the embedded defaults: a devnet (anvil with livepay's
contracts), three orchestrators with synthetic runners at different prices and speeds, and a
gateway with an OpenAI-compatible API. Prints the gateway URL, an API key with credit and examples.
Ctrl-C stops everything. This is what \`npm start\` runs.

  --port N          gateway port (default 8937, or a free port if taken)
  --credit AMT      credit of the printed API key (default 0.05eth)
  --data-dir DIR    stores and manifest (default .livepay/start; emptied at start)
  --log-level L     node log level (default warn)
  -h, --help        show this help
`;

function banner(url: string, key: string, credit: bigint, orchestrators: string[]): string {
  const gwei = (wei: bigint) => `${Number(wei) / 1e9} gwei`;
  return `
livepay is running: a local chain, ${orchestrators.length} orchestrators, one gateway.

  gateway   ${url}            (OpenAI-compatible: ${url}/v1)
  API key   ${key}
  credit    ${formatEth(credit)} ETH
  metrics   ${url}/metrics

orchestrators (synthetic runners; LLM price per token, first-token latency):
${orchestrators.map((o, i) => `  ${o}   ${gwei(DEMO_ORCHESTRATORS[i]!.llmPrice)}/token, ${DEMO_ORCHESTRATORS[i]!.latencyMs} ms`).join("\n")}

Try a paid, streamed chat completion:

  curl -N ${url}/v1/chat/completions \\
    -H "Authorization: Bearer ${key}" -H "Content-Type: application/json" \\
    -d '{"model":"${DEMO_LLM_MODEL}","stream":true,"max_tokens":32,"messages":[{"role":"user","content":"Hello"}]}'

or with the openai package (npm i openai):

  import OpenAI from "openai";
  const client = new OpenAI({ baseURL: "${url}/v1", apiKey: "${key}" });
  const stream = await client.chat.completions.create({
    model: "${DEMO_LLM_MODEL}", stream: true, max_tokens: 32,
    messages: [{ role: "user", content: "Hello" }],
  });
  for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta?.content ?? "");

an image:  curl ${url}/v1/images/generations -H "Authorization: Bearer ${key}" \\
             -H "Content-Type: application/json" -d '{"model":"${DEMO_IMAGE_MODEL}","prompt":"a cat","size":"256x256"}'
your key:  curl ${url}/v1/account -H "Authorization: Bearer ${key}"

Every request is paid with Livepeer tickets; winning tickets are redeemed on the local chain.
Press Ctrl-C to stop.
`;
}

/** `livepay start`: the whole local network until Ctrl-C. */
export const startCommand: CommandGroup = {
  name: "start",
  summary: "Run a whole local network: devnet, three orchestrators, a gateway (npm start)",
  async run(argv: string[], io: CliIo): Promise<number> {
    let values;
    try {
      ({ values } = parseArgs({
        args: argv,
        options: {
          port: { type: "string" },
          credit: { type: "string" },
          "data-dir": { type: "string" },
          "log-level": { type: "string" },
          help: { type: "boolean", short: "h" },
        },
        strict: true,
      }));
    } catch (e) {
      io.stderr(`error: ${parseArgsError(e) ?? String(e)}\n\n${USAGE}`);
      return EXIT_USAGE;
    }
    if (values.help) {
      io.stdout(USAGE);
      return EXIT_OK;
    }
    let port = 8937;
    let credit = 5n * 10n ** 16n;
    try {
      if (values.port !== undefined) {
        if (!/^\d+$/.test(values.port) || Number(values.port) > 65535)
          throw new Error(`--port must be 0-65535, got "${values.port}"`);
        port = Number(values.port);
      }
      if (values.credit !== undefined) credit = parseAmount(values.credit);
    } catch (e) {
      io.stderr(`error: ${(e as Error).message}\n`);
      return EXIT_USAGE;
    }
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    io.stderr("starting a local chain, 3 orchestrators and a gateway...\n");
    const net = await startNetwork({
      gatewayPort: port,
      keyCredit: credit,
      ...(values["data-dir"] ? { dataDir: values["data-dir"] } : {}),
      ...(values["log-level"] ? { logLevel: values["log-level"] } : {}),
    });
    try {
      io.stdout(
        banner(
          net.gateway.url,
          net.apiKey,
          credit,
          net.orchestrators.map((o) => o.httpUrl),
        ),
      );
      const keepAlive = setInterval(() => undefined, 60_000);
      await new Promise<void>((resolve) => {
        if (stop.signal.aborted) resolve();
        else stop.signal.addEventListener("abort", () => resolve(), { once: true });
      });
      clearInterval(keepAlive);
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      io.stderr("stopping...\n");
      await net.stop();
      io.stderr("stopped\n");
    }
    return EXIT_OK;
  },
};
