// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";

import {Escrow} from "../../src/Escrow.sol";
import {IEscrow} from "../../src/interfaces/IEscrow.sol";
import {TestUSDC} from "../../src/TestUSDC.sol";
import {AttestationVerifier} from "../../src/testing/AttestationVerifier.sol";
import {AgentKeyGrant} from "../../src/types/AgentKeyGrant.sol";
import {AgentPair, AgentSettlement} from "../../src/types/AgentSettlement.sol";
import {Pair, Settlement} from "../../src/types/Settlement.sol";

/// @notice A deployed stack (token, escrow, attestation stand-in verifier) and helpers to build,
/// attest and submit settlements. The stand-in accepts only the attester's signature over the exact
/// public input, so every test that settles also exercises the escrow's public-input packing.
/// Settlements are submitted by the first pair's payee, the submitter the escrow accepts by default.
/// The escrow has one verifier of each family: `VERIFIER_ID` (EIP-712 batches) and `AGENT_VERIFIER_ID`
/// (agent mandates), each its own stand-in instance, so an attestation of one never passes the other.
abstract contract EscrowFixture is Test {
    uint64 internal constant DELAY = 1 days;
    /// Unlike `DELAY`, so a test that confuses the two delays fails.
    uint64 internal constant REVOKE_DELAY = 6 hours;
    uint32 internal constant VERIFIER_ID = 8;
    uint32 internal constant AGENT_VERIFIER_ID = 20;
    uint16 internal constant MANDATE_SLOTS = 16;
    uint16 internal constant PAIR_SLOTS = 8;

    uint256 internal constant ATTESTER_KEY = 0xA77E57;

    /// Compressed Baby Jubjub keys from `tests/vectors/agent_mandates.json`: the base point B, -B and 2B.
    bytes32 internal constant KEY_B = 0x8b7d2d877a253c4b7733e1b91f05e0fcedf96bd11c2e572549b2a0f703727925;
    bytes32 internal constant KEY_MINUS_B = 0x8b7d2d877a253c4b7733e1b91f05e0fcedf96bd11c2e572549b2a0f7037279a5;
    bytes32 internal constant KEY_2B = 0x53686d2b4005178e1843106f2992a867a01d8a84afbe9e8bda300abfaf6c6601;

    TestUSDC internal token;
    Escrow internal escrow;
    AttestationVerifier internal verifier;
    AttestationVerifier internal agentVerifier;
    /// Tells the fixture's grants apart (`_grant` uses it as the salt).
    uint64 internal grantSalt;

    address internal owner = address(this);
    address internal alice;
    uint256 internal aliceKey;
    address internal bob;
    uint256 internal bobKey;
    address internal payee = makeAddr("payee");
    address internal payee2 = makeAddr("payee2");

    function setUp() public virtual {
        vm.warp(1_700_000_000);
        (alice, aliceKey) = makeAddrAndKey("alice");
        (bob, bobKey) = makeAddrAndKey("bob");
        token = new TestUSDC();
        verifier = new AttestationVerifier(vm.addr(ATTESTER_KEY));
        agentVerifier = new AttestationVerifier(vm.addr(ATTESTER_KEY));
        IEscrow.InitialVerifier[] memory initial = new IEscrow.InitialVerifier[](2);
        initial[0] = IEscrow.InitialVerifier(
            VERIFIER_ID, IEscrow.VerifierFamily.Batch, address(verifier), MANDATE_SLOTS, PAIR_SLOTS
        );
        initial[1] = IEscrow.InitialVerifier(
            AGENT_VERIFIER_ID, IEscrow.VerifierFamily.Agent, address(agentVerifier), MANDATE_SLOTS, PAIR_SLOTS
        );
        escrow = new Escrow(owner, DELAY, REVOKE_DELAY, initial);
    }

    /// @dev One EIP-712 (batch family) verifier for the constructor.
    function _initialVerifiers(uint32 id, address v, uint16 mandateSlots, uint16 pairSlots)
        internal
        pure
        returns (IEscrow.InitialVerifier[] memory initial)
    {
        initial = new IEscrow.InitialVerifier[](1);
        initial[0] = IEscrow.InitialVerifier(id, IEscrow.VerifierFamily.Batch, v, mandateSlots, pairSlots);
    }

    /// @dev Registers a second batch verifier and waits until it is active, so the first may be retired.
    function _activateSecondVerifier(uint32 id) internal returns (AttestationVerifier second) {
        return _activateSecondVerifier(id, IEscrow.VerifierFamily.Batch);
    }

    function _activateSecondVerifier(uint32 id, IEscrow.VerifierFamily family)
        internal
        returns (AttestationVerifier second)
    {
        second = new AttestationVerifier(vm.addr(ATTESTER_KEY));
        escrow.registerVerifier(id, family, address(second), MANDATE_SLOTS, PAIR_SLOTS);
        skip(2 * DELAY);
    }

    function _noProofs() internal pure returns (bytes[] memory) {
        return new bytes[](0);
    }

    function _noSettlements() internal pure returns (Settlement[] memory) {
        return new Settlement[](0);
    }

    function _noAgentSettlements() internal pure returns (AgentSettlement[] memory) {
        return new AgentSettlement[](0);
    }

    function _fund(address payer, uint256 amount) internal {
        token.mint(payer, amount);
        vm.startPrank(payer);
        token.approve(address(escrow), amount);
        escrow.deposit(address(token), amount);
        vm.stopPrank();
    }

    function _pair(address payer, address to, uint64 fromNonce, uint64 toNonce, uint128 total)
        internal
        pure
        returns (Pair memory)
    {
        return Pair({payer: payer, payee: to, fromNonce: fromNonce, toNonce: toNonce, total: total});
    }

    function _settlement(Pair memory p) internal view returns (Settlement memory s) {
        Pair[] memory pairs = new Pair[](1);
        pairs[0] = p;
        return _settlement(pairs);
    }

    function _settlement(Pair[] memory pairs) internal view returns (Settlement memory s) {
        s.verifierId = VERIFIER_ID;
        s.token = address(token);
        s.notAfter = uint64(block.timestamp + 1 hours);
        s.pairs = pairs;
    }

    /// @dev The stand-in's proof: the attester's signature over the settlement's public input.
    function _prove(Settlement memory s) internal view returns (bytes memory) {
        return _attest(escrow.publicInputOf(s));
    }

    function _attest(uint256 input) internal view returns (bytes memory) {
        return _attestWith(verifier, input);
    }

    function _attestWith(AttestationVerifier v, uint256 input) internal view returns (bytes memory) {
        (uint8 pv, bytes32 r, bytes32 sig) = vm.sign(ATTESTER_KEY, v.attestationDigest(input));
        return abi.encodePacked(r, sig, pv);
    }

    /// @dev Submits as the first pair's payee.
    function _settle(Settlement memory s) internal {
        _settleAs(s.pairs.length == 0 ? payee : s.pairs[0].payee, s);
    }

    function _settleAs(address sender, Settlement memory s) internal {
        bytes memory proof = _prove(s);
        vm.prank(sender);
        escrow.settle(proof, s);
    }

    function _reserve(address payer, address to, uint256 amount) internal {
        vm.prank(payer);
        escrow.reserve(to, address(token), amount);
    }

    // ------------------------------------------------------------------------------------------
    // agent keys and agent settlements
    // ------------------------------------------------------------------------------------------

    /// @dev A grant of `key` by `payer` in the fixture's token, valid from now for 30 days; `scope` zero
    /// lets it pay any payee. Each call gets a fresh salt, so grants never collide.
    function _grant(address payer, bytes32 key, address scope, uint128 cap) internal returns (AgentKeyGrant memory) {
        return AgentKeyGrant({
            payer: payer,
            key: key,
            token: address(token),
            payee: scope,
            cap: cap,
            validAfter: uint64(block.timestamp),
            validUntil: uint64(block.timestamp + 30 days),
            salt: grantSalt++
        });
    }

    /// @dev The payer's 65-byte `r ‖ s ‖ v` signature over the grant's EIP-712 digest on this escrow.
    function _signGrant(uint256 signerKey, AgentKeyGrant memory g) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(signerKey, escrow.agentKeyGrantDigest(g));
        return abi.encodePacked(r, s, v);
    }

    function _authorize(uint256 payerKey, AgentKeyGrant memory g) internal returns (uint64) {
        return escrow.authorizeAgentKey(g, _signGrant(payerKey, g));
    }

    /// @dev Alice's key `KEY_B`, scoped to `scope` (zero: any payee), with `cap`.
    function _aliceKey(address scope, uint128 cap) internal returns (uint64) {
        return _authorize(aliceKey, _grant(alice, KEY_B, scope, cap));
    }

    function _agentPair(uint64 keyId, address to, uint64 fromNonce, uint64 toNonce, uint128 total)
        internal
        pure
        returns (AgentPair memory)
    {
        return AgentPair({keyId: keyId, payee: to, fromNonce: fromNonce, toNonce: toNonce, total: total});
    }

    function _agentSettlement(AgentPair memory p) internal view returns (AgentSettlement memory) {
        AgentPair[] memory pairs = new AgentPair[](1);
        pairs[0] = p;
        return _agentSettlement(pairs);
    }

    function _agentSettlement(AgentPair[] memory pairs) internal view returns (AgentSettlement memory s) {
        s.verifierId = AGENT_VERIFIER_ID;
        s.token = address(token);
        s.notAfter = uint64(block.timestamp + 1 hours);
        s.pairs = pairs;
    }

    /// @dev The agent stand-in's proof: the attester's signature over the agent public input.
    function _proveAgent(AgentSettlement memory s) internal view returns (bytes memory) {
        return _attestWith(agentVerifier, escrow.agentPublicInputOf(s));
    }

    /// @dev Submits as the first pair's payee.
    function _settleAgent(AgentSettlement memory s) internal {
        _settleAgentAs(s.pairs.length == 0 ? payee : s.pairs[0].payee, s);
    }

    function _settleAgentAs(address sender, AgentSettlement memory s) internal {
        bytes memory proof = _proveAgent(s);
        vm.prank(sender);
        escrow.settleAgent(proof, s);
    }

    /// @dev The agent packing straight from `docs/agent-keys.md`, with the keys given (not read).
    function _referenceAgentPublicInput(bytes32 separator, AgentSettlement memory s, bytes32[] memory keys)
        internal
        pure
        returns (uint256)
    {
        bytes memory packed = abi.encodePacked(separator, s.verifierId, s.token, s.notAfter);
        for (uint256 i; i < s.pairs.length; ++i) {
            AgentPair memory p = s.pairs[i];
            packed = abi.encodePacked(packed, p.keyId, keys[i], p.payee, p.fromNonce, p.toNonce, p.total);
        }
        return
            uint256(keccak256(packed)) % 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    }

    /// @dev Reference packing straight from the pinned spec, to check the escrow's one-pass encoder.
    function _referencePublicInput(bytes32 separator, Settlement memory s) internal pure returns (uint256) {
        bytes memory packed = abi.encodePacked(separator, s.verifierId, s.token, s.notAfter);
        for (uint256 i; i < s.pairs.length; ++i) {
            Pair memory p = s.pairs[i];
            packed = abi.encodePacked(packed, p.payer, p.payee, p.fromNonce, p.toNonce, p.total);
        }
        return
            uint256(keccak256(packed)) % 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    }

    // ------------------------------------------------------------------------------------------
    // the escrow's reservation counts, read from storage
    // ------------------------------------------------------------------------------------------

    /// @dev `Escrow`'s slots of `_balances` and `_pairs` (`forge inspect Escrow storageLayout`); the
    /// readers below check each word they load against a view, so a moved slot fails loudly.
    uint256 internal constant BALANCES_SLOT = 7;
    uint256 internal constant PAIRS_SLOT = 9;

    /// @dev For how many payees `payer` holds a non-zero reservation in `t`: the bits above the free
    /// balance in its balance word.
    function _reservationCount(address payer, address t) internal view returns (uint256) {
        bytes32 slot = keccak256(abi.encode(t, keccak256(abi.encode(payer, BALANCES_SLOT))));
        uint256 word = uint256(vm.load(address(escrow), slot));
        assertEq(uint192(word), escrow.balance(payer, t), "the balance word's slot");
        return word >> 192;
    }

    /// @dev In how many tokens `payer` holds a non-zero reservation for `to`: the bits above the
    /// high-water mark in the (payer, payee) word.
    function _reservedTokenCount(address payer, address to) internal view returns (uint256) {
        bytes32 slot = keccak256(abi.encode(to, keccak256(abi.encode(payer, PAIRS_SLOT))));
        uint256 word = uint256(vm.load(address(escrow), slot));
        assertEq(uint64(word), escrow.highWater(payer, to), "the (payer, payee) word's slot");
        return word >> 64;
    }
}
