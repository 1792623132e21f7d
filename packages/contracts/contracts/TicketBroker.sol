// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {IOrchestratorRegistry} from "./interfaces/IOrchestratorRegistry.sol";
import {RoundsManager} from "./RoundsManager.sol";
import {
    checkPersonalSignature,
    SIG_OK,
    SIG_BAD_LENGTH,
    SIG_HIGH_S,
    SIG_BAD_V,
    SIG_ZERO_SIGNER
} from "./lib/TicketSignature.sol";

/// @title TicketBroker (livepay)
/// @notice Livepeer's probabilistic-micropayment broker, ABI-compatible with the calls gateways and
/// orchestrators make to Livepeer's TicketBroker on Arbitrum One: same functions and selectors, same
/// events, same revert strings in the same validation order (spec §7.2-7.5).
///
/// Differences from Livepeer, all deliberate:
/// - Self-contained custody: this contract holds the deposits and reserves itself (Livepeer forwards
///   ETH to its Minter) and reads rounds and the active set from livepay's RoundsManager and an
///   IOrchestratorRegistry given at deployment (immutables; no Controller, no proxy, no
///   `setController`).
/// - Payout: a winning ticket's value is sent straight to `ticket.recipient` with only the 2,300 gas
///   call stipend. If that transfer fails (a contract recipient that needs more gas or refuses ETH),
///   the amount is credited to `feesOwed(recipient)` instead, which the recipient withdraws with
///   `withdrawFees()`. Why: a direct transfer costs a flat ~6.8k gas (9.4k when a third party
///   redeems) where a fee pool costs 22k for a payee's first credit plus a withdrawal transaction; the
///   stipend leaves no room for reentrancy (no SSTORE is possible with 2,300 gas) and a recipient
///   cannot make a redemption revert. Livepeer instead credits the BondingManager fee pool, shared
///   with delegators; there is no delegation here. A batch merges consecutive payouts to the same
///   recipient into one transfer.
/// - Owner: the deployer (transferable) plays Livepeer's Controller owner; owner-only calls keep the
///   revert string "caller must be Controller owner". The owner can pause (`pause`/`unpause`), which
///   makes every state-changing call revert with "system is paused", as Livepeer's Controller does.
/// - Storage is packed: deposit and reserve are uint96 (more wei than exist), withdrawRound uint64,
///   unlockPeriod uint40 and ticketValidityPeriod uint48 (setters refuse larger values).
/// - A reserve claim is additionally capped at the reserve's remaining funds (only binds if more than
///   poolSize distinct payees claim in one round, possible because the registry's active set changes
///   immediately rather than per round; Livepeer would revert on the underflow).
/// - `withdraw` keeps Livepeer's behaviour of leaving `withdrawRound` set (spec §7.2).
contract TicketBroker {
    // ------------------------------------------------------------------ types

    struct Ticket {
        address recipient;
        address sender;
        uint256 faceValue;
        uint256 winProb;
        uint256 senderNonce;
        bytes32 recipientRandHash;
        bytes auxData;
    }

    /// Livepeer's `MTicketBrokerCore.Sender` as returned by `getSenderInfo`.
    struct Sender {
        uint256 deposit;
        uint256 withdrawRound;
    }

    /// Livepeer's `MReserve.ReserveInfo`.
    struct ReserveInfo {
        uint256 fundsRemaining;
        uint256 claimedInCurrentRound;
    }

    /// One storage slot per sender: everything a redemption reads and writes about the payer.
    struct Account {
        uint96 deposit;
        uint96 reserve;
        uint64 withdrawRound;
    }

    /// One storage slot for the global parameters a redemption reads.
    struct Params {
        address owner;
        bool paused;
        uint40 unlockPeriod;
        uint48 ticketValidityPeriod;
    }

    // ------------------------------------------------------------------ events (Livepeer's)

    event DepositFunded(address indexed sender, uint256 amount);
    event ReserveFunded(address indexed reserveHolder, uint256 amount);
    event ReserveClaimed(address indexed reserveHolder, address claimant, uint256 amount);
    event WinningTicketRedeemed(
        address indexed sender,
        address indexed recipient,
        uint256 faceValue,
        uint256 winProb,
        uint256 senderNonce,
        uint256 recipientRand,
        bytes auxData
    );
    event WinningTicketTransfer(address indexed sender, address indexed recipient, uint256 amount);
    event Unlock(address indexed sender, uint256 startRound, uint256 endRound);
    event UnlockCancelled(address indexed sender);
    event Withdrawal(address indexed sender, uint256 deposit, uint256 reserve);
    event ParameterUpdate(string param);

    // ------------------------------------------------------------------ events (livepay's)

    /// @notice A payout could not be sent within the call stipend and was credited to `feesOwed`.
    event FeesCredited(address indexed recipient, uint256 amount);
    event FeesWithdrawn(address indexed recipient, uint256 amount);
    event Paused(address account);
    event Unpaused(address account);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    // ------------------------------------------------------------------ status codes

    uint256 private constant OK = 0;
    uint256 private constant E_PAUSED = 1;
    uint256 private constant E_ROUND_NOT_INITIALIZED = 2;
    uint256 private constant E_NULL_RECIPIENT = 3;
    uint256 private constant E_NULL_SENDER = 4;
    uint256 private constant E_AUXDATA_LENGTH = 5;
    uint256 private constant E_NO_BLOCK_HASH = 6;
    uint256 private constant E_BAD_BLOCK_HASH = 7;
    uint256 private constant E_EXPIRED = 8;
    uint256 private constant E_BAD_RAND = 9;
    uint256 private constant E_USED = 10;
    uint256 private constant E_SIG_BASE = 10; // + SIG_* (1..5)
    uint256 private constant E_DID_NOT_WIN = 16;
    uint256 private constant E_UNLOCKED = 17;
    uint256 private constant E_NO_FUNDS = 18;

    // ------------------------------------------------------------------ state

    /// @notice Source of rounds and round block hashes.
    RoundsManager public immutable roundsManager;
    /// @notice Source of the active set for reserve claims.
    IOrchestratorRegistry public immutable orchestratorRegistry;

    Params private _params;
    mapping(address => Account) private _accounts;
    /// @notice Redeemed tickets by ticket hash (signature-independent).
    mapping(bytes32 => bool) public usedTickets;
    mapping(address holder => mapping(uint256 round => uint256)) private _claimedForRound;
    mapping(address holder => mapping(uint256 round => mapping(address claimant => uint256))) private _claimedByAddress;
    /// @notice Payouts that could not be transferred directly, withdrawable by the recipient.
    mapping(address => uint256) public feesOwed;

    /// @param roundsManager_ livepay RoundsManager.
    /// @param registry_ active-set source (livepay OrchestratorRegistry).
    /// @param unlockPeriod_ rounds between `unlock` and the earliest `withdraw` (Arbitrum One: 2).
    /// @param ticketValidityPeriod_ rounds a ticket stays redeemable (Arbitrum One: 2).
    constructor(
        RoundsManager roundsManager_,
        IOrchestratorRegistry registry_,
        uint256 unlockPeriod_,
        uint256 ticketValidityPeriod_
    ) {
        require(ticketValidityPeriod_ > 0, "ticketValidityPeriod must be greater than 0");
        roundsManager = roundsManager_;
        orchestratorRegistry = registry_;
        _params = Params({
            owner: msg.sender,
            paused: false,
            unlockPeriod: _toUint40(unlockPeriod_, "unlockPeriod too large"),
            ticketValidityPeriod: _toUint48(ticketValidityPeriod_, "ticketValidityPeriod too large")
        });
        emit OwnershipTransferred(address(0), msg.sender);
    }

    modifier whenSystemNotPaused() {
        require(!_params.paused, "system is paused");
        _;
    }

    modifier onlyOwner() {
        require(msg.sender == _params.owner, "caller must be Controller owner");
        _;
    }

    // ------------------------------------------------------------------ funding

    /// @notice Adds `msg.value` to the caller's deposit; cancels the caller's unlock if one is in progress.
    function fundDeposit() external payable whenSystemNotPaused {
        Account storage a = _accounts[msg.sender];
        a.deposit = _toUint96(uint256(a.deposit) + msg.value);
        if (a.withdrawRound != 0) _cancelUnlock(a, msg.sender);
        emit DepositFunded(msg.sender, msg.value);
    }

    /// @notice Adds `msg.value` to the caller's reserve; cancels the caller's unlock if one is in progress.
    function fundReserve() external payable whenSystemNotPaused {
        Account storage a = _accounts[msg.sender];
        _addReserve(a, msg.sender, msg.value);
        if (a.withdrawRound != 0) _cancelUnlock(a, msg.sender);
    }

    /// @notice Funds the caller's deposit and reserve in one call (`msg.value` must equal their sum).
    function fundDepositAndReserve(uint256 depositAmount, uint256 reserveAmount) external payable {
        _fundDepositAndReserveFor(msg.sender, depositAmount, reserveAmount);
    }

    /// @notice Funds `addr`'s deposit and reserve; only `addr` itself cancels its own unlock this way.
    function fundDepositAndReserveFor(address addr, uint256 depositAmount, uint256 reserveAmount)
        external
        payable
    {
        _fundDepositAndReserveFor(addr, depositAmount, reserveAmount);
    }

    function _fundDepositAndReserveFor(address addr, uint256 depositAmount, uint256 reserveAmount)
        private
        whenSystemNotPaused
    {
        require(
            msg.value == depositAmount + reserveAmount,
            "msg.value does not equal sum of deposit amount and reserve amount"
        );
        Account storage a = _accounts[addr];
        a.deposit = _toUint96(uint256(a.deposit) + depositAmount);
        if (msg.sender == addr && a.withdrawRound != 0) _cancelUnlock(a, addr);
        _addReserve(a, addr, reserveAmount);
        emit DepositFunded(addr, depositAmount);
    }

    function _addReserve(Account storage a, address holder, uint256 amount) private {
        a.reserve = _toUint96(uint256(a.reserve) + amount);
        emit ReserveFunded(holder, amount);
    }

    // ------------------------------------------------------------------ unlock / withdraw

    /// @notice Starts the unlock period; the deposit and reserve can be withdrawn from round
    /// `currentRound + unlockPeriod` on, and winning tickets stop being redeemable then.
    function unlock() external whenSystemNotPaused {
        Account storage a = _accounts[msg.sender];
        require(a.deposit > 0 || a.reserve > 0, "sender deposit and reserve are zero");
        require(a.withdrawRound == 0, "unlock already initiated");
        uint256 round = roundsManager.currentRound();
        uint256 withdrawRound = round + _params.unlockPeriod;
        a.withdrawRound = uint64(withdrawRound); // round < 2^63 and unlockPeriod < 2^40
        emit Unlock(msg.sender, round, withdrawRound);
    }

    /// @notice Cancels the caller's unlock.
    function cancelUnlock() external whenSystemNotPaused {
        Account storage a = _accounts[msg.sender];
        _cancelUnlock(a, msg.sender);
    }

    function _cancelUnlock(Account storage a, address sender) private {
        require(a.withdrawRound > 0, "no unlock request in progress");
        a.withdrawRound = 0;
        emit UnlockCancelled(sender);
    }

    /// @notice Sends the caller's whole deposit and reserve to it once its unlock period is over.
    function withdraw() external whenSystemNotPaused {
        Account storage a = _accounts[msg.sender];
        uint256 deposit = a.deposit;
        uint256 reserve = a.reserve;
        require(deposit > 0 || reserve > 0, "sender deposit and reserve are zero");
        uint256 withdrawRound = a.withdrawRound;
        require(withdrawRound > 0, "no unlock request in progress");
        require(roundsManager.currentRound() >= withdrawRound, "account is locked");
        a.deposit = 0;
        a.reserve = 0;
        (bool ok,) = payable(msg.sender).call{value: deposit + reserve}("");
        require(ok, "withdrawal transfer failed");
        emit Withdrawal(msg.sender, deposit, reserve);
    }

    /// @notice Sends the caller the payouts credited to it when a direct transfer failed.
    function withdrawFees() external {
        uint256 amount = feesOwed[msg.sender];
        require(amount > 0, "no fees owed");
        feesOwed[msg.sender] = 0;
        (bool ok,) = payable(msg.sender).call{value: amount}("");
        require(ok, "fee transfer failed");
        emit FeesWithdrawn(msg.sender, amount);
    }

    // ------------------------------------------------------------------ redemption

    /// @notice Redeems a winning ticket (anyone may submit it); pays `ticket.recipient` up to the face
    /// value from the sender's deposit, then from its reserve allocation for the recipient.
    function redeemWinningTicket(Ticket calldata ticket, bytes calldata sig, uint256 recipientRand) external {
        RoundCache memory rounds;
        (uint256 status, uint256 amount) = _redeem(ticket, sig, recipientRand, rounds);
        if (status != OK) _revertWith(status);
        if (amount > 0) _pay(ticket.recipient, amount);
    }

    /// @notice Redeems several winning tickets; a ticket that fails validation is skipped silently.
    /// @dev Consecutive payouts to the same recipient are sent as one transfer after its last ticket
    /// (WinningTicketTransfer is still emitted per ticket), and the rounds lookup is reused while the
    /// creation round does not change.
    function batchRedeemWinningTickets(Ticket[] calldata tickets, bytes[] calldata sigs, uint256[] calldata recipientRands)
        external
        whenSystemNotPaused
    {
        require(roundsManager.currentRoundInitialized(), "current round is not initialized");
        RoundCache memory rounds;
        address payee;
        uint256 owed;
        for (uint256 i = 0; i < tickets.length; ++i) {
            (uint256 status, uint256 amount) = _redeem(tickets[i], sigs[i], recipientRands[i], rounds);
            if (status != OK || amount == 0) continue;
            address recipient = tickets[i].recipient;
            if (recipient != payee) {
                if (owed > 0) _pay(payee, owed);
                payee = recipient;
                owed = 0;
            }
            owed += amount;
        }
        if (owed > 0) _pay(payee, owed);
    }

    /// The rounds data of one creation round, looked up once per batch run of equal creation rounds.
    struct RoundCache {
        bool cached;
        uint256 creationRound;
        uint256 round;
        bool initialized;
        bytes32 creationRoundBlockHash;
    }

    /// Validates in Livepeer's order (spec §7.3) and settles; returns OK and the amount the caller
    /// must pay to the recipient, or the first failing check. Nothing is written unless all pass.
    function _redeem(Ticket calldata ticket, bytes calldata sig, uint256 recipientRand, RoundCache memory rounds)
        private
        returns (uint256 status, uint256 amount)
    {
        bytes32 ticketHash;
        (status, ticketHash) = _validate(ticket, sig, recipientRand, rounds);
        if (status != OK) return (status, 0);
        return _settle(ticket, recipientRand, rounds.round, ticketHash);
    }

    /// Checks 1-13 of spec §7.3 (everything but the sender's lock state and funds).
    function _validate(Ticket calldata ticket, bytes calldata sig, uint256 recipientRand, RoundCache memory rounds)
        private
        view
        returns (uint256 status, bytes32 ticketHash)
    {
        Params memory p = _params;
        if (p.paused) return (E_PAUSED, 0);

        uint256 creationRound;
        {
            bytes calldata aux = ticket.auxData;
            if (aux.length == 64) creationRound = uint256(bytes32(aux[0:32]));
        }
        if (!rounds.cached || rounds.creationRound != creationRound) {
            (rounds.round, rounds.initialized, rounds.creationRoundBlockHash) =
                roundsManager.redemptionRoundInfo(creationRound);
            rounds.creationRound = creationRound;
            rounds.cached = true;
        }
        if (!rounds.initialized) return (E_ROUND_NOT_INITIALIZED, 0);

        ticketHash = _ticketHash(ticket);
        if (ticket.recipient == address(0)) return (E_NULL_RECIPIENT, 0);
        if (ticket.sender == address(0)) return (E_NULL_SENDER, 0);
        if (ticket.auxData.length != 64) return (E_AUXDATA_LENGTH, 0);
        if (rounds.creationRoundBlockHash == bytes32(0)) return (E_NO_BLOCK_HASH, 0);
        if (bytes32(ticket.auxData[32:64]) != rounds.creationRoundBlockHash) return (E_BAD_BLOCK_HASH, 0);
        // creationRound has a recorded block hash, so it is a real round and the sum cannot overflow.
        if (creationRound + p.ticketValidityPeriod <= rounds.round) return (E_EXPIRED, 0);
        if (keccak256(abi.encodePacked(recipientRand)) != ticket.recipientRandHash) return (E_BAD_RAND, 0);
        if (usedTickets[ticketHash]) return (E_USED, 0);
        status = checkPersonalSignature(ticketHash, sig, ticket.sender);
        if (status != SIG_OK) return (E_SIG_BASE + status, 0);
        if (uint256(keccak256(abi.encodePacked(sig, recipientRand))) >= ticket.winProb) return (E_DID_NOT_WIN, 0);
        return (OK, ticketHash);
    }

    /// Checks 14-15 of spec §7.3, then marks the ticket used, takes the payout from the sender's
    /// deposit and reserve and emits the events (steps 16-19). The caller transfers `amount`.
    function _settle(Ticket calldata ticket, uint256 recipientRand, uint256 round, bytes32 ticketHash)
        private
        returns (uint256 status, uint256 amount)
    {
        address sender = ticket.sender;
        Account memory a = _accounts[sender];
        if (a.withdrawRound != 0 && round >= a.withdrawRound) return (E_UNLOCKED, 0);
        if (a.deposit == 0 && a.reserve == 0) return (E_NO_FUNDS, 0);

        usedTickets[ticketHash] = true;
        uint256 faceValue = ticket.faceValue;
        if (faceValue > a.deposit) {
            uint256 claimed = _claimFromReserve(sender, ticket.recipient, faceValue - a.deposit, a.reserve, round);
            amount = uint256(a.deposit) + claimed;
            a.reserve -= uint96(claimed); // claimed <= reserve
            a.deposit = 0;
        } else {
            amount = faceValue;
            a.deposit -= uint96(faceValue);
        }
        _accounts[sender] = a;

        if (amount > 0) emit WinningTicketTransfer(sender, ticket.recipient, amount);
        emit WinningTicketRedeemed(
            sender, ticket.recipient, faceValue, ticket.winProb, ticket.senderNonce, recipientRand, ticket.auxData
        );
        return (OK, amount);
    }

    /// Sends `amount` with the bare call stipend; credits `feesOwed` if the recipient does not accept it.
    function _pay(address recipient, uint256 amount) private {
        bool ok;
        assembly ("memory-safe") {
            ok := call(0, recipient, amount, 0, 0, 0, 0)
        }
        if (!ok) {
            feesOwed[recipient] += amount;
            emit FeesCredited(recipient, amount);
        }
    }

    function _claimFromReserve(address holder, address claimant, uint256 amount, uint256 funds, uint256 round)
        private
        returns (uint256 claim)
    {
        uint256 claimable = _claimableReserve(holder, claimant, funds, round);
        claim = amount < claimable ? amount : claimable;
        if (claim > 0) {
            _claimedForRound[holder][round] += claim;
            _claimedByAddress[holder][round][claimant] += claim;
            emit ReserveClaimed(holder, claimant, claim);
        }
    }

    /// floor((funds + claimedForRound) / poolSize) - claimedByAddress, saturating at zero, capped at funds.
    function _claimableReserve(address holder, address claimant, uint256 funds, uint256 round)
        private
        view
        returns (uint256)
    {
        if (!orchestratorRegistry.isActiveTranscoder(claimant)) return 0;
        uint256 poolSize = orchestratorRegistry.getTranscoderPoolSize();
        if (poolSize == 0) return 0;
        uint256 share = (funds + _claimedForRound[holder][round]) / poolSize;
        uint256 claimed = _claimedByAddress[holder][round][claimant];
        if (share <= claimed) return 0;
        uint256 claimable = share - claimed;
        return claimable < funds ? claimable : funds;
    }

    function _revertWith(uint256 status) private pure {
        if (status == E_PAUSED) revert("system is paused");
        if (status == E_ROUND_NOT_INITIALIZED) revert("current round is not initialized");
        if (status == E_NULL_RECIPIENT) revert("ticket recipient is null address");
        if (status == E_NULL_SENDER) revert("ticket sender is null address");
        if (status == E_AUXDATA_LENGTH) revert("invalid length for ticket auxData: must be 64 bytes");
        if (status == E_NO_BLOCK_HASH) revert("ticket creationRound does not have a block hash");
        if (status == E_BAD_BLOCK_HASH) revert("ticket creationRoundBlockHash invalid for creationRound");
        if (status == E_EXPIRED) revert("ticket is expired");
        if (status == E_BAD_RAND) revert("recipientRand does not match recipientRandHash");
        if (status == E_USED) revert("ticket is used");
        if (status == E_SIG_BASE + SIG_BAD_LENGTH) revert("INVALID_SIGNATURE_LENGTH");
        if (status == E_SIG_BASE + SIG_HIGH_S) revert("ECDSA: invalid signature 's' value");
        if (status == E_SIG_BASE + SIG_BAD_V) revert("ECDSA: invalid signature 'v' value");
        if (status == E_SIG_BASE + SIG_ZERO_SIGNER) revert("ECDSA: invalid signature");
        if (status == E_DID_NOT_WIN) revert("ticket did not win");
        if (status == E_UNLOCKED) revert("sender is unlocked");
        if (status == E_NO_FUNDS) revert("sender deposit and reserve are zero");
        revert("invalid signature over ticket hash"); // E_SIG_BASE + SIG_WRONG_SIGNER
    }

    // ------------------------------------------------------------------ views

    /// @notice keccak256 of the tightly packed ticket (spec §1.4), the key of `usedTickets`.
    function getTicketHash(Ticket calldata ticket) external pure returns (bytes32) {
        return _ticketHash(ticket);
    }

    /// abi.encodePacked(recipient, sender, faceValue, winProb, senderNonce, recipientRandHash, auxData),
    /// assembled straight from calldata (the struct's static head is 7 words; the 7th is auxData's offset).
    function _ticketHash(Ticket calldata t) private pure returns (bytes32 h) {
        bytes calldata aux = t.auxData; // bounds-checked by the compiler
        address recipient = t.recipient; // reverts on dirty high bits, like abi.encodePacked would
        address sender = t.sender;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, shl(96, recipient))
            mstore(add(ptr, 20), shl(96, sender))
            calldatacopy(add(ptr, 40), add(t, 64), 128) // faceValue, winProb, senderNonce, recipientRandHash
            calldatacopy(add(ptr, 168), aux.offset, aux.length)
            h := keccak256(ptr, add(168, aux.length))
        }
    }

    /// @notice True once `sender` called `unlock` (and has not cancelled it).
    function isUnlockInProgress(address sender) external view returns (bool) {
        return _accounts[sender].withdrawRound > 0;
    }

    /// @notice Deposit, withdraw round and reserve of `sender`.
    function getSenderInfo(address sender) external view returns (Sender memory sender_, ReserveInfo memory reserve) {
        Account memory a = _accounts[sender];
        sender_ = Sender({deposit: a.deposit, withdrawRound: a.withdrawRound});
        reserve = ReserveInfo({
            fundsRemaining: a.reserve,
            claimedInCurrentRound: _claimedForRound[sender][roundsManager.currentRound()]
        });
    }

    /// @notice Remaining reserve of `reserveHolder` and how much of it was claimed this round.
    function getReserveInfo(address reserveHolder) external view returns (ReserveInfo memory info) {
        info = ReserveInfo({
            fundsRemaining: _accounts[reserveHolder].reserve,
            claimedInCurrentRound: _claimedForRound[reserveHolder][roundsManager.currentRound()]
        });
    }

    /// @notice How much `claimant` could still claim from `reserveHolder`'s reserve this round.
    function claimableReserve(address reserveHolder, address claimant) external view returns (uint256) {
        return _claimableReserve(
            reserveHolder, claimant, _accounts[reserveHolder].reserve, roundsManager.currentRound()
        );
    }

    /// @notice How much `claimant` claimed from `reserveHolder`'s reserve this round.
    function claimedReserve(address reserveHolder, address claimant) external view returns (uint256) {
        return _claimedByAddress[reserveHolder][roundsManager.currentRound()][claimant];
    }

    /// @notice Rounds between `unlock` and the earliest `withdraw`.
    function unlockPeriod() external view returns (uint256) {
        return _params.unlockPeriod;
    }

    /// @notice Rounds a ticket stays redeemable after its creation round.
    function ticketValidityPeriod() external view returns (uint256) {
        return _params.ticketValidityPeriod;
    }

    function owner() external view returns (address) {
        return _params.owner;
    }

    function paused() external view returns (bool) {
        return _params.paused;
    }

    // ------------------------------------------------------------------ owner

    function setUnlockPeriod(uint256 unlockPeriod_) external onlyOwner {
        _params.unlockPeriod = _toUint40(unlockPeriod_, "unlockPeriod too large");
        emit ParameterUpdate("unlockPeriod");
    }

    function setTicketValidityPeriod(uint256 ticketValidityPeriod_) external onlyOwner {
        require(ticketValidityPeriod_ > 0, "ticketValidityPeriod must be greater than 0");
        _params.ticketValidityPeriod = _toUint48(ticketValidityPeriod_, "ticketValidityPeriod too large");
        emit ParameterUpdate("ticketValidityPeriod");
    }

    function pause() external onlyOwner {
        require(!_params.paused, "system is paused");
        _params.paused = true;
        emit Paused(msg.sender);
    }

    function unpause() external onlyOwner {
        require(_params.paused, "system is not paused");
        _params.paused = false;
        emit Unpaused(msg.sender);
    }

    function transferOwnership(address newOwner) external onlyOwner {
        require(newOwner != address(0), "new owner is the zero address");
        emit OwnershipTransferred(_params.owner, newOwner);
        _params.owner = newOwner;
    }

    // ------------------------------------------------------------------ casts

    function _toUint96(uint256 v) private pure returns (uint96) {
        require(v <= type(uint96).max, "balance exceeds uint96");
        return uint96(v);
    }

    function _toUint40(uint256 v, string memory message) private pure returns (uint40) {
        require(v <= type(uint40).max, message);
        return uint40(v);
    }

    function _toUint48(uint256 v, string memory message) private pure returns (uint48) {
        require(v <= type(uint48).max, message);
        return uint48(v);
    }
}
