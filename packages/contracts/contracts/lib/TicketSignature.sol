// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

// Signature checks for tickets, written for livepay. They reproduce the revert strings that
// Livepeer's TicketBroker (built with OpenZeppelin 4.4.1's ECDSA) gives on Arbitrum One, in the same
// order, but return a status code instead of reverting so that batch redemption can skip a bad
// ticket without an external self-call.

/// @dev Half the secp256k1 group order: larger `s` values are malleable twins and are refused.
uint256 constant SECP256K1_HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

uint256 constant SIG_OK = 0;
uint256 constant SIG_BAD_LENGTH = 1; // "INVALID_SIGNATURE_LENGTH"
uint256 constant SIG_HIGH_S = 2; // "ECDSA: invalid signature 's' value"
uint256 constant SIG_BAD_V = 3; // "ECDSA: invalid signature 'v' value"
uint256 constant SIG_ZERO_SIGNER = 4; // "ECDSA: invalid signature"
uint256 constant SIG_WRONG_SIGNER = 5; // "invalid signature over ticket hash"

/// @notice Checks that `sig` (r ‖ s ‖ v, 65 bytes, v = 27/28, low s) is `signer`'s personal-sign
/// signature of the 32-byte `hash` (digest = keccak256("\x19Ethereum Signed Message:\n32" ‖ hash)).
/// @return status SIG_OK or the first failing check, in Livepeer's order.
function checkPersonalSignature(bytes32 hash, bytes calldata sig, address signer) pure returns (uint256 status) {
    if (sig.length != 65) return SIG_BAD_LENGTH;
    bytes32 r;
    bytes32 s;
    uint8 v;
    bytes32 digest;
    assembly ("memory-safe") {
        r := calldataload(sig.offset)
        s := calldataload(add(sig.offset, 32))
        v := byte(0, calldataload(add(sig.offset, 64)))
        // The 28-byte prefix "\x19Ethereum Signed Message:\n32" lands in bytes 0x04..0x1f of scratch
        // space and the hash in 0x20..0x3f, so the 60-byte message starts at 0x04.
        mstore(0x00, 0x19457468657265756d205369676e6564204d6573736167653a0a3332)
        mstore(0x20, hash)
        digest := keccak256(0x04, 60)
    }
    if (uint256(s) > SECP256K1_HALF_N) return SIG_HIGH_S;
    if (v != 27 && v != 28) return SIG_BAD_V;
    address recovered = ecrecover(digest, v, r, s);
    if (recovered == address(0)) return SIG_ZERO_SIGNER;
    if (recovered != signer) return SIG_WRONG_SIGNER;
    return SIG_OK;
}
