// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";

import {Escrow} from "../../src/Escrow.sol";
import {IEscrow} from "../../src/interfaces/IEscrow.sol";
import {TestUSDC} from "../../src/TestUSDC.sol";
import {AttestationVerifier} from "../../src/testing/AttestationVerifier.sol";
import {Pair, Settlement} from "../../src/types/Settlement.sol";

/// @notice A deployed stack (token, escrow, attestation stand-in verifier) and helpers to build,
/// attest and submit settlements. The stand-in accepts only the attester's signature over the exact
/// public input, so every test that settles also exercises the escrow's public-input packing.
/// Settlements are submitted by the first pair's payee, the submitter the escrow accepts by default.
abstract contract EscrowFixture is Test {
    uint64 internal constant DELAY = 1 days;
    uint32 internal constant VERIFIER_ID = 8;
    uint16 internal constant MANDATE_SLOTS = 16;
    uint16 internal constant PAIR_SLOTS = 8;

    uint256 internal constant ATTESTER_KEY = 0xA77E57;

    TestUSDC internal token;
    Escrow internal escrow;
    AttestationVerifier internal verifier;

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
        escrow = new Escrow(owner, DELAY, _initialVerifiers(VERIFIER_ID, address(verifier), MANDATE_SLOTS, PAIR_SLOTS));
    }

    function _initialVerifiers(uint32 id, address v, uint16 mandateSlots, uint16 pairSlots)
        internal
        pure
        returns (IEscrow.InitialVerifier[] memory initial)
    {
        initial = new IEscrow.InitialVerifier[](1);
        initial[0] = IEscrow.InitialVerifier(id, v, mandateSlots, pairSlots);
    }

    /// @dev Registers a second verifier and waits until it is active, so the first may be retired.
    function _activateSecondVerifier(uint32 id) internal returns (AttestationVerifier second) {
        second = new AttestationVerifier(vm.addr(ATTESTER_KEY));
        escrow.registerVerifier(id, address(second), MANDATE_SLOTS, PAIR_SLOTS);
        skip(2 * DELAY);
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
        (uint8 v, bytes32 r, bytes32 sig) = vm.sign(ATTESTER_KEY, verifier.attestationDigest(input));
        return abi.encodePacked(r, sig, v);
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
}
