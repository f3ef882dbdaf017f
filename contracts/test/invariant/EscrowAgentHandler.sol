// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm} from "forge-std/Vm.sol";

import {Escrow} from "../../src/Escrow.sol";
import {IAgentKeys} from "../../src/interfaces/IAgentKeys.sol";
import {IEscrow} from "../../src/interfaces/IEscrow.sol";
import {TestUSDC} from "../../src/TestUSDC.sol";
import {AttestationVerifier} from "../../src/testing/AttestationVerifier.sol";
import {AgentKeyGrant} from "../../src/types/AgentKeyGrant.sol";
import {AgentPair, AgentSettlement} from "../../src/types/AgentSettlement.sol";
import {Pair, Settlement} from "../../src/types/Settlement.sol";
import {EscrowHandler} from "./EscrowHandler.sol";

/// @notice `EscrowHandler` plus agent keys: payers authorize keys (scoped to one payee or any, with
/// validity windows in the past, present and future), revoke them and lower their caps; agent
/// settlements (fresh, stale, over the cap, out of scope, unknown keys, from any sender) and mixed
/// `settleMany` calls run against the same balances. Every `AgentPairSettled` is checked, when it
/// happens, against the handler's own model of the key: its payee scope, validity, revocation and
/// cap in effect at that second, and its (key, payee) nonce chain.
contract EscrowAgentHandler is EscrowHandler {
    uint32 internal constant AGENT_VERIFIER_ID = 2;
    /// Acceptable compressed keys (B, -B, 2B); which one a key uses does not matter to the escrow.
    bytes32[3] internal KEYS = [
        bytes32(0x8b7d2d877a253c4b7733e1b91f05e0fcedf96bd11c2e572549b2a0f703727925),
        bytes32(0x8b7d2d877a253c4b7733e1b91f05e0fcedf96bd11c2e572549b2a0f7037279a5),
        bytes32(0x53686d2b4005178e1843106f2992a867a01d8a84afbe9e8bda300abfaf6c6601)
    ];

    AttestationVerifier public immutable agentVerifier;

    /// The handler's model of each key, from its own calls (index = keyId - 1).
    struct KeyModel {
        uint256 payerIndex;
        address scope;
        uint64 validAfter;
        uint64 validUntil;
        uint128 grantCap;
        uint128 cap;
        uint128 pendingCap;
        uint64 pendingCapAt;
        uint64 revokeAt;
        uint128 spent;
    }

    KeyModel[] internal _keys;
    mapping(uint64 keyId => mapping(address payee => uint64)) public ghostAgentLastTo;
    uint256 public ghostAgentSettledPairs;
    uint256 public ghostAgentSkippedPairs;
    /// Set if an agent pair was paid beyond its key's cap in effect, outside its scope, outside its
    /// validity, at or after its revocation's effect, or out of its (key, payee) nonce chain.
    bool public ghostAgentCapBroken;
    bool public ghostAgentOutOfScope;
    bool public ghostAgentOutsideValidity;
    bool public ghostAgentAfterRevocation;
    bool public ghostAgentBrokenChain;

    bytes32 internal constant AGENT_PAIR_SETTLED =
        keccak256("AgentPairSettled(uint64,address,address,uint64,uint64,uint128)");
    bytes32 internal constant AGENT_PAIR_SKIPPED = keccak256("AgentPairSkipped(uint64,address,uint64,uint8)");

    constructor(
        Escrow escrow_,
        TestUSDC token_,
        AttestationVerifier verifier_,
        AttestationVerifier agentVerifier_,
        uint256 attesterKey_
    ) EscrowHandler(escrow_, token_, verifier_, attesterKey_) {
        agentVerifier = agentVerifier_;
    }

    function keyCount() external view returns (uint256) {
        return _keys.length;
    }

    function keyModel(uint64 keyId) external view returns (KeyModel memory) {
        return _keys[keyId - 1];
    }

    /// @notice The cap in effect now by the handler's model.
    function modelCap(uint64 keyId) public view returns (uint128) {
        KeyModel storage k = _keys[keyId - 1];
        return k.pendingCapAt != 0 && block.timestamp >= k.pendingCapAt ? k.pendingCap : k.cap;
    }

    // ------------------------------------------------------------------------------------------
    // the registry
    // ------------------------------------------------------------------------------------------

    /// @param window Picks the validity: mostly valid now, sometimes starting later or ending soon.
    function authorizeAgentKey(uint256 who, uint256 whom, uint128 cap, bool anyPayee, uint256 window) external {
        uint256 index = who % payers.length;
        address scope = anyPayee ? address(0) : payees[whom % payees.length];
        cap = uint128(bound(cap, 1, 3e12));
        (uint64 validAfter, uint64 validUntil) = _window(window);
        AgentKeyGrant memory g = AgentKeyGrant({
            payer: payers[index],
            key: KEYS[window % 3],
            token: address(token),
            payee: scope,
            cap: cap,
            validAfter: validAfter,
            validUntil: validUntil,
            salt: uint64(_keys.length)
        });
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(_payerKeys[index], escrow.agentKeyGrantDigest(g));
        uint64 keyId = escrow.authorizeAgentKey(g, abi.encodePacked(r, s, v));
        assertEq(keyId, _keys.length + 1);
        _keys.push(KeyModel(index, scope, validAfter, validUntil, cap, cap, 0, 0, 0, 0));
    }

    function _window(uint256 window) internal view returns (uint64 validAfter, uint64 validUntil) {
        uint256 now_ = block.timestamp;
        uint256 kind = window % 4;
        if (kind == 1) return (uint64(now_ + bound(window >> 8, 1, 2 days)), uint64(now_ + 6 days)); // later
        if (kind == 2) return (0, uint64(now_ + bound(window >> 8, 0, 1 days))); // ends soon
        return (uint64(now_ - bound(window >> 8, 0, 1 days)), uint64(now_ + 10 days));
    }

    function revokeAgentKey(uint256 index) external {
        if (_keys.length == 0) return;
        uint64 keyId = uint64(index % _keys.length) + 1;
        KeyModel storage k = _keys[keyId - 1];
        if (k.revokeAt != 0) return;
        vm.prank(payers[k.payerIndex]);
        escrow.revokeAgentKey(keyId);
        k.revokeAt = uint64(block.timestamp + escrow.revokeDelay());
    }

    function lowerAgentKeyCap(uint256 index, uint128 newCap) external {
        if (_keys.length == 0) return;
        uint64 keyId = uint64(index % _keys.length) + 1;
        KeyModel storage k = _keys[keyId - 1];
        uint128 cap = modelCap(keyId);
        if (cap == 0) return;
        newCap = uint128(bound(newCap, 0, cap - 1));
        vm.prank(payers[k.payerIndex]);
        escrow.lowerAgentKeyCap(keyId, newCap);
        (k.cap, k.pendingCap, k.pendingCapAt) = (cap, newCap, uint64(block.timestamp + escrow.revokeDelay()));
    }

    // ------------------------------------------------------------------------------------------
    // agent settlement
    // ------------------------------------------------------------------------------------------

    /// @param stale If odd, pairs start off their (key, payee) high-water mark.
    function settleAgent(uint256 seed, uint8 count, uint256 stale, uint256 sender) external {
        count = uint8(bound(count, 1, 4));
        AgentPair[] memory pairs = new AgentPair[](count);
        for (uint256 i; i < count; ++i) {
            pairs[i] = _randomAgentPair(uint256(keccak256(abi.encode(seed, i))), stale);
        }
        _submitAgent(_agentSettlement(pairs), _sender(sender, pairs[0].payee));
    }

    /// @notice Two chunks of one agent pair, and an EIP-712 settlement before them, in one `settleMany`.
    function settleManyMixed(uint256 seed, uint64 firstSpan, uint64 secondSpan, uint256 sender) external {
        AgentPair memory first = _randomAgentPair(seed, 0);
        first.toNonce = first.fromNonce + uint64(bound(firstSpan, 1, 1000));
        AgentPair memory second = AgentPair(first.keyId, first.payee, first.toNonce, 0, first.total / 2);
        second.toNonce = second.fromNonce + uint64(bound(secondSpan, 1, 1000));
        AgentSettlement[] memory ags = new AgentSettlement[](2);
        ags[0] = _agentSettlement(_oneAgent(first));
        ags[1] = _agentSettlement(_oneAgent(second));
        bytes[] memory agentProofs = new bytes[](2);
        agentProofs[0] = _proveAgent(ags[0]);
        agentProofs[1] = _proveAgent(ags[1]);
        Settlement[] memory ss = new Settlement[](1);
        ss[0] = _settlement(_one(_randomPair(seed >> 128, 0)));
        bytes[] memory proofs = new bytes[](1);
        proofs[0] = _prove(ss[0]);
        address from = _sender(sender, first.payee);
        vm.recordLogs();
        vm.prank(from);
        escrow.settleMany(proofs, ss, agentProofs, ags);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        _account(logs, from);
        _accountAgent(logs, from);
    }

    /// @notice A key's payer submits its own key's zero-amount, far-ahead agent mandate: skipped.
    function payerSelfSettlesAgent(uint256 index, uint256 whom, uint64 jump) external {
        if (_keys.length == 0) return;
        uint64 keyId = uint64(index % _keys.length) + 1;
        address payee = _payeeFor(keyId, whom);
        uint64 mark = escrow.agentHighWater(keyId, payee);
        AgentPair memory p = AgentPair(keyId, payee, mark, mark + uint64(bound(jump, 1, 1e6)), 0);
        _submitAgent(_agentSettlement(_oneAgent(p)), payers[_keys[keyId - 1].payerIndex]);
    }

    // ------------------------------------------------------------------------------------------
    // helpers
    // ------------------------------------------------------------------------------------------

    /// @dev A pair of a known key (mostly) or an unknown id, to its scope payee (mostly) or any payee.
    function _randomAgentPair(uint256 r, uint256 stale) internal view returns (AgentPair memory p) {
        uint256 n = _keys.length;
        p.keyId = uint64(r % (n + 1)) + 1; // n + 1 is unknown
        p.payee = p.keyId <= n && (r >> 8) % 4 != 0 ? _payeeFor(p.keyId, r >> 16) : payees[(r >> 16) % payees.length];
        uint64 mark = escrow.agentHighWater(p.keyId, p.payee);
        p.fromNonce = mark;
        if (stale % 2 == 1) p.fromNonce = (r >> 24) % 2 == 0 && mark > 0 ? mark - 1 : mark + 1;
        p.toNonce = p.fromNonce + uint64(bound(r >> 32, 1, 1000));
        p.total = uint128(bound(r >> 96, 0, 1e12));
    }

    /// @dev The key's scope payee, or for an any-payee key one of the payees.
    function _payeeFor(uint64 keyId, uint256 r) internal view returns (address) {
        address scope = _keys[keyId - 1].scope;
        return scope != address(0) ? scope : payees[r % payees.length];
    }

    function _oneAgent(AgentPair memory p) internal pure returns (AgentPair[] memory pairs) {
        pairs = new AgentPair[](1);
        pairs[0] = p;
    }

    function _agentSettlement(AgentPair[] memory pairs) internal view returns (AgentSettlement memory) {
        return AgentSettlement(AGENT_VERIFIER_ID, address(token), uint64(block.timestamp + 30 days), pairs);
    }

    function _proveAgent(AgentSettlement memory s) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 sig) =
            vm.sign(attesterKey, agentVerifier.attestationDigest(escrow.agentPublicInputOf(s)));
        return abi.encodePacked(r, sig, v);
    }

    function _submitAgent(AgentSettlement memory s, address sender) internal {
        bytes memory proof = _proveAgent(s);
        vm.recordLogs();
        vm.prank(sender);
        escrow.settleAgent(proof, s);
        _accountAgent(vm.getRecordedLogs(), sender);
    }

    /// @dev Checks every `AgentPairSettled` against the key's model at this second and the sender's
    /// right to settle, debits the model's balances (reservation first), and counts skips.
    function _accountAgent(Vm.Log[] memory logs, address sender) internal {
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(escrow)) continue;
            bytes32 topic = logs[i].topics[0];
            if (topic == AGENT_PAIR_SKIPPED) {
                ++ghostAgentSkippedPairs;
                continue;
            }
            if (topic != AGENT_PAIR_SETTLED) continue;
            uint64 keyId = uint64(uint256(logs[i].topics[1]));
            address payer = address(uint160(uint256(logs[i].topics[2])));
            address payee = address(uint160(uint256(logs[i].topics[3])));
            (uint64 fromNonce, uint64 toNonce, uint128 total) = abi.decode(logs[i].data, (uint64, uint64, uint128));
            if (sender != payee && !ghostApproved[payee][sender]) ghostUnauthorizedSettle = true;
            _checkKey(keyId, payer, payee, total);
            if (fromNonce != ghostAgentLastTo[keyId][payee] || toNonce <= fromNonce) ghostAgentBrokenChain = true;
            ghostAgentLastTo[keyId][payee] = toNonce;
            ghostSettled += total;
            ++ghostAgentSettledPairs;
            _debit(payer, payee, total);
        }
    }

    function _checkKey(uint64 keyId, address payer, address payee, uint128 total) internal {
        if (keyId == 0 || keyId > _keys.length) {
            ghostAgentOutOfScope = true; // an unknown key paid
            return;
        }
        KeyModel storage k = _keys[keyId - 1];
        if (payer != payers[k.payerIndex] || (k.scope != address(0) && k.scope != payee)) ghostAgentOutOfScope = true;
        if (block.timestamp < k.validAfter || block.timestamp > k.validUntil) ghostAgentOutsideValidity = true;
        if (k.revokeAt != 0 && block.timestamp >= k.revokeAt) ghostAgentAfterRevocation = true;
        if (uint256(k.spent) + total > modelCap(keyId)) ghostAgentCapBroken = true;
        k.spent += total;
    }
}
