// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IAgentKeys} from "./interfaces/IAgentKeys.sol";
import {IEscrow} from "./interfaces/IEscrow.sol";
import {AgentKeyGrant, AgentKeyHashing} from "./types/AgentKeyGrant.sol";
import {AgentPair} from "./types/AgentSettlement.sol";

/// @title AgentKeys
/// @notice The escrow's agent-key registry and the per-pair rules of agent settlements. The escrow
/// (`Escrow`) supplies the domain separator, who may submit for a payee, and the debit of a payer.
abstract contract AgentKeys is IEscrow {
    /// @dev One key, laid out so that settling a pair reads the key (for the public input), slots 1
    /// and 2, and the (key, payee) word that the high-water mark needs anyway, which also answers the
    /// scope and caches the key's token. Slots 3 to 5 are read by views, by `revokeAgentKey` and
    /// `lowerAgentKeyCap`, by a pair once a cap lowering exists (`LOWERED`), and by an any-payee key's
    /// first pair to a payee (the token, before it is cached). Times saturate at 2^40 − 1.
    struct AgentKeyRecord {
        bytes32 key;
        // slot 1: who pays and the seconds the key settles in, [validAfter, end]
        address payer;
        uint40 validAfter;
        uint40 end; // min(validUntil, revokeAt − 1): the last second the key settles
        uint8 flags;
        // slot 2: the cap in effect before any pending lowering, and what was settled
        uint128 cap;
        uint128 spent;
        // slot 3: a lowering of the cap from `pendingCapAt` on (zeros: none), and the grant's times
        uint128 pendingCap;
        uint40 pendingCapAt;
        uint40 revokeAt;
        uint40 validUntil;
        // slots 4 and 5
        address token;
        address payee;
    }

    /// @dev `flags`: the key may pay only `payee`.
    uint8 private constant SCOPED = 1;
    /// @dev `flags`: `end` is the revocation's (`revokeAt − 1 < validUntil`).
    uint8 private constant REVOKED = 2;
    /// @dev `flags`: the payer lowered the cap at least once, so slot 3 holds a lowering to apply.
    uint8 private constant LOWERED = 4;

    /// @dev A (key, payee) word: the pair's high-water mark in the low 64 bits; `IN_SCOPE` if the key is
    /// scoped to this payee (set at authorization, so scoping adds no settlement read); the key's token
    /// from bit 96 (set at authorization for a scoped key, by the first paid pair otherwise).
    uint256 private constant HIGH_WATER_MASK = type(uint64).max;
    uint256 private constant IN_SCOPE = 1 << 64;
    uint256 private constant TOKEN_SHIFT = 96;

    /// @dev Bit offsets of slot 1's fields after `payer` (bits 0-159), as Solidity packs the struct.
    uint256 private constant VALID_AFTER_SHIFT = 160;
    uint256 private constant END_SHIFT = 200;
    uint256 private constant FLAGS_SHIFT = 240;

    /// @notice Bounds on `revokeDelay`: it must outlast every payee's settlement horizon (so mandates
    /// accepted against a key settle before its revocation bites), yet stop a leaked key within a month.
    uint64 public constant MIN_REVOKE_DELAY = 1 hours;
    uint64 public constant MAX_REVOKE_DELAY = 30 days;

    /// @inheritdoc IAgentKeys
    uint64 public immutable override revokeDelay;

    /// @inheritdoc IAgentKeys
    uint64 public override agentKeyCount;

    mapping(uint64 keyId => AgentKeyRecord) private _agentKeys;
    mapping(uint64 keyId => mapping(address payee => uint256)) private _agentPairs;
    /// @inheritdoc IAgentKeys
    mapping(bytes32 grantDigest => uint64 keyId) public override agentKeyIdOf;

    constructor(uint64 revokeDelay_) {
        if (revokeDelay_ < MIN_REVOKE_DELAY || revokeDelay_ > MAX_REVOKE_DELAY) {
            revert RevokeDelayOutOfBounds(revokeDelay_, MIN_REVOKE_DELAY, MAX_REVOKE_DELAY);
        }
        revokeDelay = revokeDelay_;
    }

    // ------------------------------------------------------------------------------------------
    // Hooks the escrow implements
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IEscrow
    function DOMAIN_SEPARATOR() public view virtual returns (bytes32);

    /// @dev Whether the sender may settle `payee`'s pairs: the payee itself or a submitter it approved.
    function _maySubmitFor(address payee) internal view virtual returns (bool);

    /// @dev Debits `total` of `token` from `payer` (its reservation for `payee` first, then its free
    /// balance) and credits `payee`; returns false, changing nothing, if the two do not cover it.
    function _pay(address payer, address payee, address token, uint256 total) internal virtual returns (bool);

    // ------------------------------------------------------------------------------------------
    // Registry
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IAgentKeys
    function authorizeAgentKey(AgentKeyGrant calldata grant, bytes calldata signature) external returns (uint64 keyId) {
        bytes32 grantDigest = AgentKeyHashing.digest(DOMAIN_SEPARATOR(), grant);
        uint64 used = agentKeyIdOf[grantDigest];
        if (used != 0) revert AgentKeyGrantUsed(grantDigest, used);
        if (grant.token == address(0)) revert AgentKeyTokenZero();
        if (grant.cap == 0) revert AgentKeyCapZero();
        if (grant.validUntil < grant.validAfter) revert AgentKeyValidityInverted(grant.validAfter, grant.validUntil);
        if (grant.validUntil < block.timestamp) revert AgentKeyGrantExpired(grant.validUntil, block.timestamp);
        if (!AgentKeyHashing.isAcceptableKey(grant.key)) revert InvalidAgentKey(grant.key);
        // An EOA's 65-byte low-s ECDSA signature, or a contract wallet's EIP-1271 answer; a zero payer
        // recovers from no signature.
        if (!SignatureChecker.isValidSignatureNow(grant.payer, grantDigest, signature)) {
            revert InvalidAgentKeySignature(grant.payer, grantDigest);
        }
        keyId = agentKeyCount + 1;
        agentKeyCount = keyId;
        agentKeyIdOf[grantDigest] = keyId;
        _store(keyId, grant);
        emit AgentKeyAuthorized(
            keyId,
            grant.payer,
            grant.payee,
            grant.key,
            grant.token,
            grant.cap,
            grant.validAfter,
            grant.validUntil,
            grantDigest
        );
    }

    function _store(uint64 keyId, AgentKeyGrant calldata grant) private {
        AgentKeyRecord storage r = _agentKeys[keyId];
        r.key = grant.key;
        bool scoped = grant.payee != address(0);
        uint40 validUntil = _time40(grant.validUntil);
        (r.payer, r.validAfter, r.end, r.flags) =
        (grant.payer, _time40(grant.validAfter), validUntil, scoped ? SCOPED : 0);
        r.cap = grant.cap;
        r.validUntil = validUntil;
        r.token = grant.token;
        if (scoped) {
            r.payee = grant.payee;
            _agentPairs[keyId][grant.payee] = IN_SCOPE | (uint256(uint160(grant.token)) << TOKEN_SHIFT);
        }
    }

    /// @inheritdoc IAgentKeys
    function revokeAgentKey(uint64 keyId) external {
        AgentKeyRecord storage r = _payersKey(keyId);
        uint40 revokeAt = r.revokeAt;
        if (revokeAt != 0) revert AgentKeyAlreadyRevoked(keyId, revokeAt);
        revokeAt = SafeCast.toUint40(block.timestamp + revokeDelay);
        r.revokeAt = revokeAt;
        // The key settles while block.timestamp < revokeAt, unless it expires first.
        if (revokeAt - 1 < r.end) (r.end, r.flags) = (revokeAt - 1, r.flags | REVOKED);
        emit AgentKeyRevoked(keyId, revokeAt);
    }

    /// @inheritdoc IAgentKeys
    function lowerAgentKeyCap(uint64 keyId, uint128 newCap) external {
        AgentKeyRecord storage r = _payersKey(keyId);
        uint128 cap = r.cap;
        uint40 pendingAt = r.pendingCapAt;
        if (pendingAt != 0 && block.timestamp >= pendingAt) {
            // The earlier lowering is in effect: it becomes the cap the new one is measured against.
            cap = r.pendingCap;
            r.cap = cap;
        }
        if (newCap >= cap) revert AgentKeyCapNotLowered(keyId, cap, newCap);
        uint40 effectiveAt = SafeCast.toUint40(block.timestamp + revokeDelay);
        (r.pendingCap, r.pendingCapAt) = (newCap, effectiveAt);
        r.flags |= LOWERED;
        emit AgentKeyCapLowered(keyId, newCap, effectiveAt);
    }

    function _payersKey(uint64 keyId) private view returns (AgentKeyRecord storage r) {
        r = _agentKeys[keyId];
        address payer = r.payer;
        if (payer == address(0)) revert UnknownAgentKey(keyId);
        if (payer != msg.sender) revert NotAgentKeyPayer(keyId, payer, msg.sender);
    }

    /// @dev Grant times are uint64; the record keeps 40 bits, saturating (2^40 s is the year 36812).
    function _time40(uint64 t) private pure returns (uint40) {
        return t > type(uint40).max ? type(uint40).max : uint40(t);
    }

    // ------------------------------------------------------------------------------------------
    // Agent pairs
    // ------------------------------------------------------------------------------------------

    /// @dev The compressed key stored for `keyId` (zero if none), for the public input.
    function _agentKeyOf(uint64 keyId) internal view returns (bytes32) {
        return _agentKeys[keyId].key;
    }

    /// @dev Pays one agent pair and returns (true, total), or skips it with an event and returns
    /// (false, 0), checking in the order of `IEscrow.SkipReason`'s documentation. Slots 1 and 2 are
    /// read as whole words (one SLOAD each) and unpacked by the offsets of `AgentKeyRecord`'s layout.
    function _settleAgentPair(AgentPair calldata p, address token) internal returns (bool, uint256) {
        (uint64 keyId, address payee, uint64 fromNonce) = (p.keyId, p.payee, p.fromNonce);
        if (!_maySubmitFor(payee)) return _skipAgent(keyId, payee, fromNonce, SkipReason.SubmitterNotApproved);
        AgentKeyRecord storage r = _agentKeys[keyId];
        uint256 terms = _slotWord(r, 1);
        if (terms == 0) return _skipAgent(keyId, payee, fromNonce, SkipReason.UnknownAgentKey);
        uint256 word = _agentPairs[keyId][payee];
        address keyToken = address(uint160(word >> TOKEN_SHIFT));
        if (keyToken == address(0)) keyToken = r.token; // an any-payee key's first pair to this payee
        if (keyToken != token) return _skipAgent(keyId, payee, fromNonce, SkipReason.AgentKeyWrongToken);
        if (block.timestamp < uint40(terms >> VALID_AFTER_SHIFT)) {
            return _skipAgent(keyId, payee, fromNonce, SkipReason.AgentKeyNotYetValid);
        }
        uint256 flags = terms >> FLAGS_SHIFT;
        if (block.timestamp > uint40(terms >> END_SHIFT)) {
            SkipReason reason = flags & REVOKED != 0 ? SkipReason.AgentKeyRevoked : SkipReason.AgentKeyExpired;
            return _skipAgent(keyId, payee, fromNonce, reason);
        }
        if (flags & SCOPED != 0 && word & IN_SCOPE == 0) {
            return _skipAgent(keyId, payee, fromNonce, SkipReason.PayeeOutOfScope);
        }
        if (word & HIGH_WATER_MASK != fromNonce) return _skipAgent(keyId, payee, fromNonce, SkipReason.NonceMismatch);
        if (p.toNonce <= fromNonce) return _skipAgent(keyId, payee, fromNonce, SkipReason.NonceNotIncreasing);
        return _payAgentPair(p, token, r, terms, word);
    }

    /// @dev `_settleAgentPair`'s second half: the cap, the payer's cover, and the effects.
    function _payAgentPair(AgentPair calldata p, address token, AgentKeyRecord storage r, uint256 terms, uint256 word)
        private
        returns (bool, uint256)
    {
        (address payee, uint128 total) = (p.payee, p.total);
        {
            uint256 amounts = _slotWord(r, 2);
            uint256 spent = (amounts >> 128) + total;
            uint256 cap = uint128(amounts);
            if ((terms >> FLAGS_SHIFT) & LOWERED != 0) cap = _capNow(r, cap);
            if (spent > cap) return _skipAgent(p.keyId, payee, p.fromNonce, SkipReason.AgentKeyCapExceeded);
            if (!_pay(address(uint160(terms)), payee, token, total)) {
                return _skipAgent(p.keyId, payee, p.fromNonce, SkipReason.InsufficientBalance);
            }
            // spent ≤ cap < 2^128: the new spent replaces the old in the word's high half
            _setSlotWord(r, 2, uint128(amounts) | (spent << 128));
        }
        (uint64 keyId, uint64 toNonce) = (p.keyId, p.toNonce);
        _agentPairs[keyId][payee] = (word & ~HIGH_WATER_MASK) | toNonce | (uint256(uint160(token)) << TOKEN_SHIFT);
        emit AgentPairSettled(keyId, address(uint160(terms)), payee, p.fromNonce, toNonce, total);
        return (true, total);
    }

    function _slotWord(AgentKeyRecord storage r, uint256 offset) private view returns (uint256 word) {
        assembly ("memory-safe") {
            word := sload(add(r.slot, offset))
        }
    }

    function _setSlotWord(AgentKeyRecord storage r, uint256 offset, uint256 word) private {
        assembly ("memory-safe") {
            sstore(add(r.slot, offset), word)
        }
    }

    /// @dev The cap in effect at `block.timestamp`, given `cap` from slot 2: a pending lowering counts
    /// from its effect time.
    function _capNow(AgentKeyRecord storage r, uint256 cap) private view returns (uint256) {
        uint40 pendingAt = r.pendingCapAt;
        return pendingAt != 0 && block.timestamp >= pendingAt ? r.pendingCap : cap;
    }

    function _skipAgent(uint64 keyId, address payee, uint64 fromNonce, SkipReason reason)
        private
        returns (bool, uint256)
    {
        emit AgentPairSkipped(keyId, payee, fromNonce, reason);
        return (false, 0);
    }

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IAgentKeys
    function agentKey(uint64 keyId) external view returns (AgentKeyInfo memory info) {
        AgentKeyRecord storage r = _agentKeys[keyId];
        info = AgentKeyInfo({
            key: r.key,
            payer: r.payer,
            token: r.token,
            payee: r.payee,
            cap: r.cap,
            spent: r.spent,
            validAfter: r.validAfter,
            validUntil: r.validUntil,
            revokeAt: r.revokeAt,
            pendingCap: r.pendingCap,
            pendingCapAt: r.pendingCapAt
        });
        if (info.pendingCapAt != 0 && block.timestamp >= info.pendingCapAt) {
            (info.cap, info.pendingCap, info.pendingCapAt) = (info.pendingCap, 0, 0);
        }
    }

    /// @inheritdoc IAgentKeys
    function agentHighWater(uint64 keyId, address payee) external view returns (uint64) {
        return uint64(_agentPairs[keyId][payee] & HIGH_WATER_MASK);
    }

    /// @inheritdoc IAgentKeys
    function agentKeyGrantDigest(AgentKeyGrant calldata grant) external view returns (bytes32) {
        return AgentKeyHashing.digest(DOMAIN_SEPARATOR(), grant);
    }
}
