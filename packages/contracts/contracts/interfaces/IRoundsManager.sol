// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @notice The RoundsManager calls that Livepeer's TicketBroker, gateways and orchestrators make.
interface IRoundsManager {
    function roundLength() external view returns (uint256);
    function currentRound() external view returns (uint256);
    function currentRoundStartBlock() external view returns (uint256);
    function currentRoundInitialized() external view returns (bool);
    function lastInitializedRound() external view returns (uint256);
    function blockHashForRound(uint256 round) external view returns (bytes32);
    function initializeRound() external;
}
