// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {IOrchestratorRegistry} from "./interfaces/IOrchestratorRegistry.sol";

/// @title OrchestratorRegistry (livepay devnet)
/// @notice A minimal stand-in for Livepeer's BondingManager (active set) and ServiceRegistry
/// (service URIs), with the same view names, so discovery and the brokers run unchanged against the
/// devnet and against Arbitrum One.
///
/// Stake: an orchestrator stakes its own ETH, sent with `register` / `increaseStake` and held by this
/// contract until `unbond` returns it. There is no delegation, no reward, no slashing and hence no
/// unbonding delay.
///
/// Active set ("active" / "in the pool"): the registered, non-deactivated orchestrators with the
/// `poolMaxSize` highest stakes, ties ordered by who reached that stake first. Membership is
/// IMMEDIATE: every register, stake change, deactivation or unbond takes effect in the same
/// transaction, and an orchestrator that falls out of the top `poolMaxSize` leaves the pool at once
/// (and re-enters automatically when a place frees up). Livepeer instead activates and deactivates
/// transcoders at round boundaries; code that needs a stable set within a round must snapshot it.
/// `JoinedPool` / `LeftPool` are emitted for every change of membership.
/// @dev The candidates form a doubly linked list sorted by stake (descending). The pool is its first
/// `min(poolMaxSize, count)` nodes; `_lastInPool` marks the boundary, so every view is O(1) and a
/// write walks the list once to find its insertion point (acceptable on a devnet).
contract OrchestratorRegistry is IOrchestratorRegistry {
    event OrchestratorRegistered(address indexed orchestrator, uint256 stake, string serviceURI);
    event StakeUpdated(address indexed orchestrator, uint256 stake);
    event OrchestratorDeactivated(address indexed orchestrator);
    event OrchestratorReactivated(address indexed orchestrator);
    event OrchestratorUnregistered(address indexed orchestrator);
    event JoinedPool(address indexed orchestrator);
    event LeftPool(address indexed orchestrator);
    /// @notice Livepeer ServiceRegistry's event.
    event ServiceURIUpdate(address indexed addr, string serviceURI);

    struct Node {
        // slot 0: all an insertion walk reads
        uint96 stake;
        address next;
        // slot 1
        address prev;
        bool registered;
        bool candidate; // registered and not deactivated: linked into the sorted list
        bool inPool;
    }

    /// @notice The largest number of orchestrators in the active set.
    uint256 public immutable poolMaxSize;

    mapping(address => Node) private _nodes;
    mapping(address => string) private _serviceURIs;
    address private _head;
    address private _tail;
    address private _lastInPool;
    uint256 private _candidates;

    /// @param poolMaxSize_ size of the active set (Livepeer uses 100).
    constructor(uint256 poolMaxSize_) {
        require(poolMaxSize_ > 0, "pool max size must be greater than 0");
        poolMaxSize = poolMaxSize_;
    }

    // ------------------------------------------------------------------ writes

    /// @notice Registers the caller with `msg.value` as stake and joins the candidates.
    function register(string calldata serviceURI) external payable {
        Node storage n = _nodes[msg.sender];
        require(!n.registered, "orchestrator already registered");
        require(msg.value > 0, "stake must be greater than 0");
        n.registered = true;
        n.stake = _toUint96(msg.value);
        _serviceURIs[msg.sender] = serviceURI;
        emit OrchestratorRegistered(msg.sender, msg.value, serviceURI);
        emit ServiceURIUpdate(msg.sender, serviceURI);
        _join(msg.sender);
    }

    /// @notice Adds `msg.value` to the caller's stake (and re-sorts it).
    function increaseStake() external payable {
        Node storage n = _nodes[msg.sender];
        require(n.registered, "orchestrator not registered");
        require(msg.value > 0, "stake must be greater than 0");
        uint96 stake = _toUint96(uint256(n.stake) + msg.value);
        _restake(msg.sender, stake);
    }

    /// @notice Returns `amount` of the caller's stake to it. Unbonding everything unregisters.
    function unbond(uint256 amount) external {
        Node storage n = _nodes[msg.sender];
        require(n.registered, "orchestrator not registered");
        require(amount > 0, "amount must be greater than 0");
        require(amount <= n.stake, "amount exceeds stake");
        uint96 stake = n.stake - uint96(amount);
        if (stake == 0) {
            if (n.candidate) _leave(msg.sender);
            delete _nodes[msg.sender];
            delete _serviceURIs[msg.sender];
            emit StakeUpdated(msg.sender, 0);
            emit OrchestratorUnregistered(msg.sender);
        } else {
            _restake(msg.sender, stake);
        }
        (bool ok,) = payable(msg.sender).call{value: amount}("");
        require(ok, "stake transfer failed");
    }

    /// @notice Leaves the candidates (and the pool) while keeping stake and registration.
    function deactivate() external {
        Node storage n = _nodes[msg.sender];
        require(n.registered, "orchestrator not registered");
        require(n.candidate, "orchestrator already deactivated");
        _leave(msg.sender);
        emit OrchestratorDeactivated(msg.sender);
    }

    /// @notice Rejoins the candidates after `deactivate`.
    function reactivate() external {
        Node storage n = _nodes[msg.sender];
        require(n.registered, "orchestrator not registered");
        require(!n.candidate, "orchestrator already active");
        _join(msg.sender);
        emit OrchestratorReactivated(msg.sender);
    }

    /// @notice Livepeer ServiceRegistry: any address may publish its service URI.
    function setServiceURI(string calldata serviceURI) external {
        _serviceURIs[msg.sender] = serviceURI;
        emit ServiceURIUpdate(msg.sender, serviceURI);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IOrchestratorRegistry
    function isActiveTranscoder(address transcoder) external view override returns (bool) {
        return _nodes[transcoder].inPool;
    }

    /// @notice True while `transcoder` has stake here (active, waiting or deactivated).
    function isRegisteredTranscoder(address transcoder) external view returns (bool) {
        return _nodes[transcoder].registered;
    }

    /// @inheritdoc IOrchestratorRegistry
    function getTranscoderPoolSize() public view override returns (uint256) {
        uint256 c = _candidates;
        return c < poolMaxSize ? c : poolMaxSize;
    }

    /// @inheritdoc IOrchestratorRegistry
    function getTranscoderPoolMaxSize() external view override returns (uint256) {
        return poolMaxSize;
    }

    /// @inheritdoc IOrchestratorRegistry
    function getFirstTranscoderInPool() external view override returns (address) {
        return _head;
    }

    /// @inheritdoc IOrchestratorRegistry
    /// @dev Zero for the last pool member and for addresses not in the pool.
    function getNextTranscoderInPool(address transcoder) external view override returns (address) {
        Node storage n = _nodes[transcoder];
        if (!n.inPool || transcoder == _lastInPool) return address(0);
        return n.next;
    }

    /// @notice Livepeer ServiceRegistry: the URI an address published ("" if none).
    function getServiceURI(address addr) external view returns (string memory) {
        return _serviceURIs[addr];
    }

    /// @notice The orchestrator's stake in wei (Livepeer: total bonded stake of a transcoder).
    function transcoderTotalStake(address transcoder) external view returns (uint256) {
        return _nodes[transcoder].stake;
    }

    /// @notice The active set in pool order (highest stake first) with stakes, for discovery.
    function getPool() external view returns (address[] memory orchestrators, uint256[] memory stakes) {
        uint256 size = getTranscoderPoolSize();
        orchestrators = new address[](size);
        stakes = new uint256[](size);
        address cur = _head;
        for (uint256 i = 0; i < size; ++i) {
            orchestrators[i] = cur;
            stakes[i] = _nodes[cur].stake;
            cur = _nodes[cur].next;
        }
    }

    // ------------------------------------------------------------------ list maintenance

    function _join(address a) private {
        address demoted = _insert(a);
        if (_nodes[a].inPool) emit JoinedPool(a);
        if (demoted != address(0)) emit LeftPool(demoted);
    }

    function _leave(address a) private {
        bool wasIn = _nodes[a].inPool;
        address promoted = _remove(a);
        if (wasIn) emit LeftPool(a);
        if (promoted != address(0)) emit JoinedPool(promoted);
    }

    /// Sets a new stake and re-sorts; emits only the net membership changes.
    function _restake(address a, uint96 stake) private {
        Node storage n = _nodes[a];
        if (!n.candidate) {
            n.stake = stake;
            emit StakeUpdated(a, stake);
            return;
        }
        bool wasIn = n.inPool;
        address promoted = _remove(a);
        n.stake = stake;
        address demoted = _insert(a);
        emit StakeUpdated(a, stake);
        if (wasIn != n.inPool) {
            if (n.inPool) emit JoinedPool(a);
            else emit LeftPool(a);
        }
        // A node promoted by the removal and demoted by the re-insertion did not change.
        if (promoted != demoted) {
            if (promoted != address(0)) emit JoinedPool(promoted);
            if (demoted != address(0)) emit LeftPool(demoted);
        }
    }

    /// Links `a` after every node with stake >= its own; returns the node pushed out of the pool.
    function _insert(address a) private returns (address demoted) {
        Node storage n = _nodes[a];
        uint96 stake = n.stake;
        uint256 rank = 0;
        address prev = address(0);
        address cur = _head;
        while (cur != address(0) && _nodes[cur].stake >= stake) {
            prev = cur;
            cur = _nodes[cur].next;
            ++rank;
        }
        n.prev = prev;
        n.next = cur;
        if (prev == address(0)) _head = a;
        else _nodes[prev].next = a;
        if (cur == address(0)) _tail = a;
        else _nodes[cur].prev = a;
        n.candidate = true;

        uint256 before = _candidates;
        _candidates = before + 1;
        uint256 max = poolMaxSize;
        if (rank >= max) return address(0);
        n.inPool = true;
        if (before < max) {
            // The pool grows: every candidate is in it.
            _lastInPool = _tail;
        } else {
            // The old last member now has rank `max`: it leaves, its predecessor becomes the boundary.
            demoted = _lastInPool;
            _nodes[demoted].inPool = false;
            _lastInPool = _nodes[demoted].prev;
        }
    }

    /// Unlinks `a`; returns the node that moved into the pool to replace it, if any.
    function _remove(address a) private returns (address promoted) {
        Node storage n = _nodes[a];
        uint256 before = _candidates;
        if (n.inPool) {
            if (before > poolMaxSize) {
                promoted = _nodes[_lastInPool].next;
                _nodes[promoted].inPool = true;
                _lastInPool = promoted;
            } else if (a == _lastInPool) {
                _lastInPool = n.prev; // everyone is in the pool: the boundary is the new tail
            }
        }
        address prev = n.prev;
        address next = n.next;
        if (prev == address(0)) _head = next;
        else _nodes[prev].next = next;
        if (next == address(0)) _tail = prev;
        else _nodes[next].prev = prev;
        n.prev = address(0);
        n.next = address(0);
        n.candidate = false;
        n.inPool = false;
        _candidates = before - 1;
    }

    function _toUint96(uint256 v) private pure returns (uint96) {
        require(v <= type(uint96).max, "stake exceeds uint96");
        return uint96(v);
    }
}
