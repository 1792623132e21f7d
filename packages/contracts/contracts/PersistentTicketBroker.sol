// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {IRoundsManager} from "./interfaces/IRoundsManager.sol";
import {IOrchestratorRegistry} from "./interfaces/IOrchestratorRegistry.sol";

/// @title PersistentTicketBroker (livepay)
/// @notice Deposit-backed running balances ("persistent tickets") for Livepeer AI inference.
/// A payer funds a deposit and a reserve (as in Livepeer's TicketBroker) and signs EIP-712
/// vouchers carrying the cumulative amount it owes a payee on one ticket. The payee (or its
/// registered redeemer) claims any amount up to the highest cumulative it holds; the contract
/// stores only what was already paid per ticket, so old vouchers are harmless and there are no
/// nonces. The spec is packages/contracts/PERSISTENT.md.
/// @dev Standalone: no owner, no pause, no upgrade. Rounds and the active set are read through
/// Livepeer's RoundsManager / BondingManager views, so the same bytecode runs on the devnet and
/// on Arbitrum One. Money is paid to the payee directly (delegators' fee share is not automatic).
contract PersistentTicketBroker {
    // ------------------------------------------------------------------ typed data

    /// @notice EIP-712 type of a payer-signed voucher.
    bytes32 public constant VOUCHER_TYPEHASH = keccak256(
        "Voucher(address payer,address payee,uint256 ticketId,uint64 epoch,uint128 cumulativeAmount,bytes32 context)"
    );
    /// @notice EIP-712 type of a session-key delegation (registered on-chain by the payer).
    bytes32 public constant DELEGATION_TYPEHASH = keccak256(
        "Delegation(address payer,address key,address payee,uint128 cap,uint64 validUntilRound,uint64 epoch)"
    );
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant NAME_HASH = keccak256("livepay PersistentTicketBroker");
    bytes32 private constant VERSION_HASH = keccak256("1");

    // ------------------------------------------------------------------ claim status codes

    /// Entry outcome codes carried by `VoucherClaimFailed.reason` (0 is success, never emitted).
    uint8 internal constant OK = 0;
    uint8 internal constant EPOCH_NOT_CURRENT = 1;
    uint8 internal constant PAYER_UNLOCKED = 2;
    uint8 internal constant EXCEEDS_CUMULATIVE = 3;
    uint8 internal constant NOTHING_TO_CLAIM = 4;
    uint8 internal constant INVALID_SIGNATURE = 5;
    uint8 internal constant SIGNER_NOT_AUTHORIZED = 6;
    uint8 internal constant TICKET_BOUND_TO_OTHER_KEY = 7;
    uint8 internal constant DELEGATION_OTHER_EPOCH = 8;
    uint8 internal constant DELEGATION_PAYEE_MISMATCH = 9;
    uint8 internal constant DELEGATION_EXPIRED = 10;
    uint8 internal constant DELEGATION_REVOKED = 11;

    // ------------------------------------------------------------------ storage layout

    /// One slot per payer.
    struct Payer {
        uint128 deposit;
        uint64 epoch; // incremented by every withdraw: vouchers and delegations of older epochs are dead
        uint64 withdrawRound; // 0 = locked (no unlock in progress)
    }

    /// One slot per payer (the per-round claim counters live in the mappings below).
    struct Reserve {
        uint128 funds;
        uint32 keyCount; // delegation key ids handed out so far (ids start at 2; 1 means "the payer")
    }

    /// Two slots per (payer, key).
    struct Delegation {
        // slot 0
        address payee; // 0 = any payee
        uint32 keyId; // 0 = never registered
        uint64 epoch;
        // slot 1
        uint96 cap;
        uint96 claimed; // total paid through this key since it was (re)registered
        uint32 validUntilRound; // inclusive; type(uint32).max = no bound
        uint32 revokeRound; // 0 = not revoked; unusable from this round on
    }

    /// @notice A delegation as returned by `getDelegation`.
    struct DelegationInfo {
        address payee;
        uint256 cap;
        uint256 claimed;
        uint64 validUntilRound;
        uint64 epoch;
        uint64 revokeRound;
        uint32 keyId;
        bool usable; // usable for claims right now (current epoch, not expired, revocation not effective)
    }

    /// @notice One voucher in a claim: the voucher fields that are not implied by the call, the
    /// amount to claim up to, and the receipts root recorded in the event.
    struct VoucherClaim {
        uint256 ticketId;
        uint128 cumulativeAmount;
        uint128 newClaimed; // claim so that claimed(ticket) becomes newClaimed (<= cumulativeAmount)
        bytes32 context;
        bytes32 r; // EIP-2098 compact signature: r
        bytes32 vs; // EIP-2098 compact signature: (v - 27) << 255 | s
        bytes32 receiptsRoot; // Merkle root of the receipts the claim covers (not verified on-chain)
    }

    /// @notice The vouchers of one payer in a batch (one payer epoch for all of them).
    struct PayerClaims {
        address payer;
        uint64 epoch;
        VoucherClaim[] vouchers;
    }

    /// Per-call state: the payee, the payer group being claimed, the voucher being claimed, and
    /// values read from other contracts (each at most once, lazily). The assembly reads fields at
    /// the byte offsets C_* (one 32-byte word per field, in declaration order).
    struct Ctx {
        address payee;
        address payer; // the open group
        uint256 epoch;
        uint256 deposit; // the payer's deposit, written back once per group
        bytes32 separator; // EIP-712 domain separator
        uint256 slot; // the current voucher's ticket pair slot,
        uint256 word; // its value,
        uint256 lane; // the ticket's 128 bits of it,
        address signer; // the recovered signer,
        uint256 requested; // newClaimed - claimed,
        uint256 keyId; // the key the ticket is (to be) bound to
        uint256 round; // NO_ROUND until read
        uint256 pool; // max(poolSize, poolMaxSize), valid when activeKnown
        bool activeKnown;
        bool active;
    }

    uint256 private constant C_PAYEE = 0x00;
    uint256 private constant C_PAYER = 0x20;
    uint256 private constant C_EPOCH = 0x40;
    uint256 private constant C_DEPOSIT = 0x60;
    uint256 private constant C_SEPARATOR = 0x80;
    uint256 private constant C_SLOT = 0xa0;
    uint256 private constant C_WORD = 0xc0;
    uint256 private constant C_LANE = 0xe0;
    uint256 private constant C_SIGNER = 0x100;
    uint256 private constant C_REQUESTED = 0x120;
    uint256 private constant C_KEY_ID = 0x140;

    uint256 private constant NO_ROUND = type(uint256).max;
    uint256 private constant MASK96 = 0xffffffffffffffffffffffff;
    uint256 private constant MASK128 = 0xffffffffffffffffffffffffffffffff;
    uint256 private constant KEY_ID_PAYER = 1;
    /// secp256k1 order / 2: signatures with a larger s are rejected (malleability).
    uint256 private constant HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;
    bytes32 private constant S_MASK = 0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff;

    IRoundsManager public immutable roundsManager;
    IOrchestratorRegistry public immutable orchestratorRegistry;
    /// @notice Rounds between `unlock` (or `revokeDelegation`) and the moment it takes effect.
    uint256 public immutable unlockPeriod;

    uint256 private immutable _cachedChainId;
    bytes32 private immutable _cachedDomainSeparator;

    mapping(address payer => Payer) private _payers;
    mapping(address payer => Reserve) private _reserves;
    mapping(address payer => mapping(uint256 round => uint256)) private _claimedForRound;
    mapping(address payer => mapping(uint256 round => mapping(address payee => uint256))) private _claimedByPayee;
    /// Tickets 2k and 2k+1 of a (payer, payee, epoch) share one slot: two lanes of 128 bits,
    /// each `keyId << 96 | claimed`. keyId 0 = no claim yet, 1 = payer-signed, >= 2 = delegation.
    /// (Addressed by `_ticketSlot`, never through Solidity's mapping access.)
    mapping(bytes32 pairKey => uint256) private _ticketPairs;
    mapping(address payer => mapping(address key => Delegation)) private _delegations;
    mapping(address payer => mapping(uint256 keyId => address key)) private _keyOf;
    mapping(bytes32 digest => bool) private _usedDelegationDigests;
    mapping(address payee => address) private _signingKeys;
    mapping(address payee => address) private _redeemers;

    // ------------------------------------------------------------------ events

    /// Livepeer TicketBroker events (same signatures, same topic0).
    event DepositFunded(address indexed sender, uint256 amount);
    event ReserveFunded(address indexed reserveHolder, uint256 amount);
    event ReserveClaimed(address indexed reserveHolder, address claimant, uint256 amount);
    event Unlock(address indexed sender, uint256 startRound, uint256 endRound);
    event UnlockCancelled(address indexed sender);
    event Withdrawal(address indexed sender, uint256 deposit, uint256 reserve);

    /// @notice One claimed voucher: `requested = newClaimed - claimedBefore`, `paid` was
    /// transferred, `shortfall = requested - paid` stays claimable later.
    event VoucherClaimed(
        address indexed payer,
        address indexed payee,
        uint256 ticketId,
        uint64 epoch,
        uint256 requested,
        uint256 paid,
        uint256 shortfall,
        bytes32 receiptsRoot
    );
    /// @notice One batch entry that changed nothing; `reason` is a status code (see PERSISTENT.md).
    event VoucherClaimFailed(
        address indexed payer,
        address indexed payee,
        uint256 ticketId,
        uint64 epoch,
        uint256 newClaimed,
        bytes32 receiptsRoot,
        uint8 reason
    );
    event DelegationRegistered(
        address indexed payer,
        address indexed key,
        address payee,
        uint256 cap,
        uint64 validUntilRound,
        uint64 epoch,
        uint32 keyId
    );
    event DelegationRevoked(address indexed payer, address indexed key, uint256 startRound, uint256 endRound);
    event SigningKeySet(address indexed payee, address key);
    event RedeemerSet(address indexed payee, address redeemer);

    /// @param roundsManager_ Livepeer RoundsManager (or the devnet one).
    /// @param orchestratorRegistry_ Livepeer BondingManager (or the devnet OrchestratorRegistry).
    /// @param unlockPeriod_ rounds from `unlock` to `withdraw` (Livepeer on Arbitrum: 2).
    constructor(address roundsManager_, address orchestratorRegistry_, uint256 unlockPeriod_) {
        require(roundsManager_ != address(0), "rounds manager is null address");
        require(orchestratorRegistry_ != address(0), "orchestrator registry is null address");
        // A zero period would let a payer unlock and withdraw in the round of its last claim.
        require(unlockPeriod_ > 0, "unlockPeriod must be greater than 0");
        require(unlockPeriod_ <= type(uint32).max, "unlockPeriod too large");
        roundsManager = IRoundsManager(roundsManager_);
        orchestratorRegistry = IOrchestratorRegistry(orchestratorRegistry_);
        unlockPeriod = unlockPeriod_;
        _cachedChainId = block.chainid;
        _cachedDomainSeparator = _buildDomainSeparator();
    }

    // ------------------------------------------------------------------ funding (Livepeer names)

    /// @notice Adds `msg.value` to the caller's deposit; cancels the caller's unlock if one is in progress.
    function fundDeposit() external payable {
        _fund(msg.sender, msg.value, 0, true, false);
    }

    /// @notice Adds `msg.value` to the caller's reserve; cancels the caller's unlock if one is in progress.
    function fundReserve() external payable {
        _fund(msg.sender, 0, msg.value, false, true);
    }

    /// @notice Splits `msg.value` into the caller's deposit and reserve.
    function fundDepositAndReserve(uint256 depositAmount, uint256 reserveAmount) external payable {
        fundDepositAndReserveFor(msg.sender, depositAmount, reserveAmount);
    }

    /// @notice Funds `payer`'s deposit and reserve; only the payer itself cancels its unlock this way.
    function fundDepositAndReserveFor(address payer, uint256 depositAmount, uint256 reserveAmount)
        public
        payable
    {
        // Funds of address 0 could never be withdrawn.
        require(payer != address(0), "payer is null address");
        require(
            msg.value == depositAmount + reserveAmount,
            "msg.value does not equal sum of deposit amount and reserve amount"
        );
        _fund(payer, depositAmount, reserveAmount, true, true);
    }

    /// Livepeer's event order: [UnlockCancelled], ReserveFunded, DepositFunded.
    function _fund(address payer, uint256 depositAmount, uint256 reserveAmount, bool toDeposit, bool toReserve)
        private
    {
        Payer storage p = _payers[payer];
        if (payer == msg.sender && p.withdrawRound != 0) {
            p.withdrawRound = 0;
            emit UnlockCancelled(payer);
        }
        if (toReserve) {
            Reserve storage res = _reserves[payer];
            res.funds = _toUint128(uint256(res.funds) + reserveAmount);
            emit ReserveFunded(payer, reserveAmount);
        }
        if (toDeposit) {
            p.deposit = _toUint128(uint256(p.deposit) + depositAmount);
            emit DepositFunded(payer, depositAmount);
        }
    }

    /// @notice Starts the unlock: claims stay possible until the end of round `withdrawRound - 1`.
    function unlock() external {
        Payer storage p = _payers[msg.sender];
        require(p.deposit > 0 || _reserves[msg.sender].funds > 0, "sender deposit and reserve are zero");
        require(p.withdrawRound == 0, "unlock already initiated");
        uint256 round = roundsManager.currentRound();
        uint256 withdrawRound = round + unlockPeriod;
        p.withdrawRound = _toUint64(withdrawRound);
        emit Unlock(msg.sender, round, withdrawRound);
    }

    /// @notice Cancels the caller's unlock.
    function cancelUnlock() external {
        Payer storage p = _payers[msg.sender];
        require(p.withdrawRound > 0, "no unlock request in progress");
        p.withdrawRound = 0;
        emit UnlockCancelled(msg.sender);
    }

    /// @notice Returns deposit and reserve after the unlock period and starts a new epoch: every
    /// voucher and delegation of the previous epoch is dead.
    function withdraw() external {
        Payer storage p = _payers[msg.sender];
        Reserve storage res = _reserves[msg.sender];
        uint256 deposit = p.deposit;
        uint256 reserve = res.funds;
        require(deposit > 0 || reserve > 0, "sender deposit and reserve are zero");
        uint256 withdrawRound = p.withdrawRound;
        require(withdrawRound > 0, "no unlock request in progress");
        require(roundsManager.currentRound() >= withdrawRound, "account is locked");
        p.deposit = 0;
        p.withdrawRound = 0;
        p.epoch += 1;
        res.funds = 0;
        emit Withdrawal(msg.sender, deposit, reserve);
        (bool ok,) = payable(msg.sender).call{value: deposit + reserve}("");
        require(ok, "ETH transfer failed");
    }

    // ------------------------------------------------------------------ payee keys

    /// @notice Binds the key that signs the caller's quotes and receipts (0 clears it).
    function setSigningKey(address key) external {
        _signingKeys[msg.sender] = key;
        emit SigningKeySet(msg.sender, key);
    }

    /// @notice Lets `redeemer` submit claims for the caller (paid to the caller); 0 clears it.
    function setRedeemer(address redeemer) external {
        _redeemers[msg.sender] = redeemer;
        emit RedeemerSet(msg.sender, redeemer);
    }

    /// @notice The key that signs `payee`'s quotes and receipts (0 if none).
    function signingKeyOf(address payee) external view returns (address) {
        return _signingKeys[payee];
    }

    /// @notice The address allowed to claim for `payee` besides itself (0 if none).
    function redeemerOf(address payee) external view returns (address) {
        return _redeemers[payee];
    }

    // ------------------------------------------------------------------ delegations

    /// @notice Lets `key` sign vouchers for the caller, to `payee` (0 = any), for at most `cap` in
    /// total, through round `validUntilRound`, in the caller's current epoch. Re-registering a live
    /// key may only widen it (same or any payee, larger cap, later bound).
    function registerDelegation(address key, address payee, uint128 cap, uint64 validUntilRound) external {
        _registerDelegation(msg.sender, key, payee, cap, validUntilRound, _payers[msg.sender].epoch);
    }

    /// @notice Registers a delegation signed by an EOA payer (65-byte signature, v 27/28, low s).
    /// Each signed delegation registers at most once.
    function registerDelegationWithSig(
        address payer,
        address key,
        address payee,
        uint128 cap,
        uint64 validUntilRound,
        uint64 epoch,
        bytes calldata signature
    ) external {
        bytes32 digest = hashDelegation(payer, key, payee, cap, validUntilRound, epoch);
        require(_recoverStrict(digest, signature) == payer, "invalid delegation signature");
        require(!_usedDelegationDigests[digest], "delegation signature already used");
        require(epoch == _payers[payer].epoch, "delegation epoch is not current");
        _usedDelegationDigests[digest] = true;
        _registerDelegation(payer, key, payee, cap, validUntilRound, epoch);
    }

    /// @notice Revokes `key`; it stays usable until the end of round `currentRound + unlockPeriod - 1`,
    /// so a payee that admitted work against it can still claim.
    function revokeDelegation(address key) external {
        Delegation storage d = _delegations[msg.sender][key];
        require(d.keyId != 0 && d.epoch == _payers[msg.sender].epoch, "no delegation for key");
        require(d.revokeRound == 0, "delegation revocation already initiated");
        uint256 round = roundsManager.currentRound();
        uint256 endRound = round + unlockPeriod;
        d.revokeRound = _toUint32(endRound);
        emit DelegationRevoked(msg.sender, key, round, endRound);
    }

    function _registerDelegation(
        address payer,
        address key,
        address payee,
        uint128 cap,
        uint64 validUntilRound,
        uint64 epoch
    ) private {
        require(key != address(0), "delegation key is null address");
        require(key != payer, "delegation key is the payer");
        uint256 round = roundsManager.currentRound();
        require(validUntilRound >= round, "delegation validUntilRound has passed");
        // Values beyond the stored widths are unreachable (more wei than exists, rounds in 10^6 years):
        // clamping them keeps their meaning.
        uint96 cap96 = cap > MASK96 ? uint96(MASK96) : uint96(cap);
        uint32 until32 = validUntilRound > type(uint32).max ? type(uint32).max : uint32(validUntilRound);

        Delegation storage d = _delegations[payer][key];
        uint32 keyId = d.keyId;
        uint96 claimedSoFar = 0;
        if (keyId == 0) {
            Reserve storage res = _reserves[payer];
            keyId = res.keyCount < 2 ? 2 : res.keyCount + 1;
            res.keyCount = keyId;
            _keyOf[payer][keyId] = key;
        } else if (_delegationUsable(d, epoch, round)) {
            require(d.revokeRound == 0, "delegation revocation in progress");
            require(
                (payee == d.payee || payee == address(0)) && cap96 >= d.cap && until32 >= d.validUntilRound,
                "live delegation can only be widened"
            );
            claimedSoFar = d.claimed;
        }
        d.payee = payee;
        d.keyId = keyId;
        d.epoch = epoch;
        d.cap = cap96;
        d.claimed = claimedSoFar;
        d.validUntilRound = until32;
        d.revokeRound = 0;
        emit DelegationRegistered(payer, key, payee, cap, validUntilRound, epoch, keyId);
    }

    function _delegationUsable(Delegation storage d, uint64 epoch, uint256 round) private view returns (bool) {
        return d.keyId != 0 && d.epoch == epoch && round <= d.validUntilRound
            && (d.revokeRound == 0 || round < d.revokeRound);
    }

    // ------------------------------------------------------------------ claims

    /// @notice Claims one voucher for `payee` (caller: the payee or its redeemer). Reverts with the
    /// reason when the voucher cannot be claimed; pays `min(newClaimed - claimed, available)`.
    function claim(address payee, address payer, uint64 epoch, VoucherClaim calldata v)
        external
        returns (uint256 paid)
    {
        Ctx memory ctx = _begin(payee);
        Payer memory p = _openGroup(payer, epoch, ctx);
        uint8 status = _groupStatus(p, ctx);
        if (status == OK) {
            uint256 at;
            assembly {
                at := v
            }
            bool done;
            (status, paid, done) = _claimFast(at, ctx);
            if (!done) (status, paid) = _claimGeneral(at, ctx);
        }
        if (status != OK) revert(_reasonString(status));
        if (ctx.deposit != p.deposit) _payers[payer].deposit = uint128(ctx.deposit);
        _pay(payee, paid);
    }

    /// @notice Claims many vouchers for `payee`, grouped by payer. Entries fail independently
    /// (`VoucherClaimFailed`, no state change); the total is sent to the payee in one transfer.
    function claimBatch(address payee, PayerClaims[] calldata batches) external returns (uint256 totalPaid) {
        Ctx memory ctx = _begin(payee);
        for (uint256 g = 0; g < batches.length; ++g) {
            totalPaid += _claimGroup(batches[g], ctx);
        }
        _pay(payee, totalPaid);
    }

    /// One payer's vouchers: its slot is read once and written once.
    function _claimGroup(PayerClaims calldata b, Ctx memory ctx) private returns (uint256 groupPaid) {
        Payer memory p = _openGroup(b.payer, b.epoch, ctx);
        uint8 groupStatus = _groupStatus(p, ctx);
        VoucherClaim[] calldata vs = b.vouchers; // the ABI decoder checks that it lies within calldata
        uint256 end;
        uint256 v;
        assembly {
            v := vs.offset
            end := add(v, mul(vs.length, 0xe0))
        }
        // Sums of paid amounts are bounded by the ETH this contract holds: no overflow.
        unchecked {
            for (; v < end; v += 0xe0) {
                uint8 status = groupStatus;
                uint256 paid;
                if (status == OK) {
                    bool done;
                    (status, paid, done) = _claimFast(v, ctx);
                    if (!done) (status, paid) = _claimGeneral(v, ctx);
                }
                if (status == OK) groupPaid += paid;
                else _emitFailed(v, ctx, status);
            }
        }
        if (ctx.deposit != p.deposit) _payers[ctx.payer].deposit = uint128(ctx.deposit);
    }

    function _openGroup(address payer, uint64 epoch, Ctx memory ctx) private view returns (Payer memory p) {
        p = _payers[payer];
        ctx.payer = payer;
        ctx.epoch = epoch;
        ctx.deposit = p.deposit;
    }

    function _begin(address payee) private view returns (Ctx memory ctx) {
        require(
            msg.sender == payee || (msg.sender == _redeemers[payee] && msg.sender != address(0)),
            "caller is not the payee or its redeemer"
        );
        ctx.payee = payee;
        ctx.separator = domainSeparator();
        ctx.round = NO_ROUND;
    }

    function _groupStatus(Payer memory p, Ctx memory ctx) private view returns (uint8) {
        if (ctx.epoch != p.epoch) return EPOCH_NOT_CURRENT;
        // Locked iff withdrawRound == 0 || currentRound < withdrawRound (Livepeer's isLocked).
        if (p.withdrawRound != 0 && _round(ctx) >= p.withdrawRound) return PAYER_UNLOCKED;
        return OK;
    }

    /// Finishes a claim `_claimFast` left to the general path (a delegated key, a ticket bound to
    /// a key, or a deposit too small): checks the key, then pays what is available of what is
    /// asked (deposit first, then this payee's reserve allocation). Any status other than OK leaves
    /// every state untouched.
    function _claimGeneral(uint256 v, Ctx memory ctx) private returns (uint8 status, uint256 paid) {
        uint256 limit;
        (status, limit) = _authorize(ctx);
        if (status != OK) return (status, 0);
        uint256 deposit = ctx.deposit;
        if (limit <= deposit) {
            paid = limit;
            unchecked {
                ctx.deposit = deposit - limit;
            }
        } else {
            ctx.deposit = 0;
            paid = deposit + _claimFromReserve(ctx.payer, limit - deposit, ctx);
        }
        _record(v, ctx, paid);
    }

    /// Checks the amounts, loads the ticket and recovers the signer. When the payer signed, the
    /// ticket is unbound or bound to the payer and the deposit covers the claim, it also pays,
    /// stores and logs (done = true): one keccak for the ticket slot, two for the EIP-712 digest,
    /// ecrecover, one SLOAD, one SSTORE, one LOG3. Otherwise (done = false, status OK) it leaves the
    /// ticket and signer in ctx for the general path.
    function _claimFast(uint256 v, Ctx memory ctx) private returns (uint8 status, uint256 paid, bool done) {
        bytes32 typeHash = VOUCHER_TYPEHASH;
        bytes32 topic0 = VoucherClaimed.selector;
        assembly ("memory-safe") {
            done := 1
            for {} 1 {} {
                let m := mload(0x40)
                let cumulative := calldataload(add(v, 0x20))
                {
                    let newClaimed := calldataload(add(v, 0x40))
                    if shr(128, or(newClaimed, cumulative)) { revert(0, 0) } // uint128 fields (ABI check)
                    if gt(newClaimed, cumulative) {
                        status := EXCEEDS_CUMULATIVE
                        break
                    }
                    // Tickets 2k and 2k+1 share a slot: keccak(payer, payee, epoch, k, mapping slot).
                    mstore(m, mload(add(ctx, C_PAYER)))
                    mstore(add(m, 0x20), mload(add(ctx, C_PAYEE)))
                    mstore(add(m, 0x40), mload(add(ctx, C_EPOCH)))
                    mstore(add(m, 0x60), shr(1, calldataload(v)))
                    mstore(add(m, 0x80), _ticketPairs.slot)
                    let slot := keccak256(m, 0xa0)
                    let word := sload(slot)
                    let lane := and(shr(shl(7, and(calldataload(v), 1)), word), MASK128)
                    let claimedBefore := and(lane, MASK96)
                    if iszero(gt(newClaimed, claimedBefore)) {
                        status := NOTHING_TO_CLAIM
                        break
                    }
                    mstore(add(ctx, C_SLOT), slot)
                    mstore(add(ctx, C_WORD), word)
                    mstore(add(ctx, C_LANE), lane)
                    mstore(add(ctx, C_REQUESTED), sub(newClaimed, claimedBefore))
                }
                // EIP-712: keccak(0x1901 ‖ separator ‖ keccak(typeHash, payer, payee, ticketId, epoch, cumulative, context))
                mstore(m, typeHash)
                mstore(add(m, 0x20), mload(add(ctx, C_PAYER)))
                mstore(add(m, 0x40), mload(add(ctx, C_PAYEE)))
                mstore(add(m, 0x60), calldataload(v))
                mstore(add(m, 0x80), mload(add(ctx, C_EPOCH)))
                mstore(add(m, 0xa0), cumulative)
                mstore(add(m, 0xc0), calldataload(add(v, 0x60)))
                mstore(add(m, 0x22), keccak256(m, 0xe0))
                mstore(m, 0x1901000000000000000000000000000000000000000000000000000000000000)
                mstore(add(m, 0x02), mload(add(ctx, C_SEPARATOR)))
                mstore(m, keccak256(m, 0x42))
                // EIP-2098 (r, vs): low s only; v = 27 + top bit of vs.
                {
                    let vs := calldataload(add(v, 0xa0))
                    let s := and(vs, S_MASK)
                    if gt(s, HALF_ORDER) {
                        status := INVALID_SIGNATURE
                        break
                    }
                    mstore(add(m, 0x20), add(shr(255, vs), 27))
                    mstore(add(m, 0x40), calldataload(add(v, 0x80)))
                    mstore(add(m, 0x60), s)
                }
                mstore(0x00, 0)
                pop(staticcall(gas(), 0x01, m, 0x80, 0x00, 0x20))
                let signer := mload(0x00)
                if iszero(signer) {
                    status := INVALID_SIGNATURE
                    break
                }
                let lane := mload(add(ctx, C_LANE))
                let requested := mload(add(ctx, C_REQUESTED))
                let deposit := mload(add(ctx, C_DEPOSIT))
                // Pay at most what keeps the lane within 96 bits (more wei than exists).
                let want := sub(MASK96, and(lane, MASK96))
                if lt(requested, want) { want := requested }
                if or(or(iszero(eq(signer, mload(add(ctx, C_PAYER)))), gt(shr(96, lane), KEY_ID_PAYER)), gt(want, deposit)) {
                    mstore(add(ctx, C_SIGNER), signer)
                    done := 0
                    break
                }
                paid := want
                mstore(add(ctx, C_DEPOSIT), sub(deposit, want))
                // claimed advances by what was paid; the payer binding is written with the first claim.
                let newLane := or(shl(96, KEY_ID_PAYER), add(and(lane, MASK96), want))
                if iszero(eq(newLane, lane)) {
                    let shift := shl(7, and(calldataload(v), 1))
                    let word := and(mload(add(ctx, C_WORD)), not(shl(shift, MASK128)))
                    sstore(mload(add(ctx, C_SLOT)), or(word, shl(shift, newLane)))
                }
                // emit VoucherClaimed(payer, payee, ticketId, epoch, requested, paid, shortfall, receiptsRoot)
                mstore(m, calldataload(v))
                mstore(add(m, 0x20), mload(add(ctx, C_EPOCH)))
                mstore(add(m, 0x40), requested)
                mstore(add(m, 0x60), want)
                mstore(add(m, 0x80), sub(requested, want))
                mstore(add(m, 0xa0), calldataload(add(v, 0xc0)))
                log3(m, 0xc0, topic0, mload(add(ctx, C_PAYER)), mload(add(ctx, C_PAYEE)))
                break
            }
        }
    }

    /// Who may sign: the payer, or a delegated key (bounded by its cap); one key per ticket.
    /// Sets ctx.keyId; returns how much to pay if available.
    function _authorize(Ctx memory ctx) private view returns (uint8 status, uint256 limit) {
        uint256 lane = ctx.lane;
        uint256 keyId = lane >> 96;
        unchecked {
            limit = MASK96 - (lane & MASK96); // the stored width (more wei than exists)
        }
        if (ctx.signer == ctx.payer) {
            if (keyId > KEY_ID_PAYER) return (TICKET_BOUND_TO_OTHER_KEY, 0);
            keyId = KEY_ID_PAYER;
        } else {
            uint256 capLeft;
            (status, keyId, capLeft) = _checkDelegation(ctx.signer, keyId, ctx);
            if (status != OK) return (status, 0);
            if (capLeft < limit) limit = capLeft;
        }
        ctx.keyId = keyId;
        uint256 requested = ctx.requested;
        if (requested < limit) limit = requested;
    }

    /// Advances the ticket by what was paid (binding its key with the first claim), charges the
    /// key's cap and emits VoucherClaimed.
    function _record(uint256 v, Ctx memory ctx, uint256 paid) private {
        if (ctx.keyId > KEY_ID_PAYER && paid > 0) _delegations[ctx.payer][ctx.signer].claimed += uint96(paid);
        bytes32 topic0 = VoucherClaimed.selector;
        assembly ("memory-safe") {
            let lane := mload(add(ctx, C_LANE))
            let newLane := or(shl(96, mload(add(ctx, C_KEY_ID))), add(and(lane, MASK96), paid))
            if iszero(eq(newLane, lane)) {
                let shift := shl(7, and(calldataload(v), 1))
                let word := and(mload(add(ctx, C_WORD)), not(shl(shift, MASK128)))
                sstore(mload(add(ctx, C_SLOT)), or(word, shl(shift, newLane)))
            }
            // emit VoucherClaimed(payer, payee, ticketId, epoch, requested, paid, shortfall, receiptsRoot)
            let requested := mload(add(ctx, C_REQUESTED))
            let m := mload(0x40)
            mstore(m, calldataload(v))
            mstore(add(m, 0x20), mload(add(ctx, C_EPOCH)))
            mstore(add(m, 0x40), requested)
            mstore(add(m, 0x60), paid)
            mstore(add(m, 0x80), sub(requested, paid))
            mstore(add(m, 0xa0), calldataload(add(v, 0xc0)))
            log3(m, 0xc0, topic0, mload(add(ctx, C_PAYER)), mload(add(ctx, C_PAYEE)))
        }
    }

    function _emitFailed(uint256 v, Ctx memory ctx, uint8 status) private {
        uint256 ticketId;
        uint256 newClaimed;
        bytes32 receiptsRoot;
        assembly {
            ticketId := calldataload(v)
            newClaimed := calldataload(add(v, 0x40))
            receiptsRoot := calldataload(add(v, 0xc0))
        }
        emit VoucherClaimFailed(ctx.payer, ctx.payee, ticketId, uint64(ctx.epoch), newClaimed, receiptsRoot, status);
    }

    /// Storage slot of the pair of tickets (2k, 2k+1) holding `ticketId`, and the lane's bit offset.
    /// One keccak over (payer, payee, epoch, pair, mapping slot): 160-byte preimages cannot collide
    /// with Solidity's 64-byte mapping preimages.
    function _ticketSlot(address payer, address payee, uint64 epoch, uint256 ticketId)
        private
        pure
        returns (uint256 slot, uint256 shift)
    {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, payer)
            mstore(add(m, 0x20), payee)
            mstore(add(m, 0x40), epoch)
            mstore(add(m, 0x60), shr(1, ticketId))
            mstore(add(m, 0x80), _ticketPairs.slot)
            slot := keccak256(m, 0xa0)
            shift := shl(7, and(ticketId, 1))
        }
    }

    function _loadLane(uint256 slot, uint256 shift) private view returns (uint256 lane) {
        assembly ("memory-safe") {
            lane := and(shr(shift, sload(slot)), 0xffffffffffffffffffffffffffffffff)
        }
    }

    /// A voucher signed by a delegated key: returns the key id it binds the ticket to and its cap left.
    function _checkDelegation(address signer, uint256 ticketKeyId, Ctx memory ctx)
        private
        view
        returns (uint8, uint256 keyId, uint256 capLeft)
    {
        Delegation memory d = _delegations[ctx.payer][signer]; // two SLOADs
        keyId = d.keyId;
        if (keyId == 0) return (SIGNER_NOT_AUTHORIZED, 0, 0);
        if (ticketKeyId != 0 && ticketKeyId != keyId) return (TICKET_BOUND_TO_OTHER_KEY, 0, 0);
        if (d.epoch != ctx.epoch) return (DELEGATION_OTHER_EPOCH, 0, 0);
        if (d.payee != address(0) && d.payee != ctx.payee) return (DELEGATION_PAYEE_MISMATCH, 0, 0);
        if (d.validUntilRound != type(uint32).max || d.revokeRound != 0) {
            uint256 round = _round(ctx);
            if (round > d.validUntilRound) return (DELEGATION_EXPIRED, 0, 0);
            if (d.revokeRound != 0 && round >= d.revokeRound) return (DELEGATION_REVOKED, 0, 0);
        }
        return (OK, keyId, uint256(d.cap) - d.claimed);
    }

    /// Livepeer's claimFromReserve with max(poolSize, poolMaxSize) and a cap at the funds left.
    function _claimFromReserve(address payer, uint256 amount, Ctx memory ctx) private returns (uint256 amt) {
        uint256 round = _round(ctx);
        amt = _claimableReserve(payer, ctx.payee, round, ctx);
        if (amount < amt) amt = amount;
        if (amt == 0) return 0;
        _claimedForRound[payer][round] += amt;
        _claimedByPayee[payer][round][ctx.payee] += amt;
        _reserves[payer].funds -= uint128(amt);
        emit ReserveClaimed(payer, ctx.payee, amt);
    }

    function _claimableReserve(address payer, address payee, uint256 round, Ctx memory ctx)
        private
        view
        returns (uint256)
    {
        if (!ctx.activeKnown) {
            ctx.activeKnown = true;
            ctx.active = orchestratorRegistry.isActiveTranscoder(payee);
            if (ctx.active) {
                uint256 size = orchestratorRegistry.getTranscoderPoolSize();
                uint256 maxSize = orchestratorRegistry.getTranscoderPoolMaxSize();
                ctx.pool = size > maxSize ? size : maxSize;
            }
        }
        if (!ctx.active || ctx.pool == 0) return 0;
        uint256 funds = _reserves[payer].funds;
        if (funds == 0) return 0;
        uint256 allocation = (funds + _claimedForRound[payer][round]) / ctx.pool;
        uint256 used = _claimedByPayee[payer][round][payee];
        if (allocation <= used) return 0;
        uint256 left = allocation - used;
        return left < funds ? left : funds;
    }

    function _round(Ctx memory ctx) private view returns (uint256 round) {
        round = ctx.round;
        if (round == NO_ROUND) {
            round = roundsManager.currentRound();
            ctx.round = round;
        }
    }

    function _pay(address payee, uint256 amount) private {
        if (amount == 0) return;
        (bool ok,) = payable(payee).call{value: amount}("");
        require(ok, "ETH transfer failed");
    }

    // ------------------------------------------------------------------ views

    /// @notice Deposit, reserve funds, withdraw round (0 = locked) and epoch of `payer`.
    function getPayerInfo(address payer)
        external
        view
        returns (uint256 deposit, uint256 reserve, uint256 withdrawRound, uint64 epoch)
    {
        Payer memory p = _payers[payer];
        return (p.deposit, _reserves[payer].funds, p.withdrawRound, p.epoch);
    }

    /// @notice Livepeer's `isUnlockInProgress`.
    function isUnlockInProgress(address payer) external view returns (bool) {
        return _payers[payer].withdrawRound > 0;
    }

    /// @notice What was already paid on a ticket.
    function claimed(address payer, address payee, uint64 epoch, uint256 ticketId) external view returns (uint256) {
        return _lane(payer, payee, epoch, ticketId) & MASK96;
    }

    /// @notice The key a ticket is bound to (the payer or a delegated key; 0 before its first claim).
    function ticketSigner(address payer, address payee, uint64 epoch, uint256 ticketId)
        external
        view
        returns (address)
    {
        uint256 keyId = _lane(payer, payee, epoch, ticketId) >> 96;
        if (keyId == 0) return address(0);
        if (keyId == KEY_ID_PAYER) return payer;
        return _keyOf[payer][keyId];
    }

    /// @notice The reserve `claimant` can claim from `reserveHolder` in the current round now.
    function claimableReserve(address reserveHolder, address claimant) external view returns (uint256) {
        Ctx memory ctx;
        ctx.payee = claimant;
        return _claimableReserve(reserveHolder, claimant, roundsManager.currentRound(), ctx);
    }

    /// @notice Reserve already claimed by `claimant` from `reserveHolder` in the current round.
    function claimedReserve(address reserveHolder, address claimant) external view returns (uint256) {
        return _claimedByPayee[reserveHolder][roundsManager.currentRound()][claimant];
    }

    /// @notice The delegation of `key` by `payer` (keyId 0 = none).
    function getDelegation(address payer, address key) external view returns (DelegationInfo memory info) {
        Delegation storage d = _delegations[payer][key];
        info.payee = d.payee;
        info.cap = d.cap;
        info.claimed = d.claimed;
        info.validUntilRound = d.validUntilRound;
        info.epoch = d.epoch;
        info.revokeRound = d.revokeRound;
        info.keyId = d.keyId;
        info.usable = _delegationUsable(d, _payers[payer].epoch, roundsManager.currentRound());
    }

    /// @notice True once a signed delegation with this digest was registered.
    function isDelegationDigestUsed(bytes32 digest) external view returns (bool) {
        return _usedDelegationDigests[digest];
    }

    /// @notice The EIP-712 domain separator (recomputed if the chain id changed since deployment).
    function domainSeparator() public view returns (bytes32) {
        return block.chainid == _cachedChainId ? _cachedDomainSeparator : _buildDomainSeparator();
    }

    /// @notice EIP-5267 domain description (read by viem's getEip712Domain).
    function eip712Domain()
        external
        view
        returns (
            bytes1 fields,
            string memory name,
            string memory version,
            uint256 chainId,
            address verifyingContract,
            bytes32 salt,
            uint256[] memory extensions
        )
    {
        return (
            hex"0f", "livepay PersistentTicketBroker", "1", block.chainid, address(this), bytes32(0), new uint256[](0)
        );
    }

    /// @notice The EIP-712 digest a payer (or its key) signs for a voucher.
    function hashVoucher(
        address payer,
        address payee,
        uint256 ticketId,
        uint64 epoch,
        uint128 cumulativeAmount,
        bytes32 context
    ) external view returns (bytes32) {
        return _voucherDigest(payer, payee, ticketId, epoch, cumulativeAmount, context);
    }

    /// @notice The EIP-712 digest a payer signs for `registerDelegationWithSig`.
    function hashDelegation(
        address payer,
        address key,
        address payee,
        uint128 cap,
        uint64 validUntilRound,
        uint64 epoch
    ) public view returns (bytes32) {
        bytes32 structHash = keccak256(abi.encode(DELEGATION_TYPEHASH, payer, key, payee, cap, validUntilRound, epoch));
        return keccak256(abi.encodePacked(hex"1901", domainSeparator(), structHash));
    }

    // ------------------------------------------------------------------ hashing and signatures

    function _buildDomainSeparator() private view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, block.chainid, address(this)));
    }

    function _voucherDigest(
        address payer,
        address payee,
        uint256 ticketId,
        uint64 epoch,
        uint256 cumulativeAmount,
        bytes32 context
    ) private view returns (bytes32) {
        bytes32 structHash =
            keccak256(abi.encode(VOUCHER_TYPEHASH, payer, payee, ticketId, epoch, cumulativeAmount, context));
        return keccak256(abi.encodePacked(hex"1901", domainSeparator(), structHash));
    }

    /// 65-byte r ‖ s ‖ v signature with v in {27, 28} and low s; reverts on malformed input.
    function _recoverStrict(bytes32 digest, bytes calldata sig) private pure returns (address signer) {
        require(sig.length == 65, "INVALID_SIGNATURE_LENGTH");
        bytes32 r = bytes32(sig[0:32]);
        bytes32 s = bytes32(sig[32:64]);
        uint8 v = uint8(sig[64]);
        require(uint256(s) <= HALF_ORDER, "invalid signature 's' value");
        require(v == 27 || v == 28, "invalid signature 'v' value");
        signer = ecrecover(digest, v, r, s);
        require(signer != address(0), "invalid signature");
    }

    function _lane(address payer, address payee, uint64 epoch, uint256 ticketId) private view returns (uint256) {
        (uint256 slot, uint256 shift) = _ticketSlot(payer, payee, epoch, ticketId);
        return _loadLane(slot, shift);
    }

    function _reasonString(uint8 status) private pure returns (string memory) {
        if (status == EPOCH_NOT_CURRENT) return "voucher epoch is not the payer's epoch";
        if (status == PAYER_UNLOCKED) return "sender is unlocked";
        if (status == EXCEEDS_CUMULATIVE) return "newClaimed exceeds cumulativeAmount";
        if (status == NOTHING_TO_CLAIM) return "nothing to claim";
        if (status == INVALID_SIGNATURE) return "invalid voucher signature";
        if (status == SIGNER_NOT_AUTHORIZED) return "voucher signer is not the payer or a delegated key";
        if (status == TICKET_BOUND_TO_OTHER_KEY) return "ticket is bound to another key";
        if (status == DELEGATION_OTHER_EPOCH) return "delegation is from another epoch";
        if (status == DELEGATION_PAYEE_MISMATCH) return "delegation is for another payee";
        if (status == DELEGATION_EXPIRED) return "delegation expired";
        return "delegation revoked";
    }

    function _toUint128(uint256 v) private pure returns (uint128) {
        require(v <= type(uint128).max, "amount exceeds uint128");
        return uint128(v);
    }

    function _toUint64(uint256 v) private pure returns (uint64) {
        require(v <= type(uint64).max, "round exceeds uint64");
        return uint64(v);
    }

    function _toUint32(uint256 v) private pure returns (uint32) {
        require(v <= type(uint32).max, "round exceeds uint32");
        return uint32(v);
    }
}
