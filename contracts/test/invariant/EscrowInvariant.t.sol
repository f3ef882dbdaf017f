// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";

import {Escrow} from "../../src/Escrow.sol";
import {TestUSDC} from "../../src/TestUSDC.sol";
import {AttestationVerifier} from "../../src/testing/AttestationVerifier.sol";
import {EscrowHandler} from "./EscrowHandler.sol";

/// @notice Invariants of the escrow under random sequences of every state-changing action.
/// Accounting choice under test: a pending withdrawal is a claim inside `balance`, not a separate pot.
contract EscrowInvariantTest is Test {
    uint256 internal constant ATTESTER_KEY = 0xA77E57;

    Escrow internal escrow;
    TestUSDC internal token;
    EscrowHandler internal handler;

    function setUp() public {
        vm.warp(1_700_000_000);
        token = new TestUSDC();
        escrow = new Escrow(address(this), 1 days);
        AttestationVerifier verifier = new AttestationVerifier(vm.addr(ATTESTER_KEY));
        escrow.registerVerifier(1, address(verifier), 8, 4);
        handler = new EscrowHandler(escrow, token, verifier, ATTESTER_KEY);
        // Every payer starts funded, so most settlements in a short run pay something.
        for (uint256 i; i < handler.payerCount(); ++i) {
            handler.deposit(i, 1e12);
        }
        targetContract(address(handler));
    }

    /// The escrow holds exactly the payers' balances (pending withdrawals included) plus payee credits,
    /// and both sides agree with the ghost totals of deposits, settlements and withdrawals.
    function invariant_tokensConserved() public view {
        uint256 payerSum;
        uint256 payeeSum;
        for (uint256 i; i < handler.payerCount(); ++i) {
            payerSum += escrow.balance(handler.payers(i), address(token));
            payeeSum += escrow.payeeBalance(handler.payees(i), address(token));
        }
        assertEq(token.balanceOf(address(escrow)), payerSum + payeeSum, "holdings != balances + credits");
        assertEq(payerSum, handler.ghostDeposited() - handler.ghostPayerWithdrawn() - handler.ghostSettled());
        assertEq(payeeSum, handler.ghostSettled() - handler.ghostPayeeWithdrawn());
    }

    /// Every settled pair continued its chain (fromNonce = previous toNonce < toNonce), so high-water
    /// marks only grow and no mandate range is paid twice; the stored mark is the chain's end.
    function invariant_highWaterChainsAndNoDoublePay() public view {
        assertFalse(handler.ghostBrokenChain(), "a pair settled out of its chain");
        assertFalse(handler.ghostPaidTwice(), "a pair was paid twice");
        for (uint256 i; i < handler.payerCount(); ++i) {
            for (uint256 j; j < handler.payerCount(); ++j) {
                (address payer, address payee) = (handler.payers(i), handler.payees(j));
                assertEq(escrow.highWater(payer, payee), handler.ghostLastTo(payer, payee));
            }
        }
    }

    /// The handler really settles and skips pairs (a handler that only ever skipped would make the
    /// invariants above vacuous); mutating `Escrow._settlePair` makes both invariants fail.
    function test_handler_settlesAndSkips() public {
        handler.settle(1, 2, 0);
        uint256 settled = handler.ghostSettledPairs();
        uint256 skipped = handler.ghostSkippedPairs();
        assertGt(settled, 0, "a funded pair at its high-water mark settles");
        assertEq(settled + skipped, 2);
        handler.settle(2, 1, 1);
        assertEq(handler.ghostSkippedPairs(), skipped + 1, "a stale pair is skipped");
        handler.replay(0);
        assertEq(handler.ghostSettledPairs(), settled, "a replay pays nothing");
        assertEq(handler.ghostSkippedPairs(), skipped + 3, "a replay skips every pair");
    }
}
