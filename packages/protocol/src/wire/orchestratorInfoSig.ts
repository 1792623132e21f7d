import { checksumAddress } from "../bytes/address.js";
import { bytesToHex, hexToBytes, utf8, type Hex } from "../bytes/hex.js";
import { LivepayError } from "../errors.js";
import { recoverHashedMessageSigner, signHashedMessage } from "../crypto/personalSign.js";
import type { PrivateKey } from "../crypto/secp256k1.js";

/**
 * What the GetOrchestrator info signature signs: the ASCII EIP-55 checksummed address (go-ethereum
 * `Address.Hex()`), e.g. "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266". Throws for an invalid address.
 * @example orchestratorInfoRequestMessage("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266")
 */
export function orchestratorInfoRequestMessage(senderAddress: string): Uint8Array {
  return utf8(checksumAddress(senderAddress));
}

/**
 * The `sig` of an OrchestratorRequest (spec §4.2): `sign(personalHash(keccak256(checksumAddress)))`,
 * 65 bytes with v = 27/28; the remote signer's `/sign-orchestrator-info` returns the same.
 * @example signOrchestratorInfoRequest("0xf39f...2266", senderKey) // "0x47d66008...1c"
 */
export function signOrchestratorInfoRequest(senderAddress: string, privateKey: PrivateKey): Hex {
  return bytesToHex(signHashedMessage(orchestratorInfoRequestMessage(senderAddress), privateKey));
}

/**
 * Whether `sig` is `senderAddress`'s info signature (go-livepeer `VerifySig(addr, keccak256(addr.Hex()), sig)`).
 * Malformed signatures (length, high s, bad v) and invalid addresses are false, never a throw.
 * @example verifyOrchestratorInfoRequest(req.address, req.sig) // true
 */
export function verifyOrchestratorInfoRequest(senderAddress: string, sig: Hex | Uint8Array): boolean {
  try {
    const bytes = typeof sig === "string" ? hexToBytes(sig) : sig;
    return (
      recoverHashedMessageSigner(orchestratorInfoRequestMessage(senderAddress), bytes) ===
      senderAddress.toLowerCase()
    );
  } catch (e) {
    if (e instanceof LivepayError) return false;
    throw e;
  }
}
