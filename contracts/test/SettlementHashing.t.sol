// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";

import {Pair, Settlement, SettlementHashing} from "../src/types/Settlement.sol";

/// @dev Exposes the library over calldata, as the escrow uses it.
contract SettlementHashingHarness {
    function publicInput(bytes32 separator, Settlement calldata s) external pure returns (uint256) {
        return SettlementHashing.publicInput(separator, s);
    }

    function packedHash(bytes32 separator, Settlement calldata s) external pure returns (bytes32) {
        return SettlementHashing.packedHash(separator, s);
    }
}

contract SettlementHashingTest is Test {
    SettlementHashingHarness internal harness = new SettlementHashingHarness();

    /// The same vector is pinned in tests/test_chain_settlement.py; the circuit must reproduce it.
    function test_publicInput_matchesPinnedVector() public view {
        Pair[] memory pairs = new Pair[](2);
        pairs[0] = Pair(
            address(0xA1A1a1a1A1A1A1A1A1a1a1a1a1a1A1A1a1A1a1a1),
            address(0xe3e3E3E3E3E3E3e3E3E3e3E3E3E3e3e3E3E3e3E3),
            1,
            2,
            3
        );
        pairs[1] = Pair(
            address(0xB0B0b0B0B0B0B0b0B0B0B0b0b0b0b0B0b0b0B0B0),
            address(0xe3e3E3E3E3E3E3e3E3E3e3E3E3E3e3e3E3E3e3E3),
            4,
            5,
            type(uint128).max
        );
        Settlement memory s =
            Settlement(7, address(0x7070707070707070707070707070707070707070), 0x0102030405060708, pairs);
        bytes32 separator = 0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f;
        assertEq(harness.publicInput(separator, s), 0x28981576b907675f000613076bdc33dd8d21b9118f99ef49a1671c22e465373a);
    }

    function test_packedHash_ofHeaderOnly() public view {
        Settlement memory s = Settlement(1, address(0xBEEF), 2, new Pair[](0));
        bytes32 separator = keccak256("separator");
        assertEq(
            harness.packedHash(separator, s),
            keccak256(abi.encodePacked(separator, uint32(1), address(0xBEEF), uint64(2)))
        );
    }

    function test_publicInput_isBelowScalarField() public view {
        // Every field at its maximum: the digest is whatever it is, but its reduction must land in the field.
        Settlement memory s = Settlement(type(uint32).max, address(type(uint160).max), type(uint64).max, new Pair[](0));
        assertLt(harness.publicInput(bytes32(type(uint256).max), s), SettlementHashing.SNARK_SCALAR_FIELD);
    }

    function test_packedHash_revertsOnDirtyAddressBits() public view {
        Pair[] memory pairs = new Pair[](1);
        pairs[0] = Pair(address(1), address(2), 0, 1, 1);
        Settlement memory s = Settlement(1, address(3), 4, pairs);
        bytes memory data = abi.encodeCall(SettlementHashingHarness.packedHash, (bytes32(0), s));
        // The first pair's payer word: selector(4) + separator(32) + offset(32) + header(4 words) + length(32).
        uint256 payerWord = 4 + 32 + 32 + 32 * 4 + 32;
        assertEq(uint8(data[payerWord + 31]), 1, "offset points at the payer word");
        data[payerWord] = 0x01; // a high bit above the 160-bit address
        (bool ok,) = address(harness).staticcall(data);
        assertFalse(ok, "dirty calldata must not be hashed");
    }
}
