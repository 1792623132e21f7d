// The published entry point must load in plain Node, without a TypeScript loader (npm test builds first).
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const root = fileURLToPath(new URL("../../..", import.meta.url));

it("the built @livepay/protocol imports and signs without a loader", () => {
  const script = `
    import * as p from "@livepay/protocol";
    const t = { recipient: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", sender: "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
      faceValue: 1n, winProb: 2n, senderNonce: 1n, recipientRandHash: "0x" + "11".repeat(32), creationRound: 3n,
      creationRoundBlockHash: "0x" + "22".repeat(32) };
    const sig = p.signTicket(t, "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
    console.log(JSON.stringify({ signer: p.recoverTicketSigner(t, sig), backend: p.secp256k1Backend(),
      fns: ["ticketHash","signTicket","recoverTicketSigner","isWinningTicket","ticketEV","encodePayment","decodePayment","encodePaymentHeader","decodePaymentHeader"].filter((f) => typeof p[f] !== "function") }));
  `;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
    cwd: root,
    encoding: "utf8",
  });
  expect(JSON.parse(out)).toEqual({
    signer: "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
    backend: "native",
    fns: [],
  });
});
