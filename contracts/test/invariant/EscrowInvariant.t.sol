// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";

import {Escrow} from "../../src/Escrow.sol";
import {IAgentKeys} from "../../src/interfaces/IAgentKeys.sol";
import {IEscrow} from "../../src/interfaces/IEscrow.sol";
import {TestUSDC} from "../../src/TestUSDC.sol";
import {AttestationVerifier} from "../../src/testing/AttestationVerifier.sol";
import {EscrowAgentHandler} from "./EscrowAgentHandler.sol";

/// @notice Invariants of the escrow under random sequences of every state-changing action, EIP-712 and
/// agent settlements alike (`EscrowAgentHandler` extends `EscrowHandler` with agent keys).
/// Accounting choice under test: a pending withdrawal is a claim inside the free `balance`, a pending
/// release a claim inside the reservation; neither is a separate pot.
contract EscrowInvariantTest is Test {
    uint256 internal constant ATTESTER_KEY = 0xA77E57;

    Escrow internal escrow;
    TestUSDC internal token;
    EscrowAgentHandler internal handler;

    function setUp() public {
        vm.warp(1_700_000_000);
        token = new TestUSDC();
        AttestationVerifier verifier = new AttestationVerifier(vm.addr(ATTESTER_KEY));
        AttestationVerifier agentVerifier = new AttestationVerifier(vm.addr(ATTESTER_KEY));
        IEscrow.InitialVerifier[] memory initial = new IEscrow.InitialVerifier[](2);
        initial[0] = IEscrow.InitialVerifier(1, IEscrow.VerifierFamily.Batch, address(verifier), 8, 4);
        initial[1] = IEscrow.InitialVerifier(2, IEscrow.VerifierFamily.Agent, address(agentVerifier), 8, 4);
        escrow = new Escrow(address(this), 1 days, 6 hours, initial);
        handler = new EscrowAgentHandler(escrow, token, verifier, agentVerifier, ATTESTER_KEY);
        // Every payer starts funded, so most settlements in a short run pay something.
        for (uint256 i; i < handler.payerCount(); ++i) {
            handler.deposit(i, 1e12);
        }
        targetContract(address(handler));
    }

    /// The escrow holds exactly the payers' free balances (pending withdrawals included) plus their
    /// reservations (pending releases included) plus payee credits, and every side agrees with the
    /// ghost totals of deposits, settlements and withdrawals.
    function invariant_tokensConserved() public view {
        uint256 freeSum;
        uint256 reservedSum;
        uint256 payeeSum;
        for (uint256 i; i < handler.payerCount(); ++i) {
            address payer = handler.payers(i);
            freeSum += escrow.balance(payer, address(token));
            payeeSum += escrow.payeeBalance(handler.payees(i), address(token));
            for (uint256 j; j < handler.payerCount(); ++j) {
                reservedSum += escrow.reservation(payer, handler.payees(j), address(token));
            }
        }
        assertEq(
            token.balanceOf(address(escrow)),
            freeSum + reservedSum + payeeSum,
            "holdings != free balances + reservations + credits"
        );
        assertEq(
            freeSum + reservedSum, handler.ghostDeposited() - handler.ghostPayerWithdrawn() - handler.ghostSettled()
        );
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

    /// No pair was ever paid on a submission by anyone but its payee or a submitter the payee had
    /// approved at the time, and no such submission was turned away as unapproved.
    function invariant_onlyPayeeOrApprovedSubmitterSettles() public view {
        assertFalse(handler.ghostUnauthorizedSettle(), "a pair was settled by an unapproved sender");
        assertFalse(handler.ghostWronglyRejected(), "an approved sender was skipped");
        for (uint256 j; j < handler.payerCount(); ++j) {
            address payee = handler.payees(j);
            address relayer = handler.relayer();
            assertEq(escrow.isApprovedSubmitter(payee, relayer), handler.ghostApproved(payee, relayer));
        }
    }

    /// Every free balance and reservation is what the handler's model says: a reservation grows only
    /// by `reserve`, shrinks only by `executeRelease` and by settlements of its own payee (which debit
    /// it before the free balance), so no other payee's settlement ever touched it.
    function invariant_reservationsDebitedOnlyByTheirPayee() public view {
        assertFalse(handler.ghostModelBroken(), "the escrow moved an amount the model could not");
        for (uint256 i; i < handler.payerCount(); ++i) {
            address payer = handler.payers(i);
            assertEq(escrow.balance(payer, address(token)), handler.ghostFree(payer), "free balance");
            for (uint256 j; j < handler.payerCount(); ++j) {
                address payee = handler.payees(j);
                assertEq(
                    escrow.reservation(payer, payee, address(token)), handler.ghostReserved(payer, payee), "reservation"
                );
            }
        }
    }

    /// The counts that let settlements skip reading reservations are exact: a payer's balance word counts
    /// the payees it holds a non-zero reservation for (in the handler's one token), and each (payer,
    /// payee) word whether it holds one for that payee. A count too low would let a pair skip the
    /// reservation it must debit first; `reservationsDebitedOnlyByTheirPayee` would then fail too.
    function invariant_reservationCountsExact() public view {
        for (uint256 i; i < handler.payerCount(); ++i) {
            address payer = handler.payers(i);
            uint256 reservedFor;
            for (uint256 j; j < handler.payerCount(); ++j) {
                address payee = handler.payees(j);
                uint256 held = escrow.reservation(payer, payee, address(token));
                if (held != 0) ++reservedFor;
                assertEq(_word(PAIRS_SLOT, payer, payee) >> 64, held != 0 ? 1 : 0, "tokens reserved in, per payee");
            }
            uint256 word = _word(BALANCES_SLOT, payer, address(token));
            assertEq(uint192(word), escrow.balance(payer, address(token)), "the balance word's slot");
            assertEq(word >> 192, reservedFor, "payees reserved for, per token");
        }
    }

    /// `Escrow`'s slots of `_balances` and `_pairs` (as in `EscrowFixture`).
    uint256 internal constant BALANCES_SLOT = 7;
    uint256 internal constant PAIRS_SLOT = 9;

    function _word(uint256 mappingSlot, address outer, address inner) internal view returns (uint256) {
        return
            uint256(vm.load(address(escrow), keccak256(abi.encode(inner, keccak256(abi.encode(outer, mappingSlot))))));
    }

    /// The handler really settles and skips pairs (a handler that only ever skipped would make the
    /// invariants above vacuous); mutating `Escrow._settlePair` (no debit, no high-water check, no
    /// sender check, or no reservation-first debit) makes an invariant fail.
    function test_handler_settlesAndSkips() public {
        _approveRelayerForAllPayees();
        handler.settle(1, 2, 0, 1); // sender seed 1: the relayer
        assertEq(handler.ghostNotApprovedPairs(), 0);
        uint256 settled = handler.ghostSettledPairs();
        uint256 skipped = handler.ghostSkippedPairs();
        assertGt(settled, 0, "a funded pair at its high-water mark settles");
        assertEq(settled + skipped, 2);
        handler.settle(2, 1, 1, 0);
        assertEq(handler.ghostSkippedPairs(), skipped + 1, "a stale pair is skipped");
        handler.replay(0, 1);
        assertEq(handler.ghostSettledPairs(), settled, "a replay pays nothing");
        assertEq(handler.ghostSkippedPairs(), skipped + 3, "a replay skips every pair");
    }

    /// The handler's attack and reservations do something: a payer's own zero-amount settlement is
    /// turned away, and a settlement of reserved pairs debits their reservations.
    function test_handler_rejectsSelfSettlementAndDebitsReservations() public {
        handler.payerSelfSettles(0, 0, 1e6);
        assertEq(handler.ghostNotApprovedPairs(), 1);
        assertEq(handler.ghostSettledPairs(), 0);
        assertEq(escrow.highWater(handler.payers(0), handler.payees(0)), 0);
        for (uint256 i; i < handler.payerCount(); ++i) {
            for (uint256 j; j < handler.payerCount(); ++j) {
                handler.reserve(i, j, 1e9);
            }
        }
        _approveRelayerForAllPayees();
        handler.settle(1, 4, 0, 1);
        assertGt(handler.ghostReservationDebits(), 0, "a settled pair debited its reservation");
        invariant_reservationsDebitedOnlyByTheirPayee();
        invariant_tokensConserved();
    }

    /// Every key's `spent` is the sum of what its `AgentPairSettled` events paid, never above its grant's
    /// cap, and every one of those payments fit under the cap in effect at its second (a lowered cap
    /// included); the record's cap and revocation are the model's.
    function invariant_agentSpentWithinCap() public view {
        assertFalse(handler.ghostAgentCapBroken(), "an agent pair was paid beyond its key's cap in effect");
        for (uint64 id = 1; id <= handler.keyCount(); ++id) {
            IAgentKeys.AgentKeyInfo memory info = escrow.agentKey(id);
            EscrowAgentHandler.KeyModel memory k = handler.keyModel(id);
            assertEq(info.spent, k.spent, "spent");
            assertLe(info.spent, k.grantCap, "spent above the grant's cap");
            assertEq(info.cap, handler.modelCap(id), "cap in effect");
            assertEq(info.revokeAt, k.revokeAt, "revokeAt");
        }
    }

    /// No key ever paid a payee outside its scope (or paid at all while unknown), nor outside its
    /// validity window, nor at or after its revocation took effect.
    function invariant_agentKeysPayOnlyInScopeAndTime() public view {
        assertFalse(handler.ghostAgentOutOfScope(), "a key paid outside its scope");
        assertFalse(handler.ghostAgentOutsideValidity(), "a key paid outside its validity");
        assertFalse(handler.ghostAgentAfterRevocation(), "a key paid after its revocation took effect");
    }

    /// Every `AgentPairSettled` continued its (key, payee) chain, so agent high-water marks only grow,
    /// and the stored mark is the chain's end.
    function invariant_agentHighWaterChains() public view {
        assertFalse(handler.ghostAgentBrokenChain(), "an agent pair settled out of its chain");
        for (uint64 id = 1; id <= handler.keyCount() + 1; ++id) {
            for (uint256 j; j < handler.payerCount(); ++j) {
                address payee = handler.payees(j);
                assertEq(escrow.agentHighWater(id, payee), handler.ghostAgentLastTo(id, payee));
            }
        }
    }

    /// The agent actions do something: keys pay, and are skipped for their cap, their scope, a stale
    /// nonce and an unknown id; a mixed `settleMany` pays both families.
    function test_handler_agentSettlesAndSkips() public {
        handler.authorizeAgentKey(0, 0, 1e6, false, 0); // key 1: payer0 -> payee0, cap 1e6
        handler.authorizeAgentKey(1, 0, 5e11, true, 0); // key 2: payer1 -> any payee
        assertEq(handler.keyCount(), 2);
        handler.settleAgent(1, 4, 0, 0);
        assertGt(handler.ghostAgentSettledPairs(), 0, "a fresh pair of a known key settles");
        assertGt(handler.ghostAgentSkippedPairs(), 0, "an unknown key, an over-cap pair or a repeat is skipped");
        uint256 settled = handler.ghostAgentSettledPairs();
        handler.settleManyMixed(7, 3, 4, 0);
        assertGt(handler.ghostAgentSettledPairs(), settled, "chunks of one agent pair settle in one call");
        handler.payerSelfSettlesAgent(0, 0, 1e6);
        handler.revokeAgentKey(0);
        handler.lowerAgentKeyCap(1, 0);
        handler.warp(1 days);
        handler.settleAgent(1, 4, 0, 0);
        invariant_agentSpentWithinCap();
        invariant_agentKeysPayOnlyInScopeAndTime();
        invariant_agentHighWaterChains();
        invariant_tokensConserved();
        invariant_reservationsDebitedOnlyByTheirPayee();
    }

    function _approveRelayerForAllPayees() internal {
        for (uint256 j; j < handler.payerCount(); ++j) {
            handler.approveSubmitter(j, 0, true); // submitter seed 0: the relayer
        }
    }
}
