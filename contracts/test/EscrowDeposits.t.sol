// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

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
}
