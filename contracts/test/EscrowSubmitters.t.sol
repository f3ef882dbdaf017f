// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm} from "forge-std/Vm.sol";

import {IEscrow} from "../src/interfaces/IEscrow.sol";
import {Pair, Settlement} from "../src/types/Settlement.sol";
import {EscrowFixture} from "./utils/EscrowFixture.sol";

/// @notice Who may settle a pair: its payee, or a submitter the payee approved on chain. The attack
/// this closes: a payer proves its own zero-amount mandate with a high nonce and submits it, moving
/// the high-water mark past every mandate it owes on, which voids them.
contract EscrowSubmittersTest is EscrowFixture {
    address internal relayer = makeAddr("relayer");

    function _approve(address of_, address submitter, bool approved) internal {
        vm.prank(of_);
        escrow.approveSubmitter(submitter, approved);
    }

    // ------------------------------------------------------------------------------------------
    // approveSubmitter
    // ------------------------------------------------------------------------------------------

    function test_approveSubmitter_recordsApproval() public {
        vm.expectEmit(address(escrow));
        emit IEscrow.SubmitterApproval(payee, relayer, true);
        _approve(payee, relayer, true);
        assertTrue(escrow.isApprovedSubmitter(payee, relayer));
        assertFalse(escrow.isApprovedSubmitter(payee2, relayer), "an approval is per payee");
        assertFalse(escrow.isApprovedSubmitter(relayer, payee), "an approval is one way");
    }

    function test_approveSubmitter_revokes() public {
        _approve(payee, relayer, true);
        vm.expectEmit(address(escrow));
        emit IEscrow.SubmitterApproval(payee, relayer, false);
        _approve(payee, relayer, false);
        assertFalse(escrow.isApprovedSubmitter(payee, relayer));
    }

    function test_approveSubmitter_revertsIfZeroAddress() public {
        vm.expectRevert(IEscrow.ZeroAddress.selector);
        vm.prank(payee);
        escrow.approveSubmitter(address(0), true);
    }

    // ------------------------------------------------------------------------------------------
    // settle: the sender rule
    // ------------------------------------------------------------------------------------------

    /// The review's attack: alice owes payee 60 for nonces 1..3; she proves her own zero-amount
    /// mandate with nonce 1000 and submits it. The pair is skipped, the high-water mark stays, and the
    /// payee's own settlement of what she owes still pays.
    function test_settle_skipsPayerSelfSettlingZeroAmountHighNonce() public {
        _fund(alice, 100);
        Settlement memory attack = _settlement(_pair(alice, payee, 0, 1000, 0));
        bytes memory proof = _prove(attack);
        vm.expectEmit(address(escrow));
        emit IEscrow.PairSkipped(alice, payee, 0, IEscrow.SkipReason.SubmitterNotApproved);
        vm.expectEmit(address(escrow));
        emit IEscrow.SettlementProcessed(VERIFIER_ID, escrow.publicInputOf(attack), 0, 1, 0);
        vm.prank(alice);
        escrow.settle(proof, attack);
        assertEq(escrow.highWater(alice, payee), 0, "the high-water mark did not jump");

        Settlement memory owed = _settlement(_pair(alice, payee, 0, 3, 60));
        vm.expectEmit(address(escrow));
        emit IEscrow.PairSettled(alice, payee, address(token), 0, 3, 60);
        _settleAs(payee, owed);
        assertEq(escrow.highWater(alice, payee), 3);
        assertEq(escrow.payeeBalance(payee, address(token)), 60);
        assertEq(escrow.balance(alice, address(token)), 40);
    }

    /// The same attack through `settleMany`, and by any third party: skipped alike.
    function test_settleMany_skipsPairsOfUnapprovedSender() public {
        _fund(alice, 100);
        Settlement[] memory ss = new Settlement[](2);
        ss[0] = _settlement(_pair(alice, payee, 0, 1000, 0));
        ss[1] = _settlement(_pair(alice, payee2, 0, 1000, 0));
        bytes[] memory proofs = new bytes[](2);
        proofs[0] = _prove(ss[0]);
        proofs[1] = _prove(ss[1]);
        vm.prank(relayer);
        escrow.settleMany(proofs, ss, _noProofs(), _noAgentSettlements());
        assertEq(escrow.highWater(alice, payee), 0);
        assertEq(escrow.highWater(alice, payee2), 0);
    }

    /// The sender check comes first: an unapproved sender learns nothing about nonces or balances.
    function test_settle_skipsUnapprovedSenderBeforeNonceCheck() public {
        Settlement memory s = _settlement(_pair(alice, payee, 7, 9, 1_000)); // stale and unfunded too
        bytes memory proof = _prove(s);
        vm.expectEmit(address(escrow));
        emit IEscrow.PairSkipped(alice, payee, 7, IEscrow.SkipReason.SubmitterNotApproved);
        vm.prank(relayer);
        escrow.settle(proof, s);
    }

    function test_settle_paysIfSubmitterApproved() public {
        _fund(alice, 100);
        _approve(payee, relayer, true);
        Settlement memory s = _settlement(_pair(alice, payee, 0, 2, 30));
        bytes memory proof = _prove(s);
        vm.expectEmit(address(escrow));
        emit IEscrow.PairSettled(alice, payee, address(token), 0, 2, 30);
        vm.prank(relayer);
        escrow.settle(proof, s);
        assertEq(escrow.payeeBalance(payee, address(token)), 30, "the payee is credited, not the relayer");
        assertEq(escrow.payeeBalance(relayer, address(token)), 0);
    }

    function test_settle_skipsAfterApprovalRevoked() public {
        _fund(alice, 100);
        _approve(payee, relayer, true);
        _settleAs(relayer, _settlement(_pair(alice, payee, 0, 1, 10)));
        _approve(payee, relayer, false);
        Settlement memory s = _settlement(_pair(alice, payee, 1, 2, 10));
        bytes memory proof = _prove(s);
        vm.expectEmit(address(escrow));
        emit IEscrow.PairSkipped(alice, payee, 1, IEscrow.SkipReason.SubmitterNotApproved);
        vm.prank(relayer);
        escrow.settle(proof, s);
        assertEq(escrow.highWater(alice, payee), 1);
        assertEq(escrow.payeeBalance(payee, address(token)), 10);
    }

    /// An approval covers only the approving payee's pairs; the others in the batch are skipped.
    function test_settle_approvalCoversOnlyItsPayee() public {
        _fund(alice, 100);
        _approve(payee, relayer, true);
        Pair[] memory pairs = new Pair[](2);
        pairs[0] = _pair(alice, payee, 0, 1, 10);
        pairs[1] = _pair(alice, payee2, 0, 1, 20);
        Settlement memory s = _settlement(pairs);
        bytes memory proof = _prove(s);
        vm.expectEmit(address(escrow));
        emit IEscrow.PairSettled(alice, payee, address(token), 0, 1, 10);
        vm.expectEmit(address(escrow));
        emit IEscrow.PairSkipped(alice, payee2, 0, IEscrow.SkipReason.SubmitterNotApproved);
        vm.expectEmit(address(escrow));
        emit IEscrow.SettlementProcessed(VERIFIER_ID, escrow.publicInputOf(s), 1, 1, 10);
        vm.prank(relayer);
        escrow.settle(proof, s);
        assertEq(escrow.highWater(alice, payee2), 0);
    }

    /// A payee's own batch pays only its own pairs: it cannot settle another payee's either.
    function test_settle_payeeCannotSettleAnotherPayeesPair() public {
        _fund(alice, 100);
        Settlement memory s = _settlement(_pair(alice, payee2, 0, 1000, 0));
        bytes memory proof = _prove(s);
        vm.expectEmit(address(escrow));
        emit IEscrow.PairSkipped(alice, payee2, 0, IEscrow.SkipReason.SubmitterNotApproved);
        vm.prank(payee);
        escrow.settle(proof, s);
        assertEq(escrow.highWater(alice, payee2), 0);
    }

    function testFuzz_settle_paysOnlyForPayeeOrApprovedSubmitter(address sender, bool approved, uint64 toNonce) public {
        vm.assume(sender != address(0));
        assumeNotForgeAddress(sender);
        toNonce = uint64(bound(toNonce, 1, type(uint64).max));
        _fund(alice, 100);
        if (approved && sender != payee) _approve(payee, sender, true);
        _settleAs(sender, _settlement(_pair(alice, payee, 0, toNonce, 0)));
        bool paid = sender == payee || approved;
        assertEq(escrow.highWater(alice, payee), paid ? toNonce : 0);
    }

    /// The sender is checked once per run of pairs of one payee and each run's payee credited once: in
    /// any order of pairs for a payee that approved the sender, one that did not, the sender itself
    /// and the zero payee, exactly the first and third kinds are paid and credited, in order.
    function testFuzz_settle_checksSenderAndCreditsPerPayeeRun(uint256 seed) public {
        address[4] memory payees = [payee, payee2, relayer, address(0)];
        _approve(payee, relayer, true);
        _fund(alice, 1e9);
        uint64[4] memory marks;
        uint256[4] memory credits;
        Pair[] memory pairs = new Pair[](PAIR_SLOTS);
        for (uint256 i; i < PAIR_SLOTS; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            uint256 k = r % 4;
            pairs[i] = _pair(alice, payees[k], marks[k], marks[k] + 1, uint128(1 + (r >> 8) % 100));
            if (k == 0 || k == 2) (marks[k], credits[k]) = (marks[k] + 1, credits[k] + pairs[i].total);
        }
        vm.recordLogs();
        _settleAs(relayer, _settlement(pairs));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 next;
        for (uint256 i; i < logs.length; ++i) {
            bytes32 topic = logs[i].topics[0];
            if (topic != IEscrow.PairSettled.selector && topic != IEscrow.PairSkipped.selector) continue;
            Pair memory p = pairs[next++];
            assertEq(address(uint160(uint256(logs[i].topics[2]))), p.payee, "payee");
            bool paid = p.payee == payee || p.payee == relayer;
            assertEq(topic, paid ? IEscrow.PairSettled.selector : IEscrow.PairSkipped.selector, "paid iff allowed");
        }
        assertEq(next, pairs.length, "one event per pair");
        for (uint256 k; k < 3; ++k) {
            assertEq(escrow.payeeBalance(payees[k], address(token)), credits[k], "credit");
            assertEq(escrow.highWater(alice, payees[k]), marks[k], "mark");
        }
        assertEq(escrow.balance(alice, address(token)), 1e9 - credits[0] - credits[2]);
    }
}
