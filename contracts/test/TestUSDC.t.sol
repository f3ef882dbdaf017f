// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";

import {IERC3009} from "../src/interfaces/IERC3009.sol";
import {TestUSDC} from "../src/TestUSDC.sol";

contract TestUSDCTest is Test {
    uint256 internal constant HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;
    uint256 internal constant N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
    bytes32 internal constant NONCE = "n";

    TestUSDC internal token;
    address internal alice;
    uint256 internal aliceKey;
    address internal bob = makeAddr("bob");
    address internal relayer = makeAddr("relayer");

    uint256 internal validBefore;

    function setUp() public {
        vm.warp(1_700_000_000);
        (alice, aliceKey) = makeAddrAndKey("alice");
        token = new TestUSDC();
        token.mint(alice, 1_000e6);
        validBefore = block.timestamp + 1 hours;
    }

    function _digest(bytes32 structHash) internal view returns (bytes32) {
        return keccak256(abi.encodePacked(hex"1901", token.DOMAIN_SEPARATOR(), structHash));
    }

    function _sign(bytes32 typehash, address to, uint256 value, uint256 after_, uint256 before_, bytes32 nonce)
        internal
        view
        returns (uint8 v, bytes32 r, bytes32 s)
    {
        return vm.sign(aliceKey, _digest(keccak256(abi.encode(typehash, alice, to, value, after_, before_, nonce))));
    }

    function _transferSig(uint256 value, bytes32 nonce) internal view returns (uint8, bytes32, bytes32) {
        return _sign(token.TRANSFER_WITH_AUTHORIZATION_TYPEHASH(), bob, value, 0, validBefore, nonce);
    }

    // ------------------------------------------------------------------------------------------
    // metadata: what USDC clients (x402 `exact`) read
    // ------------------------------------------------------------------------------------------

    function test_metadata_matchesUsdc() public view {
        assertEq(token.name(), "USD Coin");
        assertEq(token.symbol(), "USDC");
        assertEq(token.decimals(), 6);
        assertEq(token.version(), "2");
    }

    function test_domainSeparator_isUsdcDomain() public view {
        bytes32 expected = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("USD Coin"),
                keccak256("2"),
                block.chainid,
                address(token)
            )
        );
        assertEq(token.DOMAIN_SEPARATOR(), expected);
    }

    function test_typehashes_matchEip3009() public view {
        assertEq(
            token.TRANSFER_WITH_AUTHORIZATION_TYPEHASH(),
            0x7c7c6cdb67a18743f49ec6fa9b35f50d52ed05cbed4cc592e13b44501c1a2267
        );
        assertEq(
            token.RECEIVE_WITH_AUTHORIZATION_TYPEHASH(),
            0xd099cc98ef71107a616c4f0f941f04c322d8e254fe26b3c6668db87aae413de8
        );
        assertEq(
            token.CANCEL_AUTHORIZATION_TYPEHASH(), 0x158b0a9edf7a828aad02f63cd515c68ef2f50ba807396f6d12842833a1597429
        );
        assertEq(token.PERMIT_TYPEHASH(), 0x6e71edae12b1b97f4d1f60370fef10105fa2faae0126114a169c64845d6126c9);
    }

    function test_mint_openToAnyone() public {
        vm.prank(bob);
        token.mint(bob, 5);
        assertEq(token.balanceOf(bob), 5);
    }

    // ------------------------------------------------------------------------------------------
    // transferWithAuthorization
    // ------------------------------------------------------------------------------------------

    function test_transferWithAuthorization_movesFundsWhenRelayed() public {
        (uint8 v, bytes32 r, bytes32 s) = _transferSig(10e6, "n");
        vm.expectEmit(address(token));
        emit IERC3009.AuthorizationUsed(alice, "n");
        vm.prank(relayer);
        token.transferWithAuthorization(alice, bob, 10e6, 0, validBefore, "n", v, r, s);
        assertEq(token.balanceOf(bob), 10e6);
        assertTrue(token.authorizationState(alice, "n"));
    }

    function test_transferWithAuthorization_acceptsPackedSignature() public {
        (uint8 v, bytes32 r, bytes32 s) = _transferSig(10e6, "n");
        token.transferWithAuthorization(alice, bob, 10e6, 0, validBefore, "n", abi.encodePacked(r, s, v));
        assertEq(token.balanceOf(bob), 10e6);
    }

    function test_transferWithAuthorization_revertsIfReplayed() public {
        (uint8 v, bytes32 r, bytes32 s) = _transferSig(10e6, "n");
        token.transferWithAuthorization(alice, bob, 10e6, 0, validBefore, "n", v, r, s);
        vm.expectRevert(abi.encodeWithSelector(TestUSDC.AuthorizationUsedOrCanceled.selector, alice, NONCE));
        token.transferWithAuthorization(alice, bob, 10e6, 0, validBefore, "n", v, r, s);
    }

    function test_transferWithAuthorization_revertsIfExpired() public {
        (uint8 v, bytes32 r, bytes32 s) = _transferSig(10e6, "n");
        vm.warp(validBefore);
        vm.expectRevert(abi.encodeWithSelector(TestUSDC.AuthorizationExpired.selector, validBefore, block.timestamp));
        token.transferWithAuthorization(alice, bob, 10e6, 0, validBefore, "n", v, r, s);
    }

    function test_transferWithAuthorization_revertsIfNotYetValid() public {
        uint256 validAfter = block.timestamp;
        (uint8 v, bytes32 r, bytes32 s) =
            _sign(token.TRANSFER_WITH_AUTHORIZATION_TYPEHASH(), bob, 1, validAfter, validBefore, "n");
        vm.expectRevert(abi.encodeWithSelector(TestUSDC.AuthorizationNotYetValid.selector, validAfter, block.timestamp));
        token.transferWithAuthorization(alice, bob, 1, validAfter, validBefore, "n", v, r, s);
    }

    function test_transferWithAuthorization_revertsIfValueAltered() public {
        (uint8 v, bytes32 r, bytes32 s) = _transferSig(10e6, "n");
        vm.expectRevert(abi.encodeWithSelector(TestUSDC.InvalidSignature.selector, alice));
        token.transferWithAuthorization(alice, bob, 11e6, 0, validBefore, "n", v, r, s);
    }

    function test_transferWithAuthorization_revertsIfHighS() public {
        (uint8 v, bytes32 r, bytes32 s) = _transferSig(10e6, "n");
        bytes32 highS = bytes32(N - uint256(s));
        assertGt(uint256(highS), HALF_N);
        vm.expectRevert(abi.encodeWithSelector(TestUSDC.InvalidSignature.selector, alice));
        token.transferWithAuthorization(alice, bob, 10e6, 0, validBefore, "n", v == 27 ? 28 : 27, r, highS);
    }

    function test_transferWithAuthorization_revertsIfBalanceTooLow() public {
        (uint8 v, bytes32 r, bytes32 s) = _transferSig(2_000e6, "n");
        vm.expectRevert();
        token.transferWithAuthorization(alice, bob, 2_000e6, 0, validBefore, "n", v, r, s);
    }

    // ------------------------------------------------------------------------------------------
    // receiveWithAuthorization
    // ------------------------------------------------------------------------------------------

    function test_receiveWithAuthorization_movesFundsForPayee() public {
        (uint8 v, bytes32 r, bytes32 s) =
            _sign(token.RECEIVE_WITH_AUTHORIZATION_TYPEHASH(), bob, 7, 0, validBefore, "n");
        vm.prank(bob);
        token.receiveWithAuthorization(alice, bob, 7, 0, validBefore, "n", v, r, s);
        assertEq(token.balanceOf(bob), 7);
    }

    function test_receiveWithAuthorization_acceptsPackedSignature() public {
        (uint8 v, bytes32 r, bytes32 s) =
            _sign(token.RECEIVE_WITH_AUTHORIZATION_TYPEHASH(), bob, 7, 0, validBefore, "n");
        vm.prank(bob);
        token.receiveWithAuthorization(alice, bob, 7, 0, validBefore, "n", abi.encodePacked(r, s, v));
        assertEq(token.balanceOf(bob), 7);
    }

    function test_receiveWithAuthorization_revertsIfCallerNotPayee() public {
        (uint8 v, bytes32 r, bytes32 s) =
            _sign(token.RECEIVE_WITH_AUTHORIZATION_TYPEHASH(), bob, 7, 0, validBefore, "n");
        vm.expectRevert(abi.encodeWithSelector(TestUSDC.CallerMustBePayee.selector, relayer, bob));
        vm.prank(relayer);
        token.receiveWithAuthorization(alice, bob, 7, 0, validBefore, "n", v, r, s);
    }

    function test_receiveWithAuthorization_revertsIfTransferSignatureUsed() public {
        (uint8 v, bytes32 r, bytes32 s) = _transferSig(7, "n"); // a different typehash
        vm.expectRevert(abi.encodeWithSelector(TestUSDC.InvalidSignature.selector, alice));
        vm.prank(bob);
        token.receiveWithAuthorization(alice, bob, 7, 0, validBefore, "n", v, r, s);
    }

    // ------------------------------------------------------------------------------------------
    // cancelAuthorization and permit
    // ------------------------------------------------------------------------------------------

    function test_cancelAuthorization_blocksLaterUse() public {
        (uint8 cv, bytes32 cr, bytes32 cs) =
            vm.sign(aliceKey, _digest(keccak256(abi.encode(token.CANCEL_AUTHORIZATION_TYPEHASH(), alice, NONCE))));
        vm.expectEmit(address(token));
        emit IERC3009.AuthorizationCanceled(alice, "n");
        token.cancelAuthorization(alice, "n", cv, cr, cs);
        (uint8 v, bytes32 r, bytes32 s) = _transferSig(1, "n");
        vm.expectRevert(abi.encodeWithSelector(TestUSDC.AuthorizationUsedOrCanceled.selector, alice, NONCE));
        token.transferWithAuthorization(alice, bob, 1, 0, validBefore, "n", v, r, s);
    }

    function test_cancelAuthorization_revertsIfWrongSigner() public {
        (, uint256 otherKey) = makeAddrAndKey("other");
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(otherKey, _digest(keccak256(abi.encode(token.CANCEL_AUTHORIZATION_TYPEHASH(), alice, NONCE))));
        vm.expectRevert(abi.encodeWithSelector(TestUSDC.InvalidSignature.selector, alice));
        token.cancelAuthorization(alice, "n", abi.encodePacked(r, s, v));
    }

    function test_permit_setsAllowance() public {
        bytes32 structHash = keccak256(abi.encode(token.PERMIT_TYPEHASH(), alice, bob, 5, 0, validBefore));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(aliceKey, _digest(structHash));
        token.permit(alice, bob, 5, validBefore, v, r, s);
        assertEq(token.allowance(alice, bob), 5);
        assertEq(token.nonces(alice), 1);
    }

    function test_permit_revertsIfExpired() public {
        vm.expectRevert(abi.encodeWithSelector(TestUSDC.PermitExpired.selector, block.timestamp - 1, block.timestamp));
        token.permit(alice, bob, 5, block.timestamp - 1, 27, 0, 0);
    }

    function testFuzz_transferWithAuthorization_onlyExactTermsPass(uint256 value, uint256 signedValue, bytes32 nonce)
        public
    {
        value = bound(value, 1, 1_000e6);
        signedValue = bound(signedValue, 1, 1_000e6);
        (uint8 v, bytes32 r, bytes32 s) = _transferSig(signedValue, nonce);
        if (value != signedValue) vm.expectRevert(abi.encodeWithSelector(TestUSDC.InvalidSignature.selector, alice));
        token.transferWithAuthorization(alice, bob, value, 0, validBefore, nonce, v, r, s);
        assertEq(token.balanceOf(bob), value == signedValue ? value : 0);
    }
}
