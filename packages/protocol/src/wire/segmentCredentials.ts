import { bytesToHex, concatBytes, hexToBytes, utf8, type Hex } from "../bytes/hex.js";
import { minBytes } from "../bytes/integers.js";
import { normalizeAddress } from "../bytes/address.js";
import { keccak256 } from "../crypto/keccak256.js";
import { recoverHashedMessageSigner, signHashedMessage } from "../crypto/personalSign.js";
import type { PrivateKey } from "../crypto/secp256k1.js";
import { LivepayError } from "../errors.js";
import { WireError } from "./errors.js";
import type { SegData } from "./segData.js";

/** keccak256("") — the segment hash of the empty segment used by AI and live payments. */
export const EMPTY_SEGMENT_HASH: Hex = "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470";

/** The part of SegData that segment credentials sign. */
export type SegDataSigned = Pick<SegData, "manifestId" | "seq" | "hash">;

function segHashBytes(segHash: unknown): Uint8Array {
  const b =
    typeof segHash === "string" && /^0x[0-9a-fA-F]{64}$/.test(segHash) ? hexToBytes(segHash) : undefined;
  if (!b)
    throw new WireError("INVALID_FIELD", "segment hash must be 32 bytes of 0x hex", {
      field: "SegData.hash",
    });
  return b;
}

/**
 * ASCII hex of the profiles as go-livepeer flattens them: for each profile, the lowercase hex of the
 * first 4 bytes of keccak256(profile name), concatenated in order ("" without profiles, the AI case).
 * @example profilesHex(["P240p30fps16x9"]).length // 8
 */
export function profilesHex(profileNames: readonly string[]): string {
  return profileNames.map((name) => bytesToHex(keccak256(utf8(name)).subarray(0, 4)).slice(2)).join("");
}

/**
 * The bytes segment credentials sign (go-livepeer `SegTranscodingMetadata.Flatten`):
 * `utf8(manifestId) || u256(|seq|) || segHash(32) || ascii(profilesHex(profiles))`. Go writes the
 * sequence number as `big.Int.Bytes()` left-padded to 32, so a negative seq contributes its magnitude.
 * @example segDataFlatten("27_model", 0n, EMPTY_SEGMENT_HASH).length // 8 + 32 + 32
 */
export function segDataFlatten(
  manifestId: string,
  seq: bigint,
  segHash: Hex,
  profiles: readonly string[] = [],
): Uint8Array {
  const seqBytes = minBytes(seq);
  if (seqBytes.length > 32)
    throw new WireError("INVALID_FIELD", "segment seq too large", { field: "SegData.seq" });
  const seq32 = new Uint8Array(32);
  seq32.set(seqBytes, 32 - seqBytes.length);
  return concatBytes(utf8(manifestId), seq32, segHashBytes(segHash), utf8(profilesHex(profiles)));
}

/**
 * Signs segment credentials as go-livepeer's gateway does: `sign(personalHash(keccak256(flatten)))`.
 * Put the result in `SegData.sig`.
 * @example const sig = signSegData({ manifestId: "27_model", seq: 0n, hash: EMPTY_SEGMENT_HASH }, senderKey)
 */
export function signSegData(
  seg: SegDataSigned,
  privateKey: PrivateKey,
  profiles: readonly string[] = [],
): Hex {
  return bytesToHex(
    signHashedMessage(segDataFlatten(seg.manifestId, seg.seq, seg.hash, profiles), privateKey),
  );
}

/**
 * Checks that `seg.sig` was made by the payment sender and returns the signer. Throws WireError
 * `SEGMENT_SIG_INVALID` when the signature is malformed or recovers to another address (go-livepeer
 * answers HTTP 403), or INVALID_FIELD for a bad hash or sender.
 * @example verifySegDataSig(decodeSegmentHeader(h), payment.sender)
 */
export function verifySegDataSig(
  seg: SegDataSigned & Pick<SegData, "sig">,
  sender: Hex,
  profiles: readonly string[] = [],
): Hex {
  const expected = normalizeAddress(sender);
  const message = segDataFlatten(seg.manifestId, seg.seq, seg.hash, profiles);
  let signer: Hex;
  try {
    signer = recoverHashedMessageSigner(message, hexToBytes(seg.sig));
  } catch (e) {
    if (!(e instanceof LivepayError)) throw e;
    throw new WireError("SEGMENT_SIG_INVALID", "invalid segment signature", { reason: e.message });
  }
  if (signer !== expected) {
    throw new WireError("SEGMENT_SIG_INVALID", "invalid segment signature", { signer, sender: expected });
  }
  return signer;
}
