import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import {
  encodeBase64Std,
  encodePaymentHeader,
  privateKeyToAddress,
  signTicket,
  type Hex,
  type Payment,
  type Ticket,
} from "@livepay/protocol";

// These tests run the built CLI, as a user would: `node packages/node/dist/cli/main.js`.
const root = fileURLToPath(new URL("../../../../", import.meta.url));
const cli = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));

beforeAll(() => {
  const build = spawnSync(`${root}node_modules/.bin/tsc`, ["-b", "packages/protocol", "packages/node"], {
    cwd: root,
    encoding: "utf8",
  });
  // tsc -b still emits JavaScript when some other file of the workspace has a type error; what
  // matters here is that the CLI's own output is at least as new as its sources.
  for (const f of ["main", "command", "commands/index", "commands/payment"]) {
    const src = statSync(fileURLToPath(new URL(`./${f}.ts`, import.meta.url))).mtimeMs;
    const out = statSync(fileURLToPath(new URL(`../../dist/cli/${f}.js`, import.meta.url))).mtimeMs;
    if (out < src) throw new Error(`build of cli/${f} failed:\n${build.stdout}${build.stderr}`);
  }
}, 180_000);

function run(args: string[], input?: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { input, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// Public Hardhat/Anvil development keys (spec §8.3).
const SENDER_KEY: Hex = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const OTHER_KEY: Hex = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const SENDER = privateKeyToAddress(SENDER_KEY);
const OTHER = privateKeyToAddress(OTHER_KEY);

// D2/D3 ticket params: the spec gives the ticket hash of nonces 1-3.
const ticketParams = {
  recipient: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
  faceValue: 12_000_000_000_000_000n,
  winProb: 77194726158210796949047323339125271902179989777093709359638392000000000n,
  recipientRandHash: "0x2aad9be4d3937d8f6bb30b5a3f9f3f19138a56efa8727e268558c9993a286264",
  seed: 0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20n,
  expirationBlock: 19_000_040n,
} as const;
const expirationParams = {
  creationRound: 3500n,
  creationRoundBlockHash: "0x41b1a0649752af1b28b3dc29a1556eee781e4a4c3a1f7f53f90fa834de098c4d",
} as const;
const D3_HASHES = [
  "0xcd42ee82d34f82a5083632b128dc79ac43063368602d9e731b4bcda4fb0c45b1",
  "0x5653021b0b0424a8b08079c69886ae53ee388d80b1b96b2ed5be0d4fbb3fbe9d",
  "0x3001078e77a7c723e450938bb2ed6fe63043a0f5cd49ac794b2750301a85a74a",
];

function ticket(nonce: bigint): Ticket {
  return {
    recipient: ticketParams.recipient,
    sender: SENDER,
    faceValue: ticketParams.faceValue,
    winProb: ticketParams.winProb,
    senderNonce: nonce,
    recipientRandHash: ticketParams.recipientRandHash,
    ...expirationParams,
  };
}

function payment(keys: Hex[]): Payment {
  return {
    ticketParams,
    sender: SENDER,
    expirationParams,
    ticketSenderParams: keys.map((key, i) => ({
      senderNonce: BigInt(i + 1),
      sig: signTicket(ticket(BigInt(i + 1)), key),
    })),
    expectedPrice: { pricePerUnit: 1200n, pixelsPerUnit: 1n, capability: 0, constraint: "" },
  };
}

interface Report {
  payment: {
    sender: string;
    ticketParams: { faceValue: string; seed: string };
    ticketSenderParams: { sig: string }[];
  };
  tickets: {
    nonce: string;
    ticketHash: string | null;
    signer: string | null;
    signerMatchesSender: boolean;
    error?: { code: string };
  }[];
  signers: { address: string; tickets: number; isSender: boolean }[];
  warnings: string[];
  summary: string;
}

describe("livepay payment decode", () => {
  it("decodes a payment signed by its sender: JSON, ticket hashes, signers, exit 0", () => {
    const p = payment([SENDER_KEY, SENDER_KEY, SENDER_KEY]);
    const r = run(["payment", "decode", encodePaymentHeader(p)]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Report;
    expect(out.payment.sender).toBe(SENDER);
    expect(out.payment.ticketParams.faceValue).toBe("12000000000000000");
    expect(out.payment.ticketParams.seed).toBe(ticketParams.seed.toString());
    expect(out.payment.ticketSenderParams[0]!.sig).toBe(p.ticketSenderParams[0]!.sig);
    expect(out.tickets).toStrictEqual(
      D3_HASHES.map((h, i) => ({
        nonce: String(i + 1),
        ticketHash: h,
        signer: SENDER,
        signerMatchesSender: true,
      })),
    );
    expect(out.signers).toStrictEqual([{ address: SENDER, tickets: 3, isSender: true }]);
    expect(out.warnings).toStrictEqual([]);
    expect(out.summary).toBe(`3 tickets, all signed by the sender ${SENDER}`);
  });

  it("flags a ticket signed by someone else: exit 1, the forger named", () => {
    const r = run(["payment", "decode", encodePaymentHeader(payment([SENDER_KEY, OTHER_KEY]))]);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as Report;
    expect(out.tickets[0]!.signerMatchesSender).toBe(true);
    expect(out.tickets[1]).toStrictEqual({
      nonce: "2",
      ticketHash: D3_HASHES[1],
      signer: OTHER,
      signerMatchesSender: false,
    });
    expect(out.signers).toStrictEqual([
      { address: SENDER, tickets: 1, isSender: true },
      { address: OTHER, tickets: 1, isSender: false },
    ]);
    expect(out.summary).toContain(`1 ticket of 2 not signed by the sender ${SENDER}`);
    expect(out.summary).toContain(`${OTHER} (NOT the sender)`);
  });

  it("reports an unusable signature per ticket with its error code: exit 1", () => {
    const p = payment([SENDER_KEY, SENDER_KEY]);
    p.ticketSenderParams[1]!.sig = p.ticketSenderParams[1]!.sig.slice(0, -2) as Hex; // 64 bytes
    const r = run(["payment", "decode", "--compact", encodePaymentHeader(p)]);
    expect(r.code).toBe(1);
    expect(r.stdout.trim().split("\n")).toHaveLength(1);
    const out = JSON.parse(r.stdout) as Report;
    expect(out.tickets[1]).toMatchObject({
      signer: null,
      signerMatchesSender: false,
      error: { code: "INVALID_SIGNATURE_LENGTH" },
    });
    expect(out.summary).toContain("1 ticket with an unusable signature");
  });

  it("reads the header from stdin with -, tolerating a header name and newline", () => {
    const h = encodePaymentHeader(payment([SENDER_KEY]));
    const r = run(["payment", "decode", "-"], `Livepeer-Payment: ${h}\n`);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as Report).tickets[0]!.ticketHash).toBe(D3_HASHES[0]);
  });

  it("accepts a ticket-less payment (exit 0) and warns when expiration params are missing", () => {
    const none = run(["payment", "decode", encodePaymentHeader({ sender: SENDER, ticketSenderParams: [] })]);
    expect(none.code).toBe(0);
    expect((JSON.parse(none.stdout) as Report).summary).toBe(`no tickets (payment from ${SENDER})`);

    const p = payment([SENDER_KEY]);
    delete p.expirationParams;
    const r = run(["payment", "decode", encodePaymentHeader(p)]);
    const out = JSON.parse(r.stdout) as Report;
    expect(out.warnings[0]).toMatch(/no expiration_params \(field 3\)/);
    expect(r.code).toBe(1); // signed over a hash with auxData, checked without it
  });

  it.each([
    ["bad base64", "not base64!", "INVALID_BASE64"],
    ["unpadded base64", "Zm9vYg", "INVALID_BASE64"],
    ["truncated protobuf", encodeBase64Std(new Uint8Array([0x12, 0x14, 1, 2, 3])), "INVALID_PROTOBUF"],
    ["no sender", "", "INVALID_FIELD"],
    ["oversized header", "A".repeat(70_000), "HEADER_TOO_LARGE"],
  ])("rejects a malformed header (%s) with exit 2 and the error code on stderr", (_name, header, code) => {
    const r = run(["payment", "decode", header]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`livepay payment decode: ${code}: `);
  });
});

describe("livepay command dispatch", () => {
  it.each([
    [["--help"]],
    [["payment", "--help"]],
    [["payment", "decode", "--help"]],
    [["payment", "decode", "-h"]],
  ])("%j prints help on stdout, exit 0", (args) => {
    const r = run(args);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: livepay/);
    expect(r.stderr).toBe("");
  });

  it.each([
    [[]],
    [["frobnicate"]],
    [["payment"]],
    [["payment", "encode"]],
    [["payment", "decode"]],
    [["payment", "decode", "--nope", "x"]],
    [["--nope"]],
  ])("%j prints usage on stderr, exit 2", (args) => {
    const r = run(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/Usage: livepay/);
  });
});
