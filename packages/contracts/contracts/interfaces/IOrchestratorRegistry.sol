// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @notice The active-set views of Livepeer's BondingManager that the brokers and discovery read.
/// The devnet OrchestratorRegistry implements them; on Arbitrum One, BondingManager does.
interface IOrchestratorRegistry {
    function isActiveTranscoder(address transcoder) external view returns (bool);
    function getTranscoderPoolSize() external view returns (uint256);
    function getTranscoderPoolMaxSize() external view returns (uint256);
    function getFirstTranscoderInPool() external view returns (address);
    function getNextTranscoderInPool(address transcoder) external view returns (address);
}
