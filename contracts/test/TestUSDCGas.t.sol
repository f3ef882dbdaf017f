// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";

import {TestUSDC} from "../src/TestUSDC.sol";

/// @notice Gas of one EIP-3009 `transferWithAuthorization`, the per-call x402 `exact` baseline. This file
/// imports no escrow, so the token compiles as it deploys (10,000 optimizer runs; the escrow's
/// compilation unit uses fewer, see foundry.toml), and the figure matches the anvil measurement.
contract TestUSDCGasTest is Test {
    function test_gas_transferWithAuthorization() public {
        vm.warp(1_700_000_000);
        TestUSDC token = new TestUSDC();
        address payee = makeAddr("payee");
        (address from, uint256 key) = makeAddrAndKey("x402-payer");
        token.mint(from, 1_000e6);
        token.mint(payee, 1); // a payee that already holds the token, like a live merchant
        uint256 validBefore = block.timestamp + 1 hours;
        bytes32 nonce = "n";
        bytes32 structHash = keccak256(
            abi.encode(token.TRANSFER_WITH_AUTHORIZATION_TYPEHASH(), from, payee, 1_000, 0, validBefore, nonce)
        );
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(key, keccak256(abi.encodePacked(hex"1901", token.DOMAIN_SEPARATOR(), structHash)));
        vm.cool(address(token));
        token.transferWithAuthorization(from, payee, 1_000, 0, validBefore, nonce, v, r, s);
        vm.snapshotGasLastCall("eip3009", "transferWithAuthorization");
    }
}
