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
/// (`Escrow`) supplies the domain separator and the debit of a payer, and runs a settlement's pairs:
/// it checks the sender first and credits the payees.
abstract contract AgentKeys is IEscrow {
    /// @dev One key, laid out so that settling a pair of a key scoped to one payee reads the key (for the
    /// public input), slot 1, and the (key, payee) word that the high-water mark needs anyway, which also
    /// holds what the key may still spend and its token's id; that word is the only one of the key's
    /// the pair writes. Slots 2 to 5 are read by views, by `revokeAgentKey` and `lowerAgentKeyCap`, by a
    /// pair once a cap lowering exists (`LOWERED`), and by an any-payee key's first pair to a payee (the
    /// token, before its id is cached). Times saturate at 2^40 − 1.
    struct AgentKeyRecord {
        bytes32 key;
        // slot 1: who pays and the seconds the key settles in, [validAfter, end]
        address payer;
        uint40 validAfter;
        uint40 end; // min(validUntil, revokeAt − 1): the last second the key settles
        uint8 flags;
        // slot 2: the cap in effect before any pending lowering, and the grant's cap (spent is the
        // grant's cap minus the unspent amount in the key's spend word)
        uint128 cap;
        uint128 grantCap;
        // slot 3: a lowering of the cap from `pendingCapAt` on (zeros: none), and the grant's times
        uint128 pendingCap;
        uint40 pendingCapAt;
        uint40 revokeAt;
        uint40 validUntil;
        // slots 4 and 5
        address token;
        address payee;
    }

    /// @dev A (key, payee) word, in a struct so that a pair computes its slot once for the read and the write.
    struct PairWord {
        uint256 word;
    }

    /// @dev `flags`: the key may pay only `payee`.
    uint8 private constant SCOPED = 1;
    /// @dev `flags`: `end` is the revocation's (`revokeAt − 1 < validUntil`).
    uint8 private constant REVOKED = 2;
    /// @dev `flags`: the payer lowered the cap at least once, so slot 3 holds a lowering to apply.
    uint8 private constant LOWERED = 4;

    /// @dev A (key, payee) word: the pair's high-water mark in the low 64 bits; from bit 192 the id of
    /// the key's token (`_agentTokenIds`), set at authorization in a scoped key's word for its payee and
    /// by the first paid pair otherwise, so a scoped key's words for other payees stay zero (that is
    /// its scope check). Bits 64 to 191 of the key's *spend word* hold `grantCap − spent`, what the key
    /// may still spend under its grant's cap: the spend word is a scoped key's word for its payee (one
    /// write serves the mark and `spent`) and an any-payee key's word for the zero payee (which no pair
    /// can settle: no sender is the zero payee or approved by it).
    uint256 private constant HIGH_WATER_MASK = type(uint64).max;
    uint256 private constant UNSPENT_SHIFT = 64;
    uint256 private constant TOKEN_ID_SHIFT = 192;

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
    /// @dev How many tokens have an id in `_agentTokenIds` (ids count from 1).
    uint64 private _agentTokenCount;

    mapping(uint64 keyId => AgentKeyRecord) private _agentKeys;
    mapping(uint64 keyId => mapping(address payee => PairWord)) private _agentPairs;
    /// @inheritdoc IAgentKeys
    mapping(bytes32 grantDigest => uint64 keyId) public override agentKeyIdOf;
    /// @dev A short id for every token some key was granted in, so a (key, payee) word can name the
    /// key's token: a settlement looks its token's id up once, and each pair compares ids.
    mapping(address token => uint256 tokenId) private _agentTokenIds;

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

    /// @dev Debits `total` of `token` from `payer` (its reservation for `payee` first, then its free
    /// balance); returns false, changing nothing, if the two do not cover it. The payee's credit is the
    /// caller's of `_settleAgentPair`.
    function _debitPayer(address payer, address payee, address token, uint256 total) internal virtual returns (bool);

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
        (r.cap, r.grantCap) = (grant.cap, grant.cap);
        r.validUntil = validUntil;
        r.token = grant.token;
        uint256 tokenId = _agentTokenIds[grant.token];
        if (tokenId == 0) {
            tokenId = ++_agentTokenCount;
            _agentTokenIds[grant.token] = tokenId;
        }
        // The spend word, all of the cap unspent; a scoped key's is its payee's word, which names the token.
        uint256 unspent = uint256(grant.cap) << UNSPENT_SHIFT;
        if (scoped) {
            r.payee = grant.payee;
            _agentPairs[keyId][grant.payee].word = unspent | (tokenId << TOKEN_ID_SHIFT);
        } else {
            _agentPairs[keyId][address(0)].word = unspent;
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

    /// @dev The id of `token` in `_agentTokenIds` (zero if no key was ever granted in it), looked up
    /// once per settlement for `_settleAgentPair`.
    function _agentTokenId(address token) internal view returns (uint256) {
        return _agentTokenIds[token];
    }

    /// @dev Pays one agent pair (returns true) or skips it with an event (returns false), checking in the
    /// order of `IEscrow.SkipReason`'s documentation from `UnknownAgentKey` on: the caller checked the
    /// sender first, and credits the payee with `p.total` if paid. `tokenId` is `token`'s
    /// `_agentTokenId`. Slot 1 is read as a whole word (one SLOAD) and unpacked by the offsets of
    /// `AgentKeyRecord`'s layout; the pair is in memory, decoded once.
    function _settleAgentPair(AgentPair memory p, address token, uint256 tokenId) internal returns (bool) {
        AgentKeyRecord storage r = _agentKeys[p.keyId];
        uint256 terms = _slotWord(r, 1);
        if (terms == 0) return _skipAgent(p, SkipReason.UnknownAgentKey);
        PairWord storage pairWord = _agentPairs[p.keyId][p.payee];
        uint256 word = pairWord.word;
        uint256 keyTokenId = word >> TOKEN_ID_SHIFT;
        // Ids name tokens one to one; a word without one (an any-payee key's first pair to this payee, a
        // scoped key's word for another payee) compares the key's token itself.
        if (keyTokenId == 0 ? r.token != token : keyTokenId != tokenId) {
            return _skipAgent(p, SkipReason.AgentKeyWrongToken);
        }
        if (block.timestamp < uint40(terms >> VALID_AFTER_SHIFT)) return _skipAgent(p, SkipReason.AgentKeyNotYetValid);
        uint256 flags = terms >> FLAGS_SHIFT;
        if (block.timestamp > uint40(terms >> END_SHIFT)) {
            return _skipAgent(p, flags & REVOKED != 0 ? SkipReason.AgentKeyRevoked : SkipReason.AgentKeyExpired);
        }
        if (flags & SCOPED != 0 && keyTokenId == 0) return _skipAgent(p, SkipReason.PayeeOutOfScope);
        if (word & HIGH_WATER_MASK != p.fromNonce) return _skipAgent(p, SkipReason.NonceMismatch);
        if (p.toNonce <= p.fromNonce) return _skipAgent(p, SkipReason.NonceNotIncreasing);
        return _payAgentPair(p, token, tokenId, terms, pairWord, word);
    }

    /// @dev `_settleAgentPair`'s second half: the cap, the payer's cover, and the effects. A scoped key's
    /// pair reads and writes only its own word here; an any-payee key's also its spend word.
    function _payAgentPair(
        AgentPair memory p,
        address token,
        uint256 tokenId,
        uint256 terms,
        PairWord storage pairWord,
        uint256 word
    ) private returns (bool) {
        bool scoped = (terms >> FLAGS_SHIFT) & SCOPED != 0;
        uint256 spendWord = scoped ? word : _agentPairs[p.keyId][address(0)].word;
        if (!_fitsCap(p.keyId, terms, spendWord, p.total)) return _skipAgent(p, SkipReason.AgentKeyCapExceeded);
        if (!_debitPayer(address(uint160(terms)), p.payee, token, p.total)) {
            return _skipAgent(p, SkipReason.InsufficientBalance);
        }
        // total ≤ unspent: the subtraction takes it from the unspent bits alone.
        spendWord -= uint256(p.total) << UNSPENT_SHIFT;
        if (scoped) {
            word = spendWord;
        } else {
            _agentPairs[p.keyId][address(0)].word = spendWord;
            word |= tokenId << TOKEN_ID_SHIFT; // the ids matched or the word had none: caches the token's
        }
        pairWord.word = (word & ~HIGH_WATER_MASK) | p.toNonce;
        emit AgentPairSettled(p.keyId, address(uint160(terms)), p.payee, p.fromNonce, p.toNonce, p.total);
        return true;
    }

    /// @dev Whether `spent + total` fits the key's cap in effect at `block.timestamp`, `spent` being the
    /// grant's cap minus the unspent amount in `spendWord`. Unlowered, the cap is the grant's, so it
    /// fits iff `total ≤ unspent`; a lowered cap in effect is below the grant's, so a total it lets
    /// through is at most `unspent` too.
    function _fitsCap(uint64 keyId, uint256 terms, uint256 spendWord, uint256 total) private view returns (bool) {
        uint256 unspent = uint128(spendWord >> UNSPENT_SHIFT);
        if ((terms >> FLAGS_SHIFT) & LOWERED == 0) return total <= unspent;
        AgentKeyRecord storage r = _agentKeys[keyId];
        uint256 amounts = _slotWord(r, 2);
        return (amounts >> 128) - unspent + total <= _capNow(r, uint128(amounts));
    }

    function _slotWord(AgentKeyRecord storage r, uint256 offset) private view returns (uint256 word) {
        assembly ("memory-safe") {
            word := sload(add(r.slot, offset))
        }
    }

    /// @dev The cap in effect at `block.timestamp`, given `cap` from slot 2: a pending lowering counts
    /// from its effect time.
    function _capNow(AgentKeyRecord storage r, uint256 cap) private view returns (uint256) {
        uint40 pendingAt = r.pendingCapAt;
        return pendingAt != 0 && block.timestamp >= pendingAt ? r.pendingCap : cap;
    }

    /// @dev Skips `p` for `reason`: its event, and false for `_settleAgentPair` to return.
    function _skipAgent(AgentPair memory p, SkipReason reason) internal returns (bool) {
        emit AgentPairSkipped(p.keyId, p.payee, p.fromNonce, reason);
        return false;
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
            spent: r.grantCap - uint128(_agentPairs[keyId][r.payee].word >> UNSPENT_SHIFT),
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
        return uint64(_agentPairs[keyId][payee].word & HIGH_WATER_MASK);
    }

    /// @inheritdoc IAgentKeys
    function agentKeyGrantDigest(AgentKeyGrant calldata grant) external view returns (bytes32) {
        return AgentKeyHashing.digest(DOMAIN_SEPARATOR(), grant);
    }
}
