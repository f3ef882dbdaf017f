// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IEscrow} from "../src/interfaces/IEscrow.sol";
import {TestUSDC} from "../src/TestUSDC.sol";
import {AgentKeyGrant} from "../src/types/AgentKeyGrant.sol";
import {AgentSettlement} from "../src/types/AgentSettlement.sol";
import {Pair, Settlement} from "../src/types/Settlement.sol";
import {EscrowFixture} from "./utils/EscrowFixture.sol";

/// @notice Reservations: a part of a payer's funds that only one payee's settlements can debit (before
/// the free balance), and that returns to the free balance only `withdrawDelay` after a release request.
contract EscrowReservationsTest is EscrowFixture {
    function _requestRelease(address payer, address to, uint256 amount) internal {
        vm.prank(payer);
        escrow.requestRelease(to, address(token), amount);
    }

    function _reserved(address payer, address to) internal view returns (uint256) {
        return escrow.reservation(payer, to, address(token));
    }

    function _free(address payer) internal view returns (uint256) {
        return escrow.balance(payer, address(token));
    }

    // ------------------------------------------------------------------------------------------
    // reserve
    // ------------------------------------------------------------------------------------------

    function test_reserve_movesFreeBalanceToReservation() public {
        _fund(alice, 100);
        vm.expectEmit(address(escrow));
        emit IEscrow.Reserved(alice, payee, address(token), 60);
        _reserve(alice, payee, 60);
        _reserve(alice, payee, 10);
        assertEq(_reserved(alice, payee), 70);
        assertEq(_free(alice), 30);
        assertEq(_reserved(alice, payee2), 0);
        assertEq(token.balanceOf(address(escrow)), 100, "a reservation moves no tokens");
    }

    function test_reserve_revertsIfZero() public {
        _fund(alice, 100);
        vm.expectRevert(IEscrow.ZeroAmount.selector);
        vm.prank(alice);
        escrow.reserve(payee, address(token), 0);
    }

    function test_reserve_revertsIfZeroPayee() public {
        _fund(alice, 100);
        vm.expectRevert(IEscrow.ZeroAddress.selector);
        vm.prank(alice);
        escrow.reserve(address(0), address(token), 1);
    }

    function test_reserve_revertsIfAboveFreeBalance() public {
        _fund(alice, 100);
        _reserve(alice, payee, 60);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.InsufficientBalance.selector, alice, address(token), 40, 41));
        vm.prank(alice);
        escrow.reserve(payee2, address(token), 41);
    }

    // ------------------------------------------------------------------------------------------
    // requestRelease, cancelRelease, executeRelease
    // ------------------------------------------------------------------------------------------

    function test_requestRelease_recordsRequest() public {
        _fund(alice, 100);
        _reserve(alice, payee, 60);
        vm.expectEmit(address(escrow));
        emit IEscrow.ReleaseRequested(alice, payee, address(token), 40, uint64(block.timestamp + DELAY));
        _requestRelease(alice, payee, 40);
        (uint256 amount, uint64 readyAt) = escrow.pendingRelease(alice, payee, address(token));
        assertEq(amount, 40);
        assertEq(readyAt, block.timestamp + DELAY);
        assertEq(_reserved(alice, payee), 60, "a request stays in the reservation");
    }

    function test_requestRelease_replacesEarlierRequest() public {
        _fund(alice, 100);
        _reserve(alice, payee, 60);
        _requestRelease(alice, payee, 40);
        skip(1 hours);
        _requestRelease(alice, payee, 10);
        (uint256 amount, uint64 readyAt) = escrow.pendingRelease(alice, payee, address(token));
        assertEq(amount, 10);
        assertEq(readyAt, block.timestamp + DELAY, "the delay restarts");
    }

    function test_requestRelease_revertsIfZero() public {
        vm.expectRevert(IEscrow.ZeroAmount.selector);
        vm.prank(alice);
        escrow.requestRelease(payee, address(token), 0);
    }

    function test_requestRelease_revertsIfAboveReservation() public {
        _fund(alice, 100);
        _reserve(alice, payee, 60);
        vm.expectRevert(
            abi.encodeWithSelector(IEscrow.InsufficientReservation.selector, alice, payee, address(token), 60, 61)
        );
        vm.prank(alice);
        escrow.requestRelease(payee, address(token), 61);
    }

    function test_cancelRelease_clearsRequest() public {
        _fund(alice, 100);
        _reserve(alice, payee, 60);
        _requestRelease(alice, payee, 60);
        vm.expectEmit(address(escrow));
        emit IEscrow.ReleaseCancelled(alice, payee, address(token));
        vm.prank(alice);
        escrow.cancelRelease(payee, address(token));
        (uint256 amount, uint64 readyAt) = escrow.pendingRelease(alice, payee, address(token));
        assertEq(amount, 0);
        assertEq(readyAt, 0);
    }

    function test_cancelRelease_revertsIfNone() public {
        vm.expectRevert(abi.encodeWithSelector(IEscrow.NoPendingRelease.selector, alice, payee, address(token)));
        vm.prank(alice);
        escrow.cancelRelease(payee, address(token));
    }

    function test_executeRelease_revertsIfNone() public {
        vm.expectRevert(abi.encodeWithSelector(IEscrow.NoPendingRelease.selector, alice, payee, address(token)));
        vm.prank(alice);
        escrow.executeRelease(payee, address(token));
    }

    function test_executeRelease_revertsIfNotReady() public {
        _fund(alice, 100);
        _reserve(alice, payee, 60);
        _requestRelease(alice, payee, 60);
        skip(DELAY - 1);
        vm.expectRevert(
            abi.encodeWithSelector(IEscrow.ReleaseNotReady.selector, uint64(block.timestamp + 1), block.timestamp)
        );
        vm.prank(alice);
        escrow.executeRelease(payee, address(token));
    }

    function test_executeRelease_movesReservationToFreeBalanceAfterDelay() public {
        _fund(alice, 100);
        _reserve(alice, payee, 60);
        _requestRelease(alice, payee, 45);
        skip(DELAY);
        vm.expectEmit(address(escrow));
        emit IEscrow.ReleaseExecuted(alice, payee, address(token), 45, 45);
        vm.prank(alice);
        assertEq(escrow.executeRelease(payee, address(token)), 45);
        assertEq(_reserved(alice, payee), 15);
        assertEq(_free(alice), 85);
        (uint256 amount,) = escrow.pendingRelease(alice, payee, address(token));
        assertEq(amount, 0);
    }

    /// A pending release stays debitable by the payee's settlements until it is executed, so a payee
    /// that accepted against the reservation is paid first; the release gets what is left.
    function test_executeRelease_releasesOnlyWhatSettlementsLeft() public {
        _fund(alice, 100);
        _reserve(alice, payee, 60);
        _requestRelease(alice, payee, 60);
        _settle(_settlement(_pair(alice, payee, 0, 4, 50)));
        assertEq(_reserved(alice, payee), 10, "the pending release was debited");
        assertEq(_free(alice), 40);
        skip(DELAY);
        vm.expectEmit(address(escrow));
        emit IEscrow.ReleaseExecuted(alice, payee, address(token), 60, 10);
        vm.prank(alice);
        assertEq(escrow.executeRelease(payee, address(token)), 10);
        assertEq(_reserved(alice, payee), 0);
        assertEq(_free(alice), 50);
    }

    function test_executeRelease_releasesNothingIfAllSettled() public {
        _fund(alice, 100);
        _reserve(alice, payee, 60);
        _requestRelease(alice, payee, 60);
        _settle(_settlement(_pair(alice, payee, 0, 1, 100)));
        skip(DELAY);
        vm.prank(alice);
        assertEq(escrow.executeRelease(payee, address(token)), 0);
        assertEq(_free(alice), 0);
        (uint256 amount,) = escrow.pendingRelease(alice, payee, address(token));
        assertEq(amount, 0, "the spent request is cleared");
    }

    // ------------------------------------------------------------------------------------------
    // settlement against reservations
    // ------------------------------------------------------------------------------------------

    function test_settle_debitsReservationFirst() public {
        _fund(alice, 100);
        _reserve(alice, payee, 60);
        _settle(_settlement(_pair(alice, payee, 0, 1, 45)));
        assertEq(_reserved(alice, payee), 15);
        assertEq(_free(alice), 40, "the free balance is untouched while the reservation covers");
        assertEq(escrow.payeeBalance(payee, address(token)), 45);
    }

    function test_settle_debitsReservationThenFreeBalance() public {
        _fund(alice, 100);
        _reserve(alice, payee, 60);
        vm.expectEmit(address(escrow));
        emit IEscrow.PairSettled(alice, payee, address(token), 0, 1, 75);
        _settle(_settlement(_pair(alice, payee, 0, 1, 75)));
        assertEq(_reserved(alice, payee), 0);
        assertEq(_free(alice), 25);
        // The used-up reservation can be refilled and is debited first again.
        _reserve(alice, payee, 20);
        _settle(_settlement(_pair(alice, payee, 1, 2, 10)));
        assertEq(_reserved(alice, payee), 10);
        assertEq(_free(alice), 5);
    }

    function test_settle_skipsIfReservationAndFreeBalanceShort() public {
        _fund(alice, 100);
        _reserve(alice, payee, 60);
        Settlement memory s = _settlement(_pair(alice, payee, 0, 1, 101));
        bytes memory proof = _prove(s);
        vm.expectEmit(address(escrow));
        emit IEscrow.PairSkipped(alice, payee, 0, IEscrow.SkipReason.InsufficientBalance);
        vm.prank(payee);
        escrow.settle(proof, s);
        assertEq(_reserved(alice, payee), 60, "nothing changes for a skipped pair");
        assertEq(_free(alice), 40);
        assertEq(escrow.highWater(alice, payee), 0);
    }

    /// The credit risk that reservations remove: payee2 settles first and takes the whole free balance,
    /// but cannot touch alice's reservation for payee, which still pays payee in full.
    function test_settle_otherPayeeCannotDebitReservation() public {
        _fund(alice, 100);
        _reserve(alice, payee, 60);
        Settlement memory s = _settlement(_pair(alice, payee2, 0, 1, 41));
        bytes memory proof = _prove(s);
        vm.expectEmit(address(escrow));
        emit IEscrow.PairSkipped(alice, payee2, 0, IEscrow.SkipReason.InsufficientBalance);
        vm.prank(payee2);
        escrow.settle(proof, s);
        _settle(_settlement(_pair(alice, payee2, 0, 1, 40)));
        assertEq(_free(alice), 0);
        assertEq(_reserved(alice, payee), 60, "payee2's settlements never touch payee's reservation");
        _settle(_settlement(_pair(alice, payee, 0, 1, 60)));
        assertEq(escrow.payeeBalance(payee, address(token)), 60);
    }

    /// A reservation holds in one token only: a settlement in another token debits the free balance.
    function test_settle_reservationCoversOnlyItsToken() public {
        TestUSDC other = new TestUSDC();
        _fund(alice, 100);
        _reserve(alice, payee, 100);
        other.mint(alice, 50);
        vm.startPrank(alice);
        other.approve(address(escrow), 50);
        escrow.deposit(address(other), 50);
        vm.stopPrank();
        Settlement memory s = _settlement(_pair(alice, payee, 0, 1, 30));
        s.token = address(other);
        _settle(s);
        assertEq(escrow.balance(alice, address(other)), 20);
        assertEq(_reserved(alice, payee), 100);
    }

    /// Once a reservation is used up (by a settlement or a release), settling the pair reads no more
    /// storage than a pair that never had one: the per-pair count of reserved tokens went back to 0.
    function test_settle_readsNoReservationOnceUsedUp() public {
        address carol = makeAddr("carol");
        _fund(alice, 100);
        _fund(bob, 100);
        _fund(carol, 100);
        _reserve(alice, payee, 10);
        _reserve(bob, payee, 10);
        _requestRelease(bob, payee, 10);
        skip(DELAY);
        vm.prank(bob);
        escrow.executeRelease(payee, address(token));
        address[3] memory payers = [alice, bob, carol];
        for (uint256 i; i < payers.length; ++i) {
            _settle(_settlement(_pair(payers[i], payee, 0, 1, 10))); // drains alice's reservation
        }
        uint256[3] memory reads;
        for (uint256 i; i < payers.length; ++i) {
            Settlement memory s = _settlement(_pair(payers[i], payee, 1, 2, 10));
            bytes memory proof = _prove(s);
            vm.record();
            vm.prank(payee);
            escrow.settle(proof, s);
            (bytes32[] memory slots,) = vm.accesses(address(escrow));
            reads[i] = slots.length;
        }
        assertEq(reads[0], reads[2], "used up by a settlement");
        assertEq(reads[1], reads[2], "used up by a release");
    }

    /// Reserved funds cannot be withdrawn; a withdrawal request is against the free balance only.
    function test_requestWithdraw_revertsIfAboveFreeBalance() public {
        _fund(alice, 100);
        _reserve(alice, payee, 60);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.InsufficientBalance.selector, alice, address(token), 40, 41));
        vm.prank(alice);
        escrow.requestWithdraw(address(token), 41);
    }

    function test_executeWithdraw_paysOnlyFreeBalance() public {
        _fund(alice, 100);
        vm.prank(alice);
        escrow.requestWithdraw(address(token), 100);
        _reserve(alice, payee, 70);
        skip(DELAY);
        vm.prank(alice);
        assertEq(escrow.executeWithdraw(address(token)), 30);
        assertEq(_reserved(alice, payee), 70);
    }

    // ------------------------------------------------------------------------------------------
    // fuzz
    // ------------------------------------------------------------------------------------------

    /// Whatever the amounts, a pair is covered iff reservation + free balance ≥ total, and is paid
    /// from the reservation first.
    function testFuzz_settle_debitsReservationFirst(uint96 free, uint96 held, uint96 total) public {
        held = uint96(bound(held, 1, type(uint96).max));
        _fund(alice, uint256(free) + held);
        _reserve(alice, payee, held);
        _settle(_settlement(_pair(alice, payee, 0, 1, total)));
        bool paid = uint256(total) <= uint256(free) + held;
        uint256 fromReservation = paid ? (total < held ? total : held) : 0;
        assertEq(_reserved(alice, payee), held - fromReservation);
        assertEq(_free(alice), paid ? free - (total - fromReservation) : free);
        assertEq(escrow.payeeBalance(payee, address(token)), paid ? total : 0);
    }

    /// Settlements of other payees, however large and however many, never touch a reservation; its
    /// own payee can still collect all of it afterwards.
    function testFuzz_settle_otherPayeesCannotTouchReservation(
        uint96 free,
        uint96 held,
        uint96[3] calldata totals,
        uint8 whose
    ) public {
        held = uint96(bound(held, 1, type(uint96).max));
        _fund(alice, uint256(free) + held);
        _reserve(alice, payee, held);
        address[3] memory others = [payee2, makeAddr("payee3"), bob];
        uint64 nonce;
        for (uint256 i; i < totals.length; ++i) {
            address other = others[(uint256(whose) + i) % others.length];
            nonce = escrow.highWater(alice, other);
            _settle(_settlement(_pair(alice, other, nonce, nonce + 1, totals[i])));
            assertEq(_reserved(alice, payee), held, "another payee's settlement debited the reservation");
        }
        _settle(_settlement(_pair(alice, payee, 0, 1, held)));
        assertEq(escrow.payeeBalance(payee, address(token)), held);
        assertEq(_reserved(alice, payee), 0);
    }

    // ------------------------------------------------------------------------------------------
    // the reservation counts
    // ------------------------------------------------------------------------------------------

    /// State of `testFuzz_reservationCounts_exactUnderAnySequence`: two tokens, three payees, alice's
    /// agent key for each (payee, token), and the nonces each chain has reached.
    struct CountRun {
        address[2] tokens;
        address[3] payees;
        uint64[2][3] keyIds;
        uint64[2][3] agentNonces;
    }

    /// Both counts a settlement relies on to skip reading reservations are exact under any sequence
    /// of reserves, partial and full releases, and EIP-712 and agent settlements that use a
    /// reservation in part, exactly, or up and beyond: the balance word's (payees reserved for, per
    /// payer and token) and the (payer, payee) word's (tokens reserved in, per payer and payee).
    function testFuzz_reservationCounts_exactUnderAnySequence(uint256 seed) public {
        CountRun memory run = _countRun();
        for (uint256 step; step < 24; ++step) {
            uint256 r = uint256(keccak256(abi.encode(seed, step)));
            (uint256 j, uint256 t) = ((r >> 8) % 3, (r >> 16) % 2);
            (address to, address tok) = (run.payees[j], run.tokens[t]);
            uint256 held = escrow.reservation(alice, to, tok);
            uint256 op = r % 4;
            if (op == 0) {
                vm.prank(alice);
                escrow.reserve(to, tok, 1 + (r >> 24) % 300);
            } else if (op == 1 && held != 0) {
                vm.prank(alice);
                escrow.requestRelease(to, tok, (r >> 24) % 2 == 0 ? held : 1 + (r >> 32) % held);
                skip(DELAY);
                vm.prank(alice);
                escrow.executeRelease(to, tok);
            } else if (op >= 2) {
                // All of the reservation, a part of it, or more: the free balance pays the rest.
                uint128 total = uint128([held, held / 2, held + 1 + (r >> 24) % 50, 0][(r >> 40) % 4]);
                if (op == 2) _settleCounted(run, j, t, total);
                else _settleAgentCounted(run, j, t, total);
            }
            _assertCountsExact(run);
        }
    }

    function _countRun() internal returns (CountRun memory run) {
        run.tokens = [address(token), address(new TestUSDC())];
        run.payees = [payee, payee2, makeAddr("payee3")];
        for (uint256 t; t < 2; ++t) {
            TestUSDC(run.tokens[t]).mint(alice, 1e9);
            vm.startPrank(alice);
            TestUSDC(run.tokens[t]).approve(address(escrow), 1e9);
            escrow.deposit(run.tokens[t], 1e9);
            vm.stopPrank();
            for (uint256 j; j < 3; ++j) {
                AgentKeyGrant memory g = _grant(alice, KEY_B, run.payees[j], 1e9);
                g.token = run.tokens[t];
                run.keyIds[j][t] = _authorize(aliceKey, g);
            }
        }
    }

    function _settleCounted(CountRun memory run, uint256 j, uint256 t, uint128 total) internal {
        uint64 mark = escrow.highWater(alice, run.payees[j]);
        Settlement memory s = _settlement(_pair(alice, run.payees[j], mark, mark + 1, total));
        s.token = run.tokens[t];
        _settle(s);
        assertEq(escrow.highWater(alice, run.payees[j]), mark + 1, "alice's funds cover every settlement");
    }

    function _settleAgentCounted(CountRun memory run, uint256 j, uint256 t, uint128 total) internal {
        uint64 mark = run.agentNonces[j][t];
        AgentSettlement memory s = _agentSettlement(_agentPair(run.keyIds[j][t], run.payees[j], mark, mark + 1, total));
        s.token = run.tokens[t];
        _settleAgent(s);
        run.agentNonces[j][t] = escrow.agentHighWater(run.keyIds[j][t], run.payees[j]);
        assertEq(run.agentNonces[j][t], mark + 1, "alice's funds and cap cover every settlement");
    }

    function _assertCountsExact(CountRun memory run) internal view {
        for (uint256 t; t < 2; ++t) {
            uint256 reservedFor;
            for (uint256 j; j < 3; ++j) {
                if (escrow.reservation(alice, run.payees[j], run.tokens[t]) != 0) ++reservedFor;
            }
            assertEq(_reservationCount(alice, run.tokens[t]), reservedFor, "payees reserved for, per token");
        }
        for (uint256 j; j < 3; ++j) {
            uint256 reservedIn;
            for (uint256 t; t < 2; ++t) {
                if (escrow.reservation(alice, run.payees[j], run.tokens[t]) != 0) ++reservedIn;
            }
            assertEq(_reservedTokenCount(alice, run.payees[j]), reservedIn, "tokens reserved in, per payee");
        }
    }

    /// A payer without reservations in the token costs an agent pair no read of a reservation; one with
    /// a reservation for any payee in the token does, and that reservation is debited first.
    function test_settleAgent_readsReservationOnlyIfPayerHoldsOneInToken() public {
        _fund(alice, 1_000);
        uint64 keyId = _aliceKey(payee, 1_000);
        bytes32 reservationSlot = keccak256(
            abi.encode(
                address(token), keccak256(abi.encode(payee, keccak256(abi.encode(alice, uint256(RESERVED_SLOT)))))
            )
        );
        assertFalse(_settleAgentReads(keyId, 0, reservationSlot), "no reservation, no read");
        _reserve(alice, payee2, 10);
        assertTrue(_settleAgentReads(keyId, 1, reservationSlot), "a reservation for another payee: read");
        _reserve(alice, payee, 10);
        assertTrue(_settleAgentReads(keyId, 2, reservationSlot), "a reservation for this payee: read");
        assertEq(escrow.reservation(alice, payee, address(token)), 9, "and debited first");
    }

    /// `_reserved`'s slot in `Escrow` (`forge inspect Escrow storageLayout`).
    uint256 internal constant RESERVED_SLOT = 10;

    function _settleAgentReads(uint64 keyId, uint64 fromNonce, bytes32 slot) internal returns (bool read) {
        AgentSettlement memory s = _agentSettlement(_agentPair(keyId, payee, fromNonce, fromNonce + 1, 1));
        bytes memory proof = _proveAgent(s);
        vm.record();
        vm.prank(payee);
        escrow.settleAgent(proof, s);
        (bytes32[] memory reads,) = vm.accesses(address(escrow));
        for (uint256 i; i < reads.length; ++i) {
            read = read || reads[i] == slot;
        }
        assertEq(escrow.agentHighWater(keyId, payee), fromNonce + 1);
    }
}
