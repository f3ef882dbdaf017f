// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Escrow} from "../src/Escrow.sol";
import {IEscrow} from "../src/interfaces/IEscrow.sol";
import {AttestationVerifier} from "../src/testing/AttestationVerifier.sol";
import {Settlement} from "../src/types/Settlement.sol";
import {EscrowFixture} from "./utils/EscrowFixture.sol";

/// @notice The owner's bounded power: a verifier it registers acts only `withdrawDelay` later (the
/// constructor's act at once), and it cannot retire the last usable verifier.
contract EscrowOwnerTest is EscrowFixture {
    uint32 internal constant NEW_ID = 2;

    // ------------------------------------------------------------------------------------------
    // constructor
    // ------------------------------------------------------------------------------------------

    function test_constructor_initialVerifiersActiveAtOnce() public {
        AttestationVerifier v = new AttestationVerifier(vm.addr(ATTESTER_KEY));
        IEscrow.InitialVerifier[] memory initial = new IEscrow.InitialVerifier[](2);
        initial[0] = IEscrow.InitialVerifier(1, IEscrow.VerifierFamily.Batch, address(v), 1, 1);
        initial[1] = IEscrow.InitialVerifier(8, IEscrow.VerifierFamily.Agent, address(v), 16, 8);
        address expected = vm.computeCreateAddress(address(this), vm.getNonce(address(this)));
        vm.expectEmit(expected);
        emit IEscrow.VerifierRegistered(1, IEscrow.VerifierFamily.Batch, address(v), 1, 1, uint64(block.timestamp));
        vm.expectEmit(expected);
        emit IEscrow.VerifierRegistered(8, IEscrow.VerifierFamily.Agent, address(v), 16, 8, uint64(block.timestamp));
        Escrow fresh = new Escrow(owner, DELAY, REVOKE_DELAY, initial);
        assertEq(address(fresh), expected);
        IEscrow.VerifierInfo memory info = fresh.verifierInfo(8);
        assertEq(info.verifier, address(v));
        assertEq(info.mandateSlots, 16);
        assertEq(info.pairSlots, 8);
        assertEq(info.activeAt, block.timestamp);
        assertFalse(info.retired);
        assertEq(uint8(info.family), uint8(IEscrow.VerifierFamily.Agent));
        assertEq(uint8(fresh.verifierInfo(1).family), uint8(IEscrow.VerifierFamily.Batch));
    }

    function test_constructor_revertsIfInitialVerifierHasNoCode() public {
        vm.expectRevert(abi.encodeWithSelector(IEscrow.VerifierHasNoCode.selector, alice));
        new Escrow(owner, DELAY, REVOKE_DELAY, _initialVerifiers(1, alice, 1, 1));
    }

    function test_constructor_revertsIfInitialVerifierSlotsInvalid() public {
        vm.expectRevert(abi.encodeWithSelector(IEscrow.InvalidVerifierSlots.selector, 1, 2));
        new Escrow(owner, DELAY, REVOKE_DELAY, _initialVerifiers(1, address(verifier), 1, 2));
    }

    function test_constructor_revertsIfInitialVerifierIdRepeated() public {
        IEscrow.InitialVerifier[] memory initial = new IEscrow.InitialVerifier[](2);
        initial[0] = IEscrow.InitialVerifier(1, IEscrow.VerifierFamily.Batch, address(verifier), 1, 1);
        initial[1] = IEscrow.InitialVerifier(1, IEscrow.VerifierFamily.Agent, address(verifier), 2, 2);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.VerifierAlreadyRegistered.selector, 1));
        new Escrow(owner, DELAY, REVOKE_DELAY, initial);
    }

    function test_settle_initialVerifierWorksAtDeployment() public {
        _fund(alice, 100);
        _settle(_settlement(_pair(alice, payee, 0, 1, 10))); // the fixture's escrow, no time passed
        assertEq(escrow.highWater(alice, payee), 1);
    }

    // ------------------------------------------------------------------------------------------
    // activation delay
    // ------------------------------------------------------------------------------------------

    /// A verifier the owner registers cannot act before a payer who requested its withdrawal at the
    /// announcement could leave: settlements naming it revert until `activeAt`.
    function test_settle_revertsIfVerifierNotActive() public {
        _fund(alice, 100);
        AttestationVerifier v = new AttestationVerifier(vm.addr(ATTESTER_KEY));
        escrow.registerVerifier(NEW_ID, IEscrow.VerifierFamily.Batch, address(v), MANDATE_SLOTS, PAIR_SLOTS);
        uint64 activeAt = uint64(block.timestamp + 2 * DELAY);
        skip(2 * DELAY - 1);
        Settlement memory s = _settlement(_pair(alice, payee, 0, 1, 10));
        s.verifierId = NEW_ID;
        vm.expectRevert(abi.encodeWithSelector(IEscrow.VerifierNotActive.selector, NEW_ID, activeAt));
        vm.prank(payee);
        escrow.settle("", s);
    }

    function test_settle_acceptsVerifierFromActiveAt() public {
        _fund(alice, 100);
        AttestationVerifier v = _activateSecondVerifier(NEW_ID);
        assertEq(escrow.verifierInfo(NEW_ID).activeAt, block.timestamp);
        Settlement memory s = _settlement(_pair(alice, payee, 0, 1, 10));
        s.verifierId = NEW_ID;
        (uint8 pv, bytes32 r, bytes32 sig) = vm.sign(ATTESTER_KEY, v.attestationDigest(escrow.publicInputOf(s)));
        vm.prank(payee);
        escrow.settle(abi.encodePacked(r, sig, pv), s);
        assertEq(escrow.highWater(alice, payee), 1);
    }

    /// A payer who requests its withdrawal up to one `withdrawDelay` after the announcement can execute
    /// it by the time the verifier becomes active.
    function test_registerVerifier_withdrawalRequestedWithinADelayIsReadyByActivation() public {
        _fund(alice, 100);
        escrow.registerVerifier(
            NEW_ID, IEscrow.VerifierFamily.Batch, address(new AttestationVerifier(address(1))), 1, 1
        );
        skip(DELAY);
        vm.prank(alice);
        escrow.requestWithdraw(address(token), 100);
        (, uint64 readyAt) = escrow.pendingWithdrawal(alice, address(token));
        assertEq(readyAt, escrow.verifierInfo(NEW_ID).activeAt);
        vm.warp(readyAt);
        vm.prank(alice);
        assertEq(escrow.executeWithdraw(address(token)), 100);
    }

    // ------------------------------------------------------------------------------------------
    // retireVerifier keeps one usable verifier
    // ------------------------------------------------------------------------------------------

    function test_retireVerifier_revertsIfLastActive() public {
        vm.expectRevert(abi.encodeWithSelector(IEscrow.LastActiveVerifier.selector, VERIFIER_ID));
        escrow.retireVerifier(VERIFIER_ID);
    }

    /// A registered replacement does not count until it is active.
    function test_retireVerifier_revertsIfOtherNotYetActive() public {
        escrow.registerVerifier(
            NEW_ID, IEscrow.VerifierFamily.Batch, address(new AttestationVerifier(address(1))), 1, 1
        );
        skip(2 * DELAY - 1);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.LastActiveVerifier.selector, VERIFIER_ID));
        escrow.retireVerifier(VERIFIER_ID);
        skip(1);
        escrow.retireVerifier(VERIFIER_ID);
        assertTrue(escrow.verifierInfo(VERIFIER_ID).retired);
    }

    function test_retireVerifier_revertsIfOtherRetired() public {
        _activateSecondVerifier(NEW_ID);
        escrow.retireVerifier(NEW_ID);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.LastActiveVerifier.selector, VERIFIER_ID));
        escrow.retireVerifier(VERIFIER_ID);
    }

    /// Any size can prove any mandate in smaller chunks, so even a one-slot verifier keeps payees'
    /// mandates settleable after a larger one is retired.
    function test_retireVerifier_leavesMandatesSettleable() public {
        _fund(alice, 100);
        AttestationVerifier small = new AttestationVerifier(vm.addr(ATTESTER_KEY));
        escrow.registerVerifier(NEW_ID, IEscrow.VerifierFamily.Batch, address(small), 1, 1);
        skip(2 * DELAY);
        escrow.retireVerifier(VERIFIER_ID);
        Settlement memory s = _settlement(_pair(alice, payee, 0, 1, 10));
        s.verifierId = NEW_ID;
        (uint8 v, bytes32 r, bytes32 sig) = vm.sign(ATTESTER_KEY, small.attestationDigest(escrow.publicInputOf(s)));
        vm.prank(payee);
        escrow.settle(abi.encodePacked(r, sig, v), s);
        assertEq(escrow.payeeBalance(payee, address(token)), 10);
    }

    function testFuzz_settle_verifierActiveOnlyFromActiveAt(uint256 elapsed) public {
        elapsed = bound(elapsed, 0, 3 * DELAY);
        _fund(alice, 100);
        AttestationVerifier v = new AttestationVerifier(vm.addr(ATTESTER_KEY));
        escrow.registerVerifier(NEW_ID, IEscrow.VerifierFamily.Batch, address(v), MANDATE_SLOTS, PAIR_SLOTS);
        uint64 activeAt = uint64(block.timestamp + 2 * DELAY);
        skip(elapsed);
        Settlement memory s = _settlement(_pair(alice, payee, 0, 1, 10));
        s.verifierId = NEW_ID;
        (uint8 pv, bytes32 r, bytes32 sig) = vm.sign(ATTESTER_KEY, v.attestationDigest(escrow.publicInputOf(s)));
        if (elapsed < 2 * DELAY) {
            vm.expectRevert(abi.encodeWithSelector(IEscrow.VerifierNotActive.selector, NEW_ID, activeAt));
        }
        vm.prank(payee);
        escrow.settle(abi.encodePacked(r, sig, pv), s);
        assertEq(escrow.highWater(alice, payee), elapsed < 2 * DELAY ? 0 : 1);
    }
}
