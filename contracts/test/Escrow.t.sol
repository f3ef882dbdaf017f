// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

import {Escrow} from "../src/Escrow.sol";
import {IEscrow} from "../src/interfaces/IEscrow.sol";
import {MandateHashing} from "../src/MandateHashing.sol";
import {TestUSDC} from "../src/TestUSDC.sol";
import {AttestationVerifier} from "../src/testing/AttestationVerifier.sol";
import {Pair, Settlement} from "../src/types/Settlement.sol";
import {EscrowFixture} from "./utils/EscrowFixture.sol";

contract EscrowTest is EscrowFixture {
    bytes32 internal constant NONCE = "n1";

    // ------------------------------------------------------------------------------------------
    // constructor and domain
    // ------------------------------------------------------------------------------------------

    function test_constructor_revertsIfDelayTooShort() public {
        vm.expectRevert(
            abi.encodeWithSelector(IEscrow.WithdrawDelayOutOfBounds.selector, 1 hours - 1, 1 hours, 30 days)
        );
        new Escrow(owner, 1 hours - 1, REVOKE_DELAY, new IEscrow.InitialVerifier[](0));
    }

    function test_constructor_revertsIfDelayTooLong() public {
        vm.expectRevert(
            abi.encodeWithSelector(IEscrow.WithdrawDelayOutOfBounds.selector, 30 days + 1, 1 hours, 30 days)
        );
        new Escrow(owner, 30 days + 1, REVOKE_DELAY, new IEscrow.InitialVerifier[](0));
    }

    function test_constructor_setsDelayAndOwner() public view {
        assertEq(escrow.withdrawDelay(), DELAY);
        assertEq(escrow.owner(), owner);
    }

    /// EIP-170: a chain refuses to deploy runtime code over 24,576 bytes (forge's test EVM does not).
    function test_escrow_fitsEip170SizeLimit() public view {
        assertLe(address(escrow).code.length, 24_576);
    }

    function test_domainSeparator_isMandateDomain() public view {
        assertEq(escrow.DOMAIN_SEPARATOR(), MandateHashing.domainSeparator(block.chainid, address(escrow)));
    }

    function test_domainSeparator_recomputedAfterFork() public {
        bytes32 before = escrow.DOMAIN_SEPARATOR();
        vm.chainId(block.chainid + 1);
        assertEq(escrow.DOMAIN_SEPARATOR(), MandateHashing.domainSeparator(block.chainid, address(escrow)));
        assertNotEq(escrow.DOMAIN_SEPARATOR(), before);
    }

    // ------------------------------------------------------------------------------------------
    // deposit
    // ------------------------------------------------------------------------------------------

    function test_deposit_creditsCaller() public {
        token.mint(alice, 100);
        vm.startPrank(alice);
        token.approve(address(escrow), 100);
        vm.expectEmit(address(escrow));
        emit IEscrow.Deposited(alice, address(token), 100);
        escrow.deposit(address(token), 100);
        vm.stopPrank();
        assertEq(escrow.balance(alice, address(token)), 100);
        assertEq(token.balanceOf(address(escrow)), 100);
    }

    function test_deposit_revertsIfZero() public {
        vm.expectRevert(IEscrow.ZeroAmount.selector);
        vm.prank(alice);
        escrow.deposit(address(token), 0);
    }

    function test_deposit_revertsWithoutAllowance() public {
        token.mint(alice, 100);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(escrow), 0, 100)
        );
        vm.prank(alice);
        escrow.deposit(address(token), 100);
    }

    // ------------------------------------------------------------------------------------------
    // depositWithAuthorization
    // ------------------------------------------------------------------------------------------

    function _receiveAuth(uint256 key, address to, uint256 value, bytes32 nonce)
        internal
        view
        returns (uint8 v, bytes32 r, bytes32 s)
    {
        bytes32 structHash = keccak256(
            abi.encode(
                token.RECEIVE_WITH_AUTHORIZATION_TYPEHASH(),
                vm.addr(key),
                to,
                value,
                0,
                block.timestamp + 1 hours,
                nonce
            )
        );
        return vm.sign(key, keccak256(abi.encodePacked(hex"1901", token.DOMAIN_SEPARATOR(), structHash)));
    }

    function test_depositWithAuthorization_creditsSignerWhenRelayed() public {
        token.mint(alice, 500);
        (uint8 v, bytes32 r, bytes32 s) = _receiveAuth(aliceKey, address(escrow), 500, NONCE);
        vm.expectEmit(address(escrow));
        emit IEscrow.Deposited(alice, address(token), 500);
        vm.prank(bob); // any relayer
        escrow.depositWithAuthorization(address(token), alice, 500, 0, block.timestamp + 1 hours, NONCE, v, r, s);
        assertEq(escrow.balance(alice, address(token)), 500);
        assertEq(escrow.balance(bob, address(token)), 0);
        assertTrue(token.authorizationState(alice, NONCE));
    }

    function test_depositWithAuthorization_revertsIfReplayed() public {
        token.mint(alice, 1000);
        (uint8 v, bytes32 r, bytes32 s) = _receiveAuth(aliceKey, address(escrow), 500, NONCE);
        escrow.depositWithAuthorization(address(token), alice, 500, 0, block.timestamp + 1 hours, NONCE, v, r, s);
        vm.expectRevert(abi.encodeWithSelector(TestUSDC.AuthorizationUsedOrCanceled.selector, alice, NONCE));
        escrow.depositWithAuthorization(address(token), alice, 500, 0, block.timestamp + 1 hours, NONCE, v, r, s);
    }

    function test_depositWithAuthorization_revertsIfSignedForAnotherRecipient() public {
        token.mint(alice, 500);
        (uint8 v, bytes32 r, bytes32 s) = _receiveAuth(aliceKey, bob, 500, NONCE);
        vm.expectRevert(abi.encodeWithSelector(TestUSDC.InvalidSignature.selector, alice));
        escrow.depositWithAuthorization(address(token), alice, 500, 0, block.timestamp + 1 hours, NONCE, v, r, s);
    }

    function test_depositWithAuthorization_revertsIfCreditedToOtherPayer() public {
        token.mint(alice, 500);
        token.mint(bob, 500);
        (uint8 v, bytes32 r, bytes32 s) = _receiveAuth(aliceKey, address(escrow), 500, NONCE);
        vm.expectRevert(abi.encodeWithSelector(TestUSDC.InvalidSignature.selector, bob));
        escrow.depositWithAuthorization(address(token), bob, 500, 0, block.timestamp + 1 hours, NONCE, v, r, s);
    }

    function test_depositWithAuthorization_revertsIfZero() public {
        vm.expectRevert(IEscrow.ZeroAmount.selector);
        escrow.depositWithAuthorization(address(token), alice, 0, 0, block.timestamp + 1 hours, NONCE, 27, 0, 0);
    }

    // ------------------------------------------------------------------------------------------
    // withdrawals
    // ------------------------------------------------------------------------------------------

    function test_requestWithdraw_recordsRequest() public {
        _fund(alice, 100);
        vm.expectEmit(address(escrow));
        emit IEscrow.WithdrawalRequested(alice, address(token), 60, uint64(block.timestamp + DELAY));
        vm.prank(alice);
        escrow.requestWithdraw(address(token), 60);
        (uint256 amount, uint64 readyAt) = escrow.pendingWithdrawal(alice, address(token));
        assertEq(amount, 60);
        assertEq(readyAt, block.timestamp + DELAY);
        assertEq(escrow.balance(alice, address(token)), 100, "a request stays in the balance");
    }

    function test_requestWithdraw_replacesEarlierRequest() public {
        _fund(alice, 100);
        vm.prank(alice);
        escrow.requestWithdraw(address(token), 60);
        skip(1 hours);
        vm.prank(alice);
        escrow.requestWithdraw(address(token), 30);
        (uint256 amount, uint64 readyAt) = escrow.pendingWithdrawal(alice, address(token));
        assertEq(amount, 30);
        assertEq(readyAt, block.timestamp + DELAY);
    }

    function test_requestWithdraw_revertsIfZero() public {
        vm.expectRevert(IEscrow.ZeroAmount.selector);
        vm.prank(alice);
        escrow.requestWithdraw(address(token), 0);
    }

    function test_requestWithdraw_revertsIfAboveBalance() public {
        _fund(alice, 100);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.InsufficientBalance.selector, alice, address(token), 100, 101));
        vm.prank(alice);
        escrow.requestWithdraw(address(token), 101);
    }

    function test_cancelWithdraw_clearsRequest() public {
        _fund(alice, 100);
        vm.startPrank(alice);
        escrow.requestWithdraw(address(token), 60);
        vm.expectEmit(address(escrow));
        emit IEscrow.WithdrawalCancelled(alice, address(token));
        escrow.cancelWithdraw(address(token));
        vm.stopPrank();
        (uint256 amount, uint64 readyAt) = escrow.pendingWithdrawal(alice, address(token));
        assertEq(amount, 0);
        assertEq(readyAt, 0);
    }

    function test_cancelWithdraw_revertsIfNone() public {
        vm.expectRevert(abi.encodeWithSelector(IEscrow.NoPendingWithdrawal.selector, alice, address(token)));
        vm.prank(alice);
        escrow.cancelWithdraw(address(token));
    }

    function test_executeWithdraw_revertsIfNotReady() public {
        _fund(alice, 100);
        vm.prank(alice);
        escrow.requestWithdraw(address(token), 60);
        skip(DELAY - 1);
        vm.expectRevert(
            abi.encodeWithSelector(IEscrow.WithdrawalNotReady.selector, uint64(block.timestamp + 1), block.timestamp)
        );
        vm.prank(alice);
        escrow.executeWithdraw(address(token));
    }

    function test_executeWithdraw_revertsIfNone() public {
        vm.expectRevert(abi.encodeWithSelector(IEscrow.NoPendingWithdrawal.selector, alice, address(token)));
        vm.prank(alice);
        escrow.executeWithdraw(address(token));
    }

    function test_executeWithdraw_paysRequestAfterDelay() public {
        _fund(alice, 100);
        vm.prank(alice);
        escrow.requestWithdraw(address(token), 60);
        skip(DELAY);
        vm.expectEmit(address(escrow));
        emit IEscrow.WithdrawalExecuted(alice, address(token), 60, 60);
        vm.prank(alice);
        assertEq(escrow.executeWithdraw(address(token)), 60);
        assertEq(token.balanceOf(alice), 60);
        assertEq(escrow.balance(alice, address(token)), 40);
        (uint256 amount,) = escrow.pendingWithdrawal(alice, address(token));
        assertEq(amount, 0);
    }

    function test_executeWithdraw_paysOnlyWhatSettlementLeft() public {
        _fund(alice, 100);
        vm.prank(alice);
        escrow.requestWithdraw(address(token), 100);
        _settle(_settlement(_pair(alice, payee, 0, 3, 70)));
        skip(DELAY);
        vm.expectEmit(address(escrow));
        emit IEscrow.WithdrawalExecuted(alice, address(token), 100, 30);
        vm.prank(alice);
        assertEq(escrow.executeWithdraw(address(token)), 30);
        assertEq(token.balanceOf(alice), 30);
        assertEq(escrow.balance(alice, address(token)), 0);
        assertEq(escrow.payeeBalance(payee, address(token)), 70);
    }

    function test_executeWithdraw_paysNothingIfAllSettled() public {
        _fund(alice, 100);
        vm.prank(alice);
        escrow.requestWithdraw(address(token), 100);
        _settle(_settlement(_pair(alice, payee, 0, 1, 100)));
        skip(DELAY);
        vm.prank(alice);
        assertEq(escrow.executeWithdraw(address(token)), 0);
        (uint256 amount,) = escrow.pendingWithdrawal(alice, address(token));
        assertEq(amount, 0, "the spent request is cleared");
    }

    // ------------------------------------------------------------------------------------------
    // settle
    // ------------------------------------------------------------------------------------------

    function test_settle_paysPair() public {
        _fund(alice, 1000);
        Settlement memory s = _settlement(_pair(alice, payee, 0, 5, 250));
        bytes memory proof = _prove(s);
        vm.expectEmit(address(escrow));
        emit IEscrow.PairSettled(alice, payee, address(token), 0, 5, 250);
        vm.expectEmit(address(escrow));
        emit IEscrow.SettlementProcessed(VERIFIER_ID, escrow.publicInputOf(s), 1, 0, 250);
        vm.prank(payee);
        escrow.settle(proof, s);
        assertEq(escrow.balance(alice, address(token)), 750);
        assertEq(escrow.payeeBalance(payee, address(token)), 250);
        assertEq(escrow.highWater(alice, payee), 5);
    }

    function test_settle_paysManyPairs() public {
        _fund(alice, 1000);
        _fund(bob, 1000);
        address relayer = makeAddr("relayer");
        vm.prank(payee);
        escrow.approveSubmitter(relayer, true);
        vm.prank(payee2);
        escrow.approveSubmitter(relayer, true);
        Pair[] memory pairs = new Pair[](3);
        pairs[0] = _pair(alice, payee, 0, 2, 10);
        pairs[1] = _pair(bob, payee, 0, 7, 20);
        pairs[2] = _pair(alice, payee2, 0, 1, 30);
        _settleAs(relayer, _settlement(pairs));
        assertEq(escrow.balance(alice, address(token)), 960);
        assertEq(escrow.balance(bob, address(token)), 980);
        assertEq(escrow.payeeBalance(payee, address(token)), 30);
        assertEq(escrow.payeeBalance(payee2, address(token)), 30);
        assertEq(escrow.highWater(bob, payee), 7);
        assertEq(escrow.highWater(alice, payee2), 1);
    }

    function test_settle_acceptsAtNotAfter() public {
        _fund(alice, 100);
        Settlement memory s = _settlement(_pair(alice, payee, 0, 1, 1));
        bytes memory proof = _prove(s);
        vm.warp(s.notAfter);
        vm.prank(payee);
        escrow.settle(proof, s);
        assertEq(escrow.highWater(alice, payee), 1);
    }

    function test_settle_revertsIfExpired() public {
        _fund(alice, 100);
        Settlement memory s = _settlement(_pair(alice, payee, 0, 1, 1));
        bytes memory proof = _prove(s);
        vm.warp(s.notAfter + 1);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.SettlementExpired.selector, s.notAfter, block.timestamp));
        vm.prank(payee);
        escrow.settle(proof, s);
    }

    function test_settle_revertsIfUnknownVerifier() public {
        Settlement memory s = _settlement(_pair(alice, payee, 0, 1, 1));
        s.verifierId = 99;
        vm.expectRevert(abi.encodeWithSelector(IEscrow.UnknownVerifier.selector, 99));
        vm.prank(payee);
        escrow.settle("", s);
    }

    /// A retired key stops at once: settlements naming it revert even if proven correctly.
    function test_settle_revertsIfVerifierRetired() public {
        _activateSecondVerifier(VERIFIER_ID + 1);
        escrow.retireVerifier(VERIFIER_ID);
        Settlement memory s = _settlement(_pair(alice, payee, 0, 1, 1));
        bytes memory proof = _prove(s);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.VerifierIsRetired.selector, VERIFIER_ID));
        vm.prank(payee);
        escrow.settle(proof, s);
    }

    function test_settle_revertsIfEmpty() public {
        Settlement memory s = _settlement(new Pair[](0));
        bytes memory proof = _prove(s);
        vm.expectRevert(IEscrow.EmptySettlement.selector);
        vm.prank(payee);
        escrow.settle(proof, s);
    }

    function test_settle_revertsIfTooManyPairs() public {
        Pair[] memory pairs = new Pair[](PAIR_SLOTS + 1);
        for (uint256 i; i < pairs.length; ++i) {
            // forge-lint: disable-next-line(unsafe-typecast)
            pairs[i] = _pair(alice, address(uint160(0x1000 + i)), 0, 1, 1);
        }
        Settlement memory s = _settlement(pairs);
        bytes memory proof = _prove(s);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.TooManyPairs.selector, VERIFIER_ID, PAIR_SLOTS + 1, PAIR_SLOTS));
        vm.prank(payee);
        escrow.settle(proof, s);
    }

    function test_settle_revertsIfProofByWrongKey() public {
        _fund(alice, 100);
        Settlement memory s = _settlement(_pair(alice, payee, 0, 1, 1));
        (uint8 v, bytes32 r, bytes32 sig) = vm.sign(aliceKey, verifier.attestationDigest(escrow.publicInputOf(s)));
        vm.expectRevert(abi.encodeWithSelector(IEscrow.InvalidProof.selector, VERIFIER_ID));
        vm.prank(payee);
        escrow.settle(abi.encodePacked(r, sig, v), s);
    }

    function test_settle_revertsIfMalformedProof() public {
        Settlement memory s = _settlement(_pair(alice, payee, 0, 1, 1));
        vm.expectRevert(abi.encodeWithSelector(IEscrow.InvalidProof.selector, VERIFIER_ID));
        vm.prank(payee);
        escrow.settle(new bytes(256), s);
    }

    function test_settle_revertsIfSettlementAltered() public {
        _fund(alice, 100);
        Settlement memory s = _settlement(_pair(alice, payee, 0, 1, 1));
        bytes memory proof = _prove(s);
        s.pairs[0].total = 100; // the proof covered a total of 1
        vm.expectRevert(abi.encodeWithSelector(IEscrow.InvalidProof.selector, VERIFIER_ID));
        vm.prank(payee);
        escrow.settle(proof, s);
    }

    function test_settle_revertsIfProofFromOtherChain() public {
        _fund(alice, 100);
        Settlement memory s = _settlement(_pair(alice, payee, 0, 1, 1));
        bytes memory proof = _prove(s);
        vm.chainId(block.chainid + 1); // the public input binds the domain separator, hence the chain
        vm.expectRevert(abi.encodeWithSelector(IEscrow.InvalidProof.selector, VERIFIER_ID));
        vm.prank(payee);
        escrow.settle(proof, s);
    }

    function test_settle_skipsIfNonceMismatch() public {
        _fund(alice, 100);
        Settlement memory s = _settlement(_pair(alice, payee, 3, 5, 10)); // high-water is 0, not 3
        bytes memory proof = _prove(s);
        vm.expectEmit(address(escrow));
        emit IEscrow.PairSkipped(alice, payee, 3, IEscrow.SkipReason.NonceMismatch);
        vm.prank(payee);
        escrow.settle(proof, s);
        assertEq(escrow.balance(alice, address(token)), 100);
        assertEq(escrow.highWater(alice, payee), 0);
    }

    function test_settle_resubmissionIsHarmless() public {
        _fund(alice, 100);
        Settlement memory s = _settlement(_pair(alice, payee, 0, 5, 10));
        bytes memory proof = _prove(s);
        vm.prank(payee);
        escrow.settle(proof, s);
        vm.expectEmit(address(escrow));
        emit IEscrow.PairSkipped(alice, payee, 0, IEscrow.SkipReason.NonceMismatch);
        vm.prank(payee);
        escrow.settle(proof, s);
        assertEq(escrow.balance(alice, address(token)), 90);
        assertEq(escrow.payeeBalance(payee, address(token)), 10);
    }

    function test_settle_skipsIfNonceNotIncreasing() public {
        _fund(alice, 100);
        Settlement memory s = _settlement(_pair(alice, payee, 0, 0, 10));
        bytes memory proof = _prove(s);
        vm.expectEmit(address(escrow));
        emit IEscrow.PairSkipped(alice, payee, 0, IEscrow.SkipReason.NonceNotIncreasing);
        vm.prank(payee);
        escrow.settle(proof, s);
        assertEq(escrow.balance(alice, address(token)), 100);
    }

    function test_settle_skipsIfInsufficientBalanceAndPaysOthers() public {
        _fund(alice, 5);
        _fund(bob, 100);
        Pair[] memory pairs = new Pair[](2);
        pairs[0] = _pair(alice, payee, 0, 1, 6);
        pairs[1] = _pair(bob, payee, 0, 1, 50);
        Settlement memory s = _settlement(pairs);
        bytes memory proof = _prove(s);
        vm.expectEmit(address(escrow));
        emit IEscrow.PairSkipped(alice, payee, 0, IEscrow.SkipReason.InsufficientBalance);
        vm.expectEmit(address(escrow));
        emit IEscrow.PairSettled(bob, payee, address(token), 0, 1, 50);
        vm.expectEmit(address(escrow));
        emit IEscrow.SettlementProcessed(VERIFIER_ID, escrow.publicInputOf(s), 1, 1, 50);
        vm.prank(payee);
        escrow.settle(proof, s);
        assertEq(escrow.balance(alice, address(token)), 5);
        assertEq(escrow.highWater(alice, payee), 0, "a skipped pair can be settled later");
        assertEq(escrow.payeeBalance(payee, address(token)), 50);
    }

    function test_settle_skippedPairSettlesLater() public {
        Settlement memory s = _settlement(_pair(alice, payee, 0, 2, 40));
        _settle(s);
        assertEq(escrow.highWater(alice, payee), 0);
        _fund(alice, 40);
        _settle(s);
        assertEq(escrow.highWater(alice, payee), 2);
        assertEq(escrow.payeeBalance(payee, address(token)), 40);
    }

    function test_settle_duplicatePairInOneSettlementPaidOnce() public {
        _fund(alice, 100);
        Pair[] memory pairs = new Pair[](2);
        pairs[0] = _pair(alice, payee, 0, 4, 30);
        pairs[1] = _pair(alice, payee, 0, 4, 30);
        _settle(_settlement(pairs));
        assertEq(escrow.balance(alice, address(token)), 70);
        assertEq(escrow.payeeBalance(payee, address(token)), 30);
    }

    function test_settle_pendingWithdrawalStaysDebitable() public {
        _fund(alice, 100);
        vm.prank(alice);
        escrow.requestWithdraw(address(token), 100);
        _settle(_settlement(_pair(alice, payee, 0, 1, 100)));
        assertEq(escrow.balance(alice, address(token)), 0);
        assertEq(escrow.payeeBalance(payee, address(token)), 100);
    }

    // ------------------------------------------------------------------------------------------
    // settleMany
    // ------------------------------------------------------------------------------------------

    function test_settleMany_chainsChunksOfOnePair() public {
        _fund(alice, 100);
        Settlement[] memory ss = new Settlement[](2);
        ss[0] = _settlement(_pair(alice, payee, 0, 8, 40));
        ss[1] = _settlement(_pair(alice, payee, 8, 12, 25));
        bytes[] memory proofs = new bytes[](2);
        proofs[0] = _prove(ss[0]);
        proofs[1] = _prove(ss[1]);
        vm.prank(payee);
        escrow.settleMany(proofs, ss, _noProofs(), _noAgentSettlements());
        assertEq(escrow.highWater(alice, payee), 12);
        assertEq(escrow.balance(alice, address(token)), 35);
        assertEq(escrow.payeeBalance(payee, address(token)), 65);
    }

    function test_settleMany_revertsIfLengthMismatch() public {
        vm.expectRevert(abi.encodeWithSelector(IEscrow.LengthMismatch.selector, 1, 2));
        vm.prank(payee);
        escrow.settleMany(new bytes[](1), new Settlement[](2), _noProofs(), _noAgentSettlements());
    }

    function test_settleMany_revertsAllIfOneProofInvalid() public {
        _fund(alice, 100);
        Settlement[] memory ss = new Settlement[](2);
        ss[0] = _settlement(_pair(alice, payee, 0, 8, 40));
        ss[1] = _settlement(_pair(alice, payee, 8, 12, 25));
        bytes[] memory proofs = new bytes[](2);
        proofs[0] = _prove(ss[0]);
        proofs[1] = _prove(ss[0]);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.InvalidProof.selector, VERIFIER_ID));
        vm.prank(payee);
        escrow.settleMany(proofs, ss, _noProofs(), _noAgentSettlements());
        assertEq(escrow.highWater(alice, payee), 0);
    }

    // ------------------------------------------------------------------------------------------
    // withdrawPayee
    // ------------------------------------------------------------------------------------------

    function test_withdrawPayee_paysRecipient() public {
        _fund(alice, 100);
        _settle(_settlement(_pair(alice, payee, 0, 1, 80)));
        address treasury = makeAddr("treasury");
        vm.expectEmit(address(escrow));
        emit IEscrow.PayeeWithdrawal(payee, address(token), treasury, 50);
        vm.prank(payee);
        escrow.withdrawPayee(address(token), 50, treasury);
        assertEq(token.balanceOf(treasury), 50);
        assertEq(escrow.payeeBalance(payee, address(token)), 30);
    }

    function test_withdrawPayee_revertsIfAboveCredit() public {
        vm.expectRevert(abi.encodeWithSelector(IEscrow.InsufficientPayeeBalance.selector, payee, address(token), 0, 1));
        vm.prank(payee);
        escrow.withdrawPayee(address(token), 1, payee);
    }

    function test_withdrawPayee_revertsIfZero() public {
        vm.expectRevert(IEscrow.ZeroAmount.selector);
        vm.prank(payee);
        escrow.withdrawPayee(address(token), 0, payee);
    }

    function test_withdrawPayee_revertsIfZeroRecipient() public {
        vm.expectRevert(IEscrow.ZeroAddress.selector);
        vm.prank(payee);
        escrow.withdrawPayee(address(token), 1, address(0));
    }

    // ------------------------------------------------------------------------------------------
    // verifier registry and ownership
    // ------------------------------------------------------------------------------------------

    function test_registerVerifier_storesInfoActiveAfterDelay() public {
        AttestationVerifier v = new AttestationVerifier(address(1));
        uint64 activeAt = uint64(block.timestamp + 2 * DELAY);
        vm.expectEmit(address(escrow));
        emit IEscrow.VerifierRegistered(2, IEscrow.VerifierFamily.Batch, address(v), 2, 1, activeAt);
        escrow.registerVerifier(2, IEscrow.VerifierFamily.Batch, address(v), 2, 1);
        IEscrow.VerifierInfo memory info = escrow.verifierInfo(2);
        assertEq(info.verifier, address(v));
        assertEq(info.mandateSlots, 2);
        assertEq(info.pairSlots, 1);
        assertEq(info.activeAt, activeAt);
        assertFalse(info.retired);
        assertEq(uint8(info.family), uint8(IEscrow.VerifierFamily.Batch));
    }

    function test_registerVerifier_revertsIfNotOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, alice));
        vm.prank(alice);
        escrow.registerVerifier(2, IEscrow.VerifierFamily.Batch, address(verifier), 2, 1);
    }

    function test_registerVerifier_revertsIfZeroAddress() public {
        vm.expectRevert(IEscrow.ZeroAddress.selector);
        escrow.registerVerifier(2, IEscrow.VerifierFamily.Batch, address(0), 2, 1);
    }

    function test_registerVerifier_revertsIfNoCode() public {
        vm.expectRevert(abi.encodeWithSelector(IEscrow.VerifierHasNoCode.selector, alice));
        escrow.registerVerifier(2, IEscrow.VerifierFamily.Batch, alice, 2, 1);
    }

    function test_registerVerifier_revertsIfNoPairSlots() public {
        vm.expectRevert(abi.encodeWithSelector(IEscrow.InvalidVerifierSlots.selector, 2, 0));
        escrow.registerVerifier(2, IEscrow.VerifierFamily.Batch, address(verifier), 2, 0);
    }

    function test_registerVerifier_revertsIfFewerMandatesThanPairs() public {
        vm.expectRevert(abi.encodeWithSelector(IEscrow.InvalidVerifierSlots.selector, 1, 2));
        escrow.registerVerifier(2, IEscrow.VerifierFamily.Batch, address(verifier), 1, 2);
    }

    function test_registerVerifier_revertsIfIdTaken() public {
        vm.expectRevert(abi.encodeWithSelector(IEscrow.VerifierAlreadyRegistered.selector, VERIFIER_ID));
        escrow.registerVerifier(VERIFIER_ID, IEscrow.VerifierFamily.Batch, address(verifier), 2, 1);
    }

    function test_retireVerifier_marksRetired() public {
        _activateSecondVerifier(VERIFIER_ID + 1);
        vm.expectEmit(address(escrow));
        emit IEscrow.VerifierRetired(VERIFIER_ID);
        escrow.retireVerifier(VERIFIER_ID);
        assertTrue(escrow.verifierInfo(VERIFIER_ID).retired);
    }

    function test_retireVerifier_revertsIfUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(IEscrow.UnknownVerifier.selector, 7));
        escrow.retireVerifier(7);
    }

    function test_retireVerifier_revertsIfAlreadyRetired() public {
        _activateSecondVerifier(VERIFIER_ID + 1);
        escrow.retireVerifier(VERIFIER_ID);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.VerifierIsRetired.selector, VERIFIER_ID));
        escrow.retireVerifier(VERIFIER_ID);
    }

    function test_retireVerifier_revertsIfNotOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, alice));
        vm.prank(alice);
        escrow.retireVerifier(VERIFIER_ID);
    }

    function test_ownership_transfersInTwoSteps() public {
        escrow.transferOwnership(alice);
        assertEq(escrow.owner(), owner);
        vm.prank(alice);
        escrow.acceptOwnership();
        assertEq(escrow.owner(), alice);
    }

    // ------------------------------------------------------------------------------------------
    // public input
    // ------------------------------------------------------------------------------------------

    function test_publicInputOf_matchesReferencePacking() public view {
        Pair[] memory pairs = new Pair[](2);
        pairs[0] = _pair(alice, payee, 0, 3, 1234);
        pairs[1] = _pair(bob, payee2, 9, 10, type(uint128).max);
        Settlement memory s = _settlement(pairs);
        assertEq(escrow.publicInputOf(s), _referencePublicInput(escrow.DOMAIN_SEPARATOR(), s));
    }

    // ------------------------------------------------------------------------------------------
    // fuzz
    // ------------------------------------------------------------------------------------------

    function testFuzz_publicInputOf_matchesReferencePacking(uint256 seed, uint8 count, uint32 id, uint64 notAfter)
        public
        view
    {
        count = uint8(bound(count, 0, 12));
        Pair[] memory pairs = new Pair[](count);
        for (uint256 i; i < count; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            // Fields are cut from one random word: truncation is the point.
            // forge-lint: disable-start(unsafe-typecast)
            pairs[i] = Pair({
                payer: address(uint160(r)),
                payee: address(uint160(r >> 96)),
                fromNonce: uint64(r >> 32),
                toNonce: uint64(r >> 64),
                total: uint128(r >> 128)
            });
            // forge-lint: disable-end(unsafe-typecast)
        }
        // forge-lint: disable-next-line(unsafe-typecast)
        address seedToken = address(uint160(seed));
        Settlement memory s = Settlement({verifierId: id, token: seedToken, notAfter: notAfter, pairs: pairs});
        uint256 input = escrow.publicInputOf(s);
        assertEq(input, _referencePublicInput(escrow.DOMAIN_SEPARATOR(), s));
        assertLt(input, 21888242871839275222246405745257275088548364400416034343698204186575808495617);
    }

    function testFuzz_settle_paysOrSkipsByBalance(uint128 deposited, uint128 total) public {
        deposited = uint128(bound(deposited, 1, type(uint96).max));
        total = uint128(bound(total, 0, type(uint96).max));
        _fund(alice, deposited);
        _settle(_settlement(_pair(alice, payee, 0, 1, total)));
        bool paid = total <= deposited;
        assertEq(escrow.balance(alice, address(token)), paid ? deposited - total : deposited);
        assertEq(escrow.payeeBalance(payee, address(token)), paid ? total : 0);
        assertEq(escrow.highWater(alice, payee), paid ? 1 : 0);
        assertEq(token.balanceOf(address(escrow)), deposited, "settlement moves no tokens");
    }

    function testFuzz_settle_paysOnlyFromHighWater(uint64 settledTo, uint64 fromNonce, uint64 toNonce) public {
        settledTo = uint64(bound(settledTo, 1, type(uint64).max - 1));
        _fund(alice, 100);
        _settle(_settlement(_pair(alice, payee, 0, settledTo, 1)));
        _settle(_settlement(_pair(alice, payee, fromNonce, toNonce, 1)));
        bool paid = fromNonce == settledTo && toNonce > fromNonce;
        assertEq(escrow.highWater(alice, payee), paid ? toNonce : settledTo);
        assertEq(escrow.payeeBalance(payee, address(token)), paid ? 2 : 1);
        assertGe(escrow.highWater(alice, payee), settledTo, "the high-water mark never decreases");
    }

    function testFuzz_executeWithdraw_paysMinOfRequestAndBalance(uint96 deposited, uint96 requested, uint96 settled)
        public
    {
        deposited = uint96(bound(deposited, 1, type(uint96).max));
        requested = uint96(bound(requested, 1, deposited));
        settled = uint96(bound(settled, 0, deposited));
        _fund(alice, deposited);
        vm.prank(alice);
        escrow.requestWithdraw(address(token), requested);
        _settle(_settlement(_pair(alice, payee, 0, 1, settled)));
        skip(DELAY);
        vm.prank(alice);
        uint256 paid = escrow.executeWithdraw(address(token));
        uint256 left = deposited - settled;
        assertEq(paid, requested < left ? requested : left);
        assertEq(token.balanceOf(alice), paid);
        assertEq(escrow.balance(alice, address(token)), left - paid);
        assertEq(token.balanceOf(address(escrow)), escrow.balance(alice, address(token)) + settled);
    }

    function testFuzz_settleMany_ordersChunks(uint64 cut, uint64 end, uint128 a, uint128 b) public {
        cut = uint64(bound(cut, 1, type(uint64).max - 1));
        end = uint64(bound(end, cut + 1, type(uint64).max));
        a = uint128(bound(a, 0, 1e12));
        b = uint128(bound(b, 0, 1e12));
        _fund(alice, 2e12);
        Settlement[] memory ss = new Settlement[](2);
        bytes[] memory proofs = new bytes[](2);
        // Submitted out of order, the second chunk is skipped; in order, both are paid.
        ss[0] = _settlement(_pair(alice, payee, cut, end, b));
        ss[1] = _settlement(_pair(alice, payee, 0, cut, a));
        proofs[0] = _prove(ss[0]);
        proofs[1] = _prove(ss[1]);
        vm.prank(payee);
        escrow.settleMany(proofs, ss, _noProofs(), _noAgentSettlements());
        assertEq(escrow.highWater(alice, payee), cut);
        vm.prank(payee);
        escrow.settleMany(proofs, ss, _noProofs(), _noAgentSettlements());
        assertEq(escrow.highWater(alice, payee), end);
        assertEq(escrow.payeeBalance(payee, address(token)), uint256(a) + b);
    }
}
