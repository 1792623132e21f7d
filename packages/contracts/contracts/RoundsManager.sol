// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {IRoundsManager} from "./interfaces/IRoundsManager.sol";

/// @title RoundsManager (livepay devnet)
/// @notice Livepeer-style rounds: a round is `roundLength` consecutive blocks, round `r` spans
/// blocks `[r * roundLength, (r + 1) * roundLength)`. Anyone may initialize the current round once;
/// initialization records `blockhash(block.number - 1)`, the hash that tickets created in that round
/// commit to (`creationRoundBlockHash`).
/// @dev Deviations from Livepeer's RoundsManager: the round length is fixed at deployment (no
/// `setRoundLength`, so `currentRound() == block.number / roundLength` always holds), there is no
/// round lock, and initializing a round does not touch any staking or minting contract.
/// A round counts as initialized iff its recorded block hash is non-zero (`blockhash` of an existing
/// block is never zero), which lets the broker answer "is the current round initialized" and "what is
/// the creation round's hash" with one storage read when both are the same round.
contract RoundsManager is IRoundsManager {
    /// @notice Emitted once per initialized round with the block hash recorded for it.
    event NewRound(uint256 indexed round, bytes32 blockHash);

    /// @inheritdoc IRoundsManager
    uint256 public immutable override roundLength;

    /// @inheritdoc IRoundsManager
    uint256 public override lastInitializedRound;

    mapping(uint256 round => bytes32 blockHash) private _blockHashes;

    /// @param roundLength_ number of blocks per round (must be positive).
    constructor(uint256 roundLength_) {
        require(roundLength_ > 0, "round length must be greater than 0");
        roundLength = roundLength_;
    }

    /// @inheritdoc IRoundsManager
    function currentRound() public view override returns (uint256) {
        return block.number / roundLength;
    }

    /// @inheritdoc IRoundsManager
    function currentRoundStartBlock() external view override returns (uint256) {
        return currentRound() * roundLength;
    }

    /// @inheritdoc IRoundsManager
    function currentRoundInitialized() external view override returns (bool) {
        return _blockHashes[currentRound()] != bytes32(0);
    }

    /// @inheritdoc IRoundsManager
    function blockHashForRound(uint256 round) external view override returns (bytes32) {
        return _blockHashes[round];
    }

    /// @notice The current block number (Livepeer's `blockNum()`; on Arbitrum it reads the L1 block).
    function blockNum() external view returns (uint256) {
        return block.number;
    }

    /// @notice Everything a ticket redemption needs from the rounds in one call: the current round,
    /// whether it is initialized, and the block hash recorded for `creationRound` (zero if none).
    /// @dev Reads one storage slot when `creationRound` is the current round, two otherwise.
    function redemptionRoundInfo(uint256 creationRound)
        external
        view
        returns (uint256 round, bool initialized, bytes32 creationRoundBlockHash)
    {
        round = block.number / roundLength;
        initialized = _blockHashes[round] != bytes32(0);
        creationRoundBlockHash = _blockHashes[creationRound];
    }

    /// @inheritdoc IRoundsManager
    function initializeRound() external override {
        uint256 round = block.number / roundLength;
        require(_blockHashes[round] == bytes32(0), "round already initialized");
        bytes32 hash = blockhash(block.number - 1);
        _blockHashes[round] = hash;
        lastInitializedRound = round;
        emit NewRound(round, hash);
    }
}
