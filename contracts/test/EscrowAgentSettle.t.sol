// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm} from "forge-std/Vm.sol";

import {IEscrow} from "../src/interfaces/IEscrow.sol";
import {TestUSDC} from "../src/TestUSDC.sol";
import {AttestationVerifier} from "../src/testing/AttestationVerifier.sol";
import {AgentKeyGrant} from "../src/types/AgentKeyGrant.sol";
import {AgentPair, AgentSettlement} from "../src/types/AgentSettlement.sol";
import {Settlement} from "../src/types/Settlement.sol";
import {EscrowFixture} from "./utils/EscrowFixture.sol";

/// @notice Agent settlements: the whole-call reverts (verifier family included), every per-pair skip
/// reason, what a paid pair moves, revocation and cap lowering in time, the public input (the stored
/// key, never calldata's), and `settleMany` mixing both families.
contract EscrowAgentSettleTest is EscrowFixture {
    address internal relayer = makeAddr("relayer");

    function _expectSkip(uint64 keyId, address to, uint64 fromNonce, IEscrow.SkipReason reason) internal {
        vm.expectEmit(address(escrow));
        emit IEscrow.AgentPairSkipped(keyId, to, fromNonce, reason);
    }

    /// @dev Settles one pair as its payee and checks that it was skipped for `reason`, changing nothing.
    function _assertSkipped(AgentPair memory p, IEscrow.SkipReason reason) internal {
        _assertSkippedAs(p.payee, p, reason);
    }

    function _assertSkippedAs(address sender, AgentPair memory p, IEscrow.SkipReason reason) internal {
        _assertSkippedAs(sender, address(token), p, reason);
    }

    /// @dev `_assertSkipped` for a settlement in `settlementToken`.
    function _assertSkippedIn(address settlementToken, AgentPair memory p, IEscrow.SkipReason reason) internal {
        _assertSkippedAs(p.payee, settlementToken, p, reason);
    }

    function _assertSkippedAs(address sender, address settlementToken, AgentPair memory p, IEscrow.SkipReason reason)
        internal
    {
        AgentSettlement memory s = _agentSettlement(p);
        s.token = settlementToken;
        bytes memory proof = _proveAgent(s);
        uint256 spent = escrow.agentKey(p.keyId).spent;
        uint64 mark = escrow.agentHighWater(p.keyId, p.payee);
        uint256 free = escrow.balance(alice, address(token));
        uint256 credit = escrow.payeeBalance(p.payee, address(token));
        _expectSkip(p.keyId, p.payee, p.fromNonce, reason);
        vm.prank(sender);
        escrow.settleAgent(proof, s);
        assertEq(escrow.agentKey(p.keyId).spent, spent, "spent");
        assertEq(escrow.agentHighWater(p.keyId, p.payee), mark, "high-water");
        assertEq(escrow.balance(alice, address(token)), free, "free balance");
        assertEq(escrow.payeeBalance(p.payee, address(token)), credit, "payee credit");
    }

    // ------------------------------------------------------------------------------------------
    // a paid pair
    // ------------------------------------------------------------------------------------------

    function test_settleAgent_paysPair() public {
        _fund(alice, 1_000);
        uint64 keyId = _aliceKey(payee, 500);
        AgentSettlement memory s = _agentSettlement(_agentPair(keyId, payee, 0, 3, 120));
        bytes memory proof = _proveAgent(s);
        vm.expectEmit(address(escrow));
        emit IEscrow.AgentPairSettled(keyId, alice, payee, 0, 3, 120);
        vm.expectEmit(address(escrow));
        emit IEscrow.SettlementProcessed(AGENT_VERIFIER_ID, escrow.agentPublicInputOf(s), 1, 0, 120);
        vm.prank(payee);
        escrow.settleAgent(proof, s);
        assertEq(escrow.balance(alice, address(token)), 880);
        assertEq(escrow.payeeBalance(payee, address(token)), 120);
        assertEq(escrow.agentKey(keyId).spent, 120);
        assertEq(escrow.agentHighWater(keyId, payee), 3);
        assertEq(escrow.highWater(alice, payee), 0, "agent and EIP-712 nonces are separate");
    }

    function test_settleAgent_paysIfSubmitterApproved() public {
        _fund(alice, 1_000);
        uint64 keyId = _aliceKey(payee, 500);
        vm.prank(payee);
        escrow.approveSubmitter(relayer, true);
        _settleAgentAs(relayer, _agentSettlement(_agentPair(keyId, payee, 0, 1, 10)));
        assertEq(escrow.payeeBalance(payee, address(token)), 10);
    }

    /// A key for any payee pays each with its own nonce sequence.
    function test_settleAgent_anyPayeeKeyKeepsPerPayeeNonces() public {
        _fund(alice, 1_000);
        uint64 keyId = _aliceKey(address(0), 500);
        _settleAgent(_agentSettlement(_agentPair(keyId, payee, 0, 5, 10)));
        _settleAgent(_agentSettlement(_agentPair(keyId, payee2, 0, 2, 20)));
        assertEq(escrow.agentHighWater(keyId, payee), 5);
        assertEq(escrow.agentHighWater(keyId, payee2), 2);
        assertEq(escrow.agentKey(keyId).spent, 30);
    }

    /// Several pairs of one settlement: each is paid or skipped on its own.
    function test_settleAgent_paysAndSkipsPairsIndependently() public {
        _fund(alice, 1_000);
        uint64 k1 = _aliceKey(payee, 100);
        uint64 k2 = _aliceKey(payee, 50);
        AgentPair[] memory pairs = new AgentPair[](3);
        pairs[0] = _agentPair(k1, payee, 0, 1, 60);
        pairs[1] = _agentPair(k2, payee, 0, 1, 60); // over k2's cap
        pairs[2] = _agentPair(k1, payee, 1, 2, 40); // chains after pairs[0]
        AgentSettlement memory s = _agentSettlement(pairs);
        bytes memory proof = _proveAgent(s);
        vm.expectEmit(address(escrow));
        emit IEscrow.SettlementProcessed(AGENT_VERIFIER_ID, escrow.agentPublicInputOf(s), 2, 1, 100);
        vm.prank(payee);
        escrow.settleAgent(proof, s);
        assertEq(escrow.agentKey(k1).spent, 100);
        assertEq(escrow.agentKey(k2).spent, 0);
        assertEq(escrow.payeeBalance(payee, address(token)), 100);
    }

    /// The payer's reservation for the payee is debited first, then the free balance, as for EIP-712 pairs.
    function test_settleAgent_debitsReservationFirst() public {
        _fund(alice, 1_000);
        _reserve(alice, payee, 100);
        uint64 keyId = _aliceKey(payee, 500);
        _settleAgent(_agentSettlement(_agentPair(keyId, payee, 0, 1, 60)));
        assertEq(escrow.reservation(alice, payee, address(token)), 40);
        assertEq(escrow.balance(alice, address(token)), 900);
        _settleAgent(_agentSettlement(_agentPair(keyId, payee, 1, 2, 70)));
        assertEq(escrow.reservation(alice, payee, address(token)), 0);
        assertEq(escrow.balance(alice, address(token)), 870);
    }

    /// An agent pair that uses up a reservation keeps the escrow's count of reserved tokens right: a
    /// later reservation is still debited first by an EIP-712 pair and released without underflow.
    function test_settleAgent_usedUpReservationKeepsCount() public {
        _fund(alice, 1_000);
        _reserve(alice, payee, 100);
        uint64 keyId = _aliceKey(payee, 500);
        _settleAgent(_agentSettlement(_agentPair(keyId, payee, 0, 1, 100)));
        assertEq(escrow.reservation(alice, payee, address(token)), 0);
        _reserve(alice, payee, 30);
        _settle(_settlement(_pair(alice, payee, 0, 1, 20)));
        assertEq(escrow.reservation(alice, payee, address(token)), 10, "the EIP-712 pair read the reservation");
        assertEq(escrow.balance(alice, address(token)), 870);
        vm.prank(alice);
        escrow.requestRelease(payee, address(token), 10);
        skip(DELAY);
        vm.prank(alice);
        assertEq(escrow.executeRelease(payee, address(token)), 10);
        _reserve(alice, payee, 5);
        _settle(_settlement(_pair(alice, payee, 1, 2, 5)));
        assertEq(escrow.reservation(alice, payee, address(token)), 0);
        assertEq(escrow.balance(alice, address(token)), 875);
    }

    /// Another payee's reservation is never touched by an agent pair.
    function test_settleAgent_neverDebitsOtherPayeesReservation() public {
        _fund(alice, 100);
        _reserve(alice, payee2, 100);
        uint64 keyId = _aliceKey(payee, 500);
        _assertSkipped(_agentPair(keyId, payee, 0, 1, 1), IEscrow.SkipReason.InsufficientBalance);
        assertEq(escrow.reservation(alice, payee2, address(token)), 100);
    }

    // ------------------------------------------------------------------------------------------
    // whole-call reverts
    // ------------------------------------------------------------------------------------------

    function test_settleAgent_revertsIfUnknownVerifier() public {
        AgentSettlement memory s = _agentSettlement(_agentPair(1, payee, 0, 1, 1));
        s.verifierId = 77;
        vm.expectRevert(abi.encodeWithSelector(IEscrow.UnknownVerifier.selector, 77));
        escrow.settleAgent("", s);
    }

    function test_settleAgent_revertsIfBatchVerifier() public {
        AgentSettlement memory s = _agentSettlement(_agentPair(1, payee, 0, 1, 1));
        s.verifierId = VERIFIER_ID;
        vm.expectRevert(
            abi.encodeWithSelector(
                IEscrow.VerifierFamilyMismatch.selector,
                VERIFIER_ID,
                IEscrow.VerifierFamily.Agent,
                IEscrow.VerifierFamily.Batch
            )
        );
        escrow.settleAgent("", s);
    }

    function test_settle_revertsIfAgentVerifier() public {
        Settlement memory s = _settlement(_pair(alice, payee, 0, 1, 1));
        s.verifierId = AGENT_VERIFIER_ID;
        vm.expectRevert(
            abi.encodeWithSelector(
                IEscrow.VerifierFamilyMismatch.selector,
                AGENT_VERIFIER_ID,
                IEscrow.VerifierFamily.Batch,
                IEscrow.VerifierFamily.Agent
            )
        );
        escrow.settle("", s);
    }

    function test_settleAgent_revertsIfVerifierRetired() public {
        _activateSecondVerifier(21, IEscrow.VerifierFamily.Agent);
        escrow.retireVerifier(AGENT_VERIFIER_ID);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.VerifierIsRetired.selector, AGENT_VERIFIER_ID));
        escrow.settleAgent("", _agentSettlement(_agentPair(1, payee, 0, 1, 1)));
    }

    function test_settleAgent_revertsIfVerifierNotActive() public {
        escrow.registerVerifier(21, IEscrow.VerifierFamily.Agent, address(agentVerifier), MANDATE_SLOTS, PAIR_SLOTS);
        AgentSettlement memory s = _agentSettlement(_agentPair(1, payee, 0, 1, 1));
        s.verifierId = 21;
        vm.expectRevert(
            abi.encodeWithSelector(IEscrow.VerifierNotActive.selector, 21, uint64(block.timestamp + 2 * DELAY))
        );
        escrow.settleAgent("", s);
    }

    function test_settleAgent_revertsIfEmpty() public {
        vm.expectRevert(IEscrow.EmptySettlement.selector);
        escrow.settleAgent("", _agentSettlement(new AgentPair[](0)));
    }

    function test_settleAgent_revertsIfTooManyPairs() public {
        vm.expectRevert(
            abi.encodeWithSelector(IEscrow.TooManyPairs.selector, AGENT_VERIFIER_ID, PAIR_SLOTS + 1, PAIR_SLOTS)
        );
        escrow.settleAgent("", _agentSettlement(new AgentPair[](PAIR_SLOTS + 1)));
    }

    function test_settleAgent_revertsIfExpired() public {
        AgentSettlement memory s = _agentSettlement(_agentPair(1, payee, 0, 1, 1));
        s.notAfter = uint64(block.timestamp - 1);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.SettlementExpired.selector, s.notAfter, block.timestamp));
        escrow.settleAgent("", s);
    }

    function test_settleAgent_revertsIfProofInvalid() public {
        AgentSettlement memory s = _agentSettlement(_agentPair(1, payee, 0, 1, 1));
        AgentSettlement memory other = _agentSettlement(_agentPair(1, payee, 0, 2, 1));
        bytes memory proof = _proveAgent(other);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.InvalidProof.selector, AGENT_VERIFIER_ID));
        escrow.settleAgent(proof, s);
    }

    /// The batch verifier's attestation of the same input is no agent proof (and the escrow assumes no
    /// proof length: a verifier's revert is all it reads).
    function test_settleAgent_revertsIfProvedForAnotherVerifier() public {
        AgentSettlement memory s = _agentSettlement(_agentPair(1, payee, 0, 1, 1));
        bytes memory proof = _attest(escrow.agentPublicInputOf(s));
        vm.expectRevert(abi.encodeWithSelector(IEscrow.InvalidProof.selector, AGENT_VERIFIER_ID));
        escrow.settleAgent(proof, s);
    }

    // ------------------------------------------------------------------------------------------
    // the public input binds the stored key
    // ------------------------------------------------------------------------------------------

    function test_agentPublicInputOf_packsStoredKeyAndZeroForUnknown() public {
        uint64 keyId = _aliceKey(payee, 500);
        AgentPair[] memory pairs = new AgentPair[](2);
        pairs[0] = _agentPair(keyId, payee, 4, 9, 77);
        pairs[1] = _agentPair(keyId + 5, payee2, 0, 1, 1);
        AgentSettlement memory s = _agentSettlement(pairs);
        bytes32[] memory keys = new bytes32[](2);
        keys[0] = KEY_B;
        assertEq(escrow.agentPublicInputOf(s), _referenceAgentPublicInput(escrow.DOMAIN_SEPARATOR(), s, keys));
    }

    /// A proof over another key than the one registered for the pair's id does not verify: the escrow
    /// packs the stored key, so calldata cannot swap it.
    function test_settleAgent_revertsIfProofNamesAnotherKey() public {
        _fund(alice, 100);
        uint64 keyId = _aliceKey(payee, 500);
        AgentSettlement memory s = _agentSettlement(_agentPair(keyId, payee, 0, 1, 1));
        bytes32[] memory keys = new bytes32[](1);
        keys[0] = KEY_2B;
        bytes memory proof = _attestWith(agentVerifier, _referenceAgentPublicInput(escrow.DOMAIN_SEPARATOR(), s, keys));
        vm.expectRevert(abi.encodeWithSelector(IEscrow.InvalidProof.selector, AGENT_VERIFIER_ID));
        vm.prank(payee);
        escrow.settleAgent(proof, s);
    }

    function testFuzz_agentPublicInputOf_matchesReferencePacking(uint256 seed, uint8 count, uint32 id, uint64 notAfter)
        public
    {
        _aliceKey(payee, 1);
        _authorize(bobKey, _grant(bob, KEY_2B, address(0), 1));
        count = uint8(bound(count, 0, 12));
        AgentPair[] memory pairs = new AgentPair[](count);
        bytes32[] memory keys = new bytes32[](count);
        for (uint256 i; i < count; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            uint64 keyId = uint64(r % 4); // 0 and 3 are unknown: zero keys
            pairs[i] = AgentPair(keyId, address(uint160(r >> 8)), uint64(r >> 32), uint64(r >> 96), uint128(r >> 128));
            keys[i] = keyId == 1 ? KEY_B : keyId == 2 ? KEY_2B : bytes32(0);
        }
        AgentSettlement memory s = AgentSettlement(id, address(uint160(seed)), notAfter, pairs);
        assertEq(escrow.agentPublicInputOf(s), _referenceAgentPublicInput(escrow.DOMAIN_SEPARATOR(), s, keys));
    }

    // ------------------------------------------------------------------------------------------
    // skip reasons, in the order they are checked
    // ------------------------------------------------------------------------------------------

    function test_settleAgent_skipsIfSubmitterNotApproved() public {
        _fund(alice, 100);
        uint64 keyId = _aliceKey(payee, 500);
        _assertSkippedAs(relayer, _agentPair(keyId, payee, 0, 1, 1), IEscrow.SkipReason.SubmitterNotApproved);
    }

    /// The key's own payer cannot settle its key's zero-amount mandate to move the mark past its debts.
    function test_settleAgent_skipsPayerSelfSettlement() public {
        _fund(alice, 100);
        uint64 keyId = _aliceKey(payee, 500);
        _assertSkippedAs(alice, _agentPair(keyId, payee, 0, 1e6, 0), IEscrow.SkipReason.SubmitterNotApproved);
    }

    function test_settleAgent_skipsIfUnknownKey() public {
        _fund(alice, 100);
        _assertSkipped(_agentPair(1, payee, 0, 1, 1), IEscrow.SkipReason.UnknownAgentKey);
    }

    function test_settleAgent_skipsIfKeysTokenIsNotSettlements() public {
        _fund(alice, 100);
        TestUSDC other = new TestUSDC();
        AgentKeyGrant memory g = _grant(alice, KEY_B, payee, 500);
        g.token = address(other);
        uint64 keyId = _authorize(aliceKey, g);
        _assertSkipped(_agentPair(keyId, payee, 0, 1, 1), IEscrow.SkipReason.AgentKeyWrongToken);
    }

    function test_settleAgent_skipsBeforeValidAfterAndPaysFromIt() public {
        _fund(alice, 100);
        AgentKeyGrant memory g = _grant(alice, KEY_B, payee, 500);
        g.validAfter = uint64(block.timestamp + 1 days);
        uint64 keyId = _authorize(aliceKey, g);
        vm.warp(g.validAfter - 1);
        _assertSkipped(_agentPair(keyId, payee, 0, 1, 1), IEscrow.SkipReason.AgentKeyNotYetValid);
        vm.warp(g.validAfter);
        _settleAgent(_agentSettlement(_agentPair(keyId, payee, 0, 1, 1)));
        assertEq(escrow.agentHighWater(keyId, payee), 1);
    }

    function test_settleAgent_paysAtValidUntilAndSkipsAfter() public {
        _fund(alice, 100);
        AgentKeyGrant memory g = _grant(alice, KEY_B, payee, 500);
        uint64 keyId = _authorize(aliceKey, g);
        vm.warp(g.validUntil);
        _settleAgent(_agentSettlement(_agentPair(keyId, payee, 0, 1, 1)));
        vm.warp(g.validUntil + 1);
        _assertSkipped(_agentPair(keyId, payee, 1, 2, 1), IEscrow.SkipReason.AgentKeyExpired);
    }

    /// Before the revocation's effect time the key still settles (payees settle what they accepted);
    /// from it on, nothing.
    function test_settleAgent_settlesUntilRevocationTakesEffect() public {
        _fund(alice, 100);
        uint64 keyId = _aliceKey(payee, 500);
        vm.prank(alice);
        escrow.revokeAgentKey(keyId);
        uint64 revokeAt = escrow.agentKey(keyId).revokeAt;
        vm.warp(revokeAt - 1);
        _settleAgent(_agentSettlement(_agentPair(keyId, payee, 0, 1, 10)));
        assertEq(escrow.payeeBalance(payee, address(token)), 10);
        vm.warp(revokeAt);
        _assertSkipped(_agentPair(keyId, payee, 1, 2, 10), IEscrow.SkipReason.AgentKeyRevoked);
    }

    /// A key that expires before its revocation would take effect is skipped as expired from then on.
    function test_settleAgent_expiryBeforeRevocationIsExpiry() public {
        _fund(alice, 100);
        AgentKeyGrant memory g = _grant(alice, KEY_B, payee, 500);
        g.validUntil = uint64(block.timestamp + REVOKE_DELAY / 2);
        uint64 keyId = _authorize(aliceKey, g);
        vm.prank(alice);
        escrow.revokeAgentKey(keyId);
        assertEq(escrow.agentKey(keyId).revokeAt, block.timestamp + REVOKE_DELAY);
        vm.warp(g.validUntil + 1);
        _assertSkipped(_agentPair(keyId, payee, 0, 1, 1), IEscrow.SkipReason.AgentKeyExpired);
        vm.warp(block.timestamp + REVOKE_DELAY);
        _assertSkipped(_agentPair(keyId, payee, 0, 1, 1), IEscrow.SkipReason.AgentKeyExpired);
    }

    /// An any-payee key's token is checked before its first pair to a payee (from the record) and after
    /// it (from the (key, payee) word, where the first paid pair caches it).
    function test_settleAgent_skipsWrongTokenForAnyPayeeKey() public {
        _fund(alice, 100);
        uint64 keyId = _aliceKey(address(0), 500);
        TestUSDC other = new TestUSDC();
        AgentSettlement memory s = _agentSettlement(_agentPair(keyId, payee, 0, 1, 1));
        s.token = address(other);
        bytes memory proof = _proveAgent(s);
        _expectSkip(keyId, payee, 0, IEscrow.SkipReason.AgentKeyWrongToken);
        vm.prank(payee);
        escrow.settleAgent(proof, s);
        _settleAgent(_agentSettlement(_agentPair(keyId, payee, 0, 1, 1)));
        s = _agentSettlement(_agentPair(keyId, payee, 1, 2, 1));
        s.token = address(other);
        proof = _proveAgent(s);
        _expectSkip(keyId, payee, 1, IEscrow.SkipReason.AgentKeyWrongToken);
        vm.prank(payee);
        escrow.settleAgent(proof, s);
        assertEq(escrow.agentHighWater(keyId, payee), 1);
    }

    /// Tokens get ids as keys are granted in them; a pair compares the settlement token's id with its
    /// key's, so two tokens that both have ids, or a settlement token without one, never pass for each
    /// other, whichever key and payee.
    function test_settleAgent_tokenIdsTellTokensApart() public {
        _fund(alice, 100);
        TestUSDC other = new TestUSDC();
        TestUSDC third = new TestUSDC(); // no key is ever granted in it: it has no id
        uint64 inToken = _aliceKey(payee, 500);
        AgentKeyGrant memory g = _grant(alice, KEY_B, payee, 500);
        g.token = address(other);
        uint64 inOther = _authorize(aliceKey, g);
        _assertSkippedIn(address(other), _agentPair(inToken, payee, 0, 1, 1), IEscrow.SkipReason.AgentKeyWrongToken);
        _assertSkippedIn(address(third), _agentPair(inToken, payee, 0, 1, 1), IEscrow.SkipReason.AgentKeyWrongToken);
        _assertSkippedIn(address(token), _agentPair(inOther, payee, 0, 1, 1), IEscrow.SkipReason.AgentKeyWrongToken);
        _settleAgent(_agentSettlement(_agentPair(inToken, payee, 0, 1, 1)));
        assertEq(escrow.agentHighWater(inToken, payee), 1);
    }

    /// An any-payee key's (key, payee) word learns its token's id from the first paid pair to that
    /// payee; before it the key's record decides, after it the id, and both refuse a token that has an
    /// id of its own.
    function test_settleAgent_anyPayeeKeyChecksTokenBeforeAndAfterCachingIt() public {
        _fund(alice, 100);
        TestUSDC other = new TestUSDC();
        AgentKeyGrant memory g = _grant(alice, KEY_2B, payee, 500);
        g.token = address(other); // gives `other` an id
        _authorize(aliceKey, g);
        uint64 keyId = _aliceKey(address(0), 500);
        _assertSkippedIn(address(other), _agentPair(keyId, payee, 0, 1, 1), IEscrow.SkipReason.AgentKeyWrongToken);
        _settleAgent(_agentSettlement(_agentPair(keyId, payee, 0, 1, 1)));
        _assertSkippedIn(address(other), _agentPair(keyId, payee, 1, 2, 1), IEscrow.SkipReason.AgentKeyWrongToken);
        _assertSkippedIn(address(other), _agentPair(keyId, payee2, 0, 1, 1), IEscrow.SkipReason.AgentKeyWrongToken);
        _settleAgent(_agentSettlement(_agentPair(keyId, payee, 1, 2, 1)));
        _settleAgent(_agentSettlement(_agentPair(keyId, payee2, 0, 1, 1)));
        assertEq(escrow.agentKey(keyId).spent, 3);
    }

    /// A scoped key's word for another payee holds no token id: its token is checked from the record
    /// first, so a pair out of scope in the wrong token is skipped for the token, not the scope.
    function test_settleAgent_checksTokenBeforeScope() public {
        _fund(alice, 100);
        TestUSDC other = new TestUSDC();
        uint64 keyId = _aliceKey(payee, 500);
        _assertSkippedIn(address(other), _agentPair(keyId, payee2, 0, 1, 1), IEscrow.SkipReason.AgentKeyWrongToken);
        _assertSkipped(_agentPair(keyId, payee2, 0, 1, 1), IEscrow.SkipReason.PayeeOutOfScope);
    }

    /// An any-payee key keeps what it may still spend in its word for the zero payee, which no pair can
    /// settle: no sender is the zero payee, nor approved by it.
    function test_settleAgent_zeroPayeeNeverSettles() public {
        _fund(alice, 1_000);
        uint64 keyId = _aliceKey(address(0), 500);
        _assertSkippedAs(relayer, _agentPair(keyId, address(0), 0, 1, 400), IEscrow.SkipReason.SubmitterNotApproved);
        _assertSkippedAs(alice, _agentPair(keyId, address(0), 0, 1, 400), IEscrow.SkipReason.SubmitterNotApproved);
        _settleAgent(_agentSettlement(_agentPair(keyId, payee, 0, 1, 500)));
        assertEq(escrow.agentKey(keyId).spent, 500);
        _assertSkipped(_agentPair(keyId, payee2, 0, 1, 1), IEscrow.SkipReason.AgentKeyCapExceeded);
    }

    function test_settleAgent_skipsIfPayeeOutOfScope() public {
        _fund(alice, 100);
        uint64 keyId = _aliceKey(payee, 500);
        _assertSkipped(_agentPair(keyId, payee2, 0, 1, 1), IEscrow.SkipReason.PayeeOutOfScope);
    }

    function test_settleAgent_skipsIfNonceMismatch() public {
        _fund(alice, 100);
        uint64 keyId = _aliceKey(payee, 500);
        _settleAgent(_agentSettlement(_agentPair(keyId, payee, 0, 3, 1)));
        _assertSkipped(_agentPair(keyId, payee, 0, 3, 1), IEscrow.SkipReason.NonceMismatch); // replay
        _assertSkipped(_agentPair(keyId, payee, 4, 5, 1), IEscrow.SkipReason.NonceMismatch); // gap
    }

    function test_settleAgent_skipsIfNonceNotIncreasing() public {
        _fund(alice, 100);
        uint64 keyId = _aliceKey(payee, 500);
        _assertSkipped(_agentPair(keyId, payee, 0, 0, 1), IEscrow.SkipReason.NonceNotIncreasing);
    }

    function test_settleAgent_skipsIfCapExceeded() public {
        _fund(alice, 1_000);
        uint64 keyId = _aliceKey(payee, 100);
        _settleAgent(_agentSettlement(_agentPair(keyId, payee, 0, 1, 60)));
        _assertSkipped(_agentPair(keyId, payee, 1, 2, 41), IEscrow.SkipReason.AgentKeyCapExceeded);
        _settleAgent(_agentSettlement(_agentPair(keyId, payee, 1, 2, 40))); // exactly the cap
        assertEq(escrow.agentKey(keyId).spent, 100);
    }

    function test_settleAgent_skipsIfInsufficientBalance() public {
        _fund(alice, 50);
        _reserve(alice, payee, 20);
        uint64 keyId = _aliceKey(payee, 500);
        _assertSkipped(_agentPair(keyId, payee, 0, 1, 51), IEscrow.SkipReason.InsufficientBalance);
        _settleAgent(_agentSettlement(_agentPair(keyId, payee, 0, 1, 50))); // reservation + free balance
        assertEq(escrow.reservation(alice, payee, address(token)), 0);
        assertEq(escrow.balance(alice, address(token)), 0);
    }

    /// A lowered cap applies from its effect time on; before it, the old cap.
    function test_settleAgent_capLoweringTakesEffectAfterDelay() public {
        _fund(alice, 1_000);
        uint64 keyId = _aliceKey(payee, 500);
        _settleAgent(_agentSettlement(_agentPair(keyId, payee, 0, 1, 100)));
        vm.prank(alice);
        escrow.lowerAgentKeyCap(keyId, 150);
        skip(REVOKE_DELAY - 1);
        _settleAgent(_agentSettlement(_agentPair(keyId, payee, 1, 2, 300))); // under the old cap: 400 ≤ 500
        skip(1);
        _assertSkipped(_agentPair(keyId, payee, 2, 3, 1), IEscrow.SkipReason.AgentKeyCapExceeded);
        assertEq(escrow.agentKey(keyId).spent, 400);
        assertEq(escrow.agentKey(keyId).cap, 150);
    }

    function test_settleAgent_capLoweredBelowSpentStopsTheKey() public {
        _fund(alice, 1_000);
        uint64 keyId = _aliceKey(payee, 500);
        _settleAgent(_agentSettlement(_agentPair(keyId, payee, 0, 1, 100)));
        vm.prank(alice);
        escrow.lowerAgentKeyCap(keyId, 0);
        skip(REVOKE_DELAY);
        _assertSkipped(_agentPair(keyId, payee, 1, 2, 0), IEscrow.SkipReason.AgentKeyCapExceeded);
    }

    /// The sender check comes before anything about the key: an unapproved sender learns nothing.
    function test_settleAgent_checksSenderBeforeKey() public {
        _assertSkippedAs(relayer, _agentPair(42, payee, 0, 1, 1), IEscrow.SkipReason.SubmitterNotApproved);
    }

    function testFuzz_settleAgent_paysOnlyWithinCap(uint128 cap, uint128 first, uint128 second) public {
        cap = uint128(bound(cap, 1, 1e18));
        first = uint128(bound(first, 0, cap));
        second = uint128(bound(second, 0, 2e18));
        _fund(alice, 4e18);
        uint64 keyId = _aliceKey(payee, cap);
        _settleAgent(_agentSettlement(_agentPair(keyId, payee, 0, 1, first)));
        if (uint256(first) + second > cap) {
            _assertSkipped(_agentPair(keyId, payee, 1, 2, second), IEscrow.SkipReason.AgentKeyCapExceeded);
        } else {
            _settleAgent(_agentSettlement(_agentPair(keyId, payee, 1, 2, second)));
        }
        assertLe(escrow.agentKey(keyId).spent, cap);
        assertEq(escrow.payeeBalance(payee, address(token)), escrow.agentKey(keyId).spent);
    }

    function testFuzz_settleAgent_paysOrSkipsByBalance(uint128 deposit, uint128 reserved, uint128 total) public {
        deposit = uint128(bound(deposit, 1, 1e18));
        reserved = uint128(bound(reserved, 0, deposit));
        total = uint128(bound(total, 0, 2e18));
        _fund(alice, deposit);
        if (reserved != 0) _reserve(alice, payee, reserved);
        uint64 keyId = _aliceKey(payee, type(uint128).max);
        if (total > deposit) {
            _assertSkipped(_agentPair(keyId, payee, 0, 1, total), IEscrow.SkipReason.InsufficientBalance);
        } else {
            _settleAgent(_agentSettlement(_agentPair(keyId, payee, 0, 1, total)));
            uint256 fromReservation = total < reserved ? total : reserved;
            assertEq(escrow.reservation(alice, payee, address(token)), reserved - fromReservation);
            assertEq(escrow.balance(alice, address(token)), deposit - reserved - (total - fromReservation));
        }
        assertEq(
            token.balanceOf(address(escrow)),
            escrow.balance(alice, address(token)) + escrow.reservation(alice, payee, address(token))
                + escrow.payeeBalance(payee, address(token))
        );
    }

    /// The sender is checked once per run of pairs of one payee and each run's payee credited once: in
    /// any order of pairs for a payee that approved the sender, one that did not, the sender itself
    /// and the zero payee, exactly the first and third kinds are paid, each payee is credited its
    /// pairs' totals, and the events name every pair in order.
    function testFuzz_settleAgent_checksSenderAndCreditsPerPayeeRun(uint256 seed) public {
        address[4] memory payees = [payee, payee2, relayer, address(0)];
        vm.prank(payee);
        escrow.approveSubmitter(relayer, true);
        _fund(alice, 1e9);
        uint64[4] memory keyIds =
            [_aliceKey(payee, 1e9), _aliceKey(payee2, 1e9), _aliceKey(relayer, 1e9), _aliceKey(address(0), 1e9)];
        uint64[4] memory marks;
        uint256[4] memory credits;
        AgentPair[] memory pairs = new AgentPair[](PAIR_SLOTS);
        for (uint256 i; i < PAIR_SLOTS; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            uint256 k = r % 4;
            pairs[i] = _agentPair(keyIds[k], payees[k], marks[k], marks[k] + 1, uint128(1 + (r >> 8) % 100));
            if (k == 0 || k == 2) (marks[k], credits[k]) = (marks[k] + 1, credits[k] + pairs[i].total);
        }
        AgentSettlement memory s = _agentSettlement(pairs);
        bytes memory proof = _proveAgent(s);
        vm.recordLogs();
        vm.prank(relayer);
        escrow.settleAgent(proof, s);
        _assertPairEventsInOrder(pairs);
        for (uint256 k; k < 3; ++k) {
            assertEq(escrow.payeeBalance(payees[k], address(token)), credits[k], "credit");
            assertEq(escrow.agentHighWater(keyIds[k], payees[k]), marks[k], "mark");
        }
        assertEq(escrow.balance(alice, address(token)), 1e9 - credits[0] - credits[2]);
    }

    /// @dev The recorded logs hold, in order, `AgentPairSettled` for each pair paid to `payee` or the
    /// relayer and `AgentPairSkipped(SubmitterNotApproved)` for each other pair.
    function _assertPairEventsInOrder(AgentPair[] memory pairs) internal {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 next;
        for (uint256 i; i < logs.length; ++i) {
            bytes32 topic = logs[i].topics[0];
            if (topic != IEscrow.AgentPairSettled.selector && topic != IEscrow.AgentPairSkipped.selector) continue;
            AgentPair memory p = pairs[next++];
            assertEq(uint256(logs[i].topics[1]), p.keyId, "keyId");
            if (p.payee == payee || p.payee == relayer) {
                assertEq(topic, IEscrow.AgentPairSettled.selector, "paid");
                assertEq(address(uint160(uint256(logs[i].topics[3]))), p.payee, "payee");
            } else {
                assertEq(topic, IEscrow.AgentPairSkipped.selector, "skipped");
                assertEq(address(uint160(uint256(logs[i].topics[2]))), p.payee, "payee");
                (, IEscrow.SkipReason reason) = abi.decode(logs[i].data, (uint64, IEscrow.SkipReason));
                assertEq(uint8(reason), uint8(IEscrow.SkipReason.SubmitterNotApproved), "reason");
            }
        }
        assertEq(next, pairs.length, "one event per pair");
    }

    // ------------------------------------------------------------------------------------------
    // settleMany with both families
    // ------------------------------------------------------------------------------------------

    function test_settleMany_mixesFamiliesEip712First() public {
        _fund(alice, 1_000);
        uint64 keyId = _aliceKey(payee, 500);
        Settlement[] memory ss = new Settlement[](1);
        ss[0] = _settlement(_pair(alice, payee, 0, 2, 30));
        AgentSettlement[] memory ags = new AgentSettlement[](2);
        ags[0] = _agentSettlement(_agentPair(keyId, payee, 0, 4, 40));
        ags[1] = _agentSettlement(_agentPair(keyId, payee, 4, 6, 50)); // chains after ags[0]
        bytes[] memory proofs = new bytes[](1);
        proofs[0] = _prove(ss[0]);
        bytes[] memory agentProofs = new bytes[](2);
        agentProofs[0] = _proveAgent(ags[0]);
        agentProofs[1] = _proveAgent(ags[1]);
        vm.expectEmit(address(escrow));
        emit IEscrow.PairSettled(alice, payee, address(token), 0, 2, 30);
        vm.expectEmit(address(escrow));
        emit IEscrow.AgentPairSettled(keyId, alice, payee, 0, 4, 40);
        vm.prank(payee);
        escrow.settleMany(proofs, ss, agentProofs, ags);
        assertEq(escrow.highWater(alice, payee), 2);
        assertEq(escrow.agentHighWater(keyId, payee), 6);
        assertEq(escrow.payeeBalance(payee, address(token)), 120);
        assertEq(escrow.agentKey(keyId).spent, 90);
    }

    function test_settleMany_revertsIfAgentLengthMismatch() public {
        vm.expectRevert(abi.encodeWithSelector(IEscrow.LengthMismatch.selector, 2, 1));
        escrow.settleMany(_noProofs(), _noSettlements(), new bytes[](2), new AgentSettlement[](1));
    }

    /// One invalid agent proof reverts the EIP-712 settlements of the same call too.
    function test_settleMany_revertsAllIfOneAgentProofInvalid() public {
        _fund(alice, 1_000);
        uint64 keyId = _aliceKey(payee, 500);
        Settlement[] memory ss = new Settlement[](1);
        ss[0] = _settlement(_pair(alice, payee, 0, 2, 30));
        AgentSettlement[] memory ags = new AgentSettlement[](1);
        ags[0] = _agentSettlement(_agentPair(keyId, payee, 0, 4, 40));
        bytes[] memory proofs = new bytes[](1);
        proofs[0] = _prove(ss[0]);
        bytes[] memory agentProofs = new bytes[](1);
        agentProofs[0] = _prove(ss[0]);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.InvalidProof.selector, AGENT_VERIFIER_ID));
        vm.prank(payee);
        escrow.settleMany(proofs, ss, agentProofs, ags);
        assertEq(escrow.highWater(alice, payee), 0);
    }

    function test_settleMany_agentOnly() public {
        _fund(alice, 1_000);
        uint64 keyId = _aliceKey(payee, 500);
        AgentSettlement[] memory ags = new AgentSettlement[](1);
        ags[0] = _agentSettlement(_agentPair(keyId, payee, 0, 4, 40));
        bytes[] memory agentProofs = new bytes[](1);
        agentProofs[0] = _proveAgent(ags[0]);
        vm.prank(payee);
        escrow.settleMany(_noProofs(), _noSettlements(), agentProofs, ags);
        assertEq(escrow.agentHighWater(keyId, payee), 4);
    }

    // ------------------------------------------------------------------------------------------
    // verifier families
    // ------------------------------------------------------------------------------------------

    /// An agent verifier keeps no batch verifier's place: the last batch verifier stays unretirable.
    function test_retireVerifier_lastActiveIsPerFamily() public {
        vm.expectRevert(abi.encodeWithSelector(IEscrow.LastActiveVerifier.selector, VERIFIER_ID));
        escrow.retireVerifier(VERIFIER_ID);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.LastActiveVerifier.selector, AGENT_VERIFIER_ID));
        escrow.retireVerifier(AGENT_VERIFIER_ID);
        _activateSecondVerifier(21, IEscrow.VerifierFamily.Agent);
        escrow.retireVerifier(AGENT_VERIFIER_ID);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.LastActiveVerifier.selector, VERIFIER_ID));
        escrow.retireVerifier(VERIFIER_ID);
    }

    function test_registerVerifier_agentFamilySettlesAgentPairs() public {
        AttestationVerifier second = _activateSecondVerifier(21, IEscrow.VerifierFamily.Agent);
        assertEq(uint8(escrow.verifierInfo(21).family), uint8(IEscrow.VerifierFamily.Agent));
        _fund(alice, 100);
        AgentKeyGrant memory g = _grant(alice, KEY_B, payee, 500);
        uint64 keyId = _authorize(aliceKey, g);
        AgentSettlement memory s = _agentSettlement(_agentPair(keyId, payee, 0, 1, 5));
        s.verifierId = 21;
        bytes memory proof = _attestWith(second, escrow.agentPublicInputOf(s));
        vm.prank(payee);
        escrow.settleAgent(proof, s);
        assertEq(escrow.payeeBalance(payee, address(token)), 5);
    }
}
