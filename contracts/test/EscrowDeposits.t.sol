// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IERC3009} from "../src/interfaces/IERC3009.sol";
import {IEscrow} from "../src/interfaces/IEscrow.sol";
import {FeeOnTransferToken} from "../src/testing/FeeOnTransferToken.sol";
import {PermissiveFallbackToken} from "../src/testing/PermissiveFallbackToken.sol";
import {EscrowFixture} from "./utils/EscrowFixture.sol";

/// @notice Deposits credit what arrived (the growth of the escrow's token balance), never the amount
/// a call claims: no phantom deposits through a permissive fallback, and fee-on-transfer tokens
/// credit their net amount.
contract EscrowDepositsTest is EscrowFixture {
    PermissiveFallbackToken internal weth;
    FeeOnTransferToken internal feeToken;

    function setUp() public override {
        super.setUp();
        weth = new PermissiveFallbackToken();
        feeToken = new FeeOnTransferToken(100); // 1%
    }

    /// The attack: the token has no `receiveWithAuthorization`, but its fallback accepts the call,
    /// so an escrow crediting `amount` would credit the attacker with bob's real deposit and more.
    function test_depositWithAuthorization_revertsIfTokenFallbackMovesNothing() public {
        // The hazard is real: the token accepts the EIP-3009 call it does not implement.
        IERC3009(address(weth))
            .receiveWithAuthorization(alice, address(this), 1_000, 0, type(uint256).max, "n", 27, 0, 0);
        weth.mint(bob, 1_000);
        vm.startPrank(bob);
        weth.approve(address(escrow), 1_000);
        escrow.deposit(address(weth), 1_000);
        vm.stopPrank();

        vm.expectRevert(abi.encodeWithSelector(IEscrow.NothingReceived.selector, address(weth)));
        vm.prank(alice);
        escrow.depositWithAuthorization(address(weth), alice, 1_000, 0, type(uint256).max, "n", 27, 0, 0);
        assertEq(escrow.balance(alice, address(weth)), 0);
        assertEq(escrow.balance(bob, address(weth)), 1_000);
    }

    function test_deposit_revertsIfNothingArrives() public {
        feeToken.setFee(10_000); // the whole amount is burnt in transit
        feeToken.mint(alice, 1_000);
        vm.startPrank(alice);
        feeToken.approve(address(escrow), 1_000);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.NothingReceived.selector, address(feeToken)));
        escrow.deposit(address(feeToken), 1_000);
        vm.stopPrank();
    }

    function test_deposit_creditsNetOfTransferFee() public {
        feeToken.mint(alice, 1_000);
        vm.startPrank(alice);
        feeToken.approve(address(escrow), 1_000);
        vm.expectEmit(address(escrow));
        emit IEscrow.Deposited(alice, address(feeToken), 990);
        escrow.deposit(address(feeToken), 1_000);
        vm.stopPrank();
        assertEq(escrow.balance(alice, address(feeToken)), 990);
        assertEq(feeToken.balanceOf(address(escrow)), 990);
    }

    /// With the escrow crediting the net amount, what it owes never exceeds what it holds: the last
    /// withdrawal is paid in full.
    function test_deposit_feeTokenHoldingsCoverEveryCredit() public {
        feeToken.mint(alice, 1_000);
        feeToken.mint(bob, 500);
        vm.startPrank(alice);
        feeToken.approve(address(escrow), 1_000);
        escrow.deposit(address(feeToken), 1_000);
        escrow.requestWithdraw(address(feeToken), 990);
        vm.stopPrank();
        vm.startPrank(bob);
        feeToken.approve(address(escrow), 500);
        escrow.deposit(address(feeToken), 500);
        escrow.requestWithdraw(address(feeToken), 495);
        vm.stopPrank();
        skip(DELAY);
        vm.prank(alice);
        escrow.executeWithdraw(address(feeToken));
        vm.prank(bob);
        assertEq(escrow.executeWithdraw(address(feeToken)), 495);
        assertEq(feeToken.balanceOf(address(escrow)), 0);
    }

    function testFuzz_deposit_creditsWhatArrived(uint256 amount, uint256 feeBps) public {
        amount = bound(amount, 1, type(uint128).max);
        feeBps = bound(feeBps, 0, 9_999);
        feeToken.setFee(feeBps);
        uint256 net = feeToken.netOf(amount);
        feeToken.mint(alice, amount);
        vm.startPrank(alice);
        feeToken.approve(address(escrow), amount);
        if (net == 0) vm.expectRevert(abi.encodeWithSelector(IEscrow.NothingReceived.selector, address(feeToken)));
        escrow.deposit(address(feeToken), amount);
        vm.stopPrank();
        assertEq(escrow.balance(alice, address(feeToken)), net);
        assertEq(feeToken.balanceOf(address(escrow)), net);
    }

    // ------------------------------------------------------------------------------------------
    // the free balance's 192 bits
    // ------------------------------------------------------------------------------------------

    /// A free balance lives in the low 192 bits of its word (a count of the payer's reservations sits
    /// above): a deposit that would take it past 2^192 − 1 reverts; up to it, it is credited whole.
    function test_deposit_revertsIfFreeBalanceWouldPass192Bits() public {
        uint256 max = type(uint192).max;
        _fund(alice, max);
        _reserve(alice, payee, 1); // the count above the free balance is non-zero
        token.mint(alice, 2);
        vm.startPrank(alice);
        token.approve(address(escrow), 2);
        escrow.deposit(address(token), 1);
        assertEq(escrow.balance(alice, address(token)), max);
        vm.expectRevert(abi.encodeWithSelector(SafeCast.SafeCastOverflowedUintDowncast.selector, 192, max + 1));
        escrow.deposit(address(token), 1);
        vm.stopPrank();
        assertEq(escrow.balance(alice, address(token)), max);
        assertEq(_reservationCount(alice, address(token)), 1);
    }

    /// The same bound holds when a release returns reserved funds: the release reverts, and the payer
    /// can withdraw first and release after.
    function test_executeRelease_revertsIfFreeBalanceWouldPass192Bits() public {
        uint256 max = type(uint192).max;
        _fund(alice, max);
        _reserve(alice, payee, 10);
        _fund(alice, 10);
        vm.startPrank(alice);
        escrow.requestRelease(payee, address(token), 10);
        skip(DELAY);
        vm.expectRevert(abi.encodeWithSelector(SafeCast.SafeCastOverflowedUintDowncast.selector, 192, max + 10));
        escrow.executeRelease(payee, address(token));
        escrow.requestWithdraw(address(token), 10);
        skip(DELAY);
        escrow.executeWithdraw(address(token));
        escrow.executeRelease(payee, address(token));
        vm.stopPrank();
        assertEq(escrow.balance(alice, address(token)), max);
        assertEq(escrow.reservation(alice, payee, address(token)), 0);
        assertEq(_reservationCount(alice, address(token)), 0);
    }
}
