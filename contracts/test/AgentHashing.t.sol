// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";

import {AgentKeyHashing} from "../src/types/AgentKeyGrant.sol";
import {AgentPair, AgentSettlement, AgentSettlementHashing} from "../src/types/AgentSettlement.sol";

/// @dev Exposes the agent libraries over calldata, with a key store standing in for the escrow's.
contract AgentHashingHarness {
    mapping(uint64 keyId => bytes32) public keys;

    function setKey(uint64 keyId, bytes32 key) external {
        keys[keyId] = key;
    }

    function _keyOf(uint64 keyId) internal view returns (bytes32) {
        return keys[keyId];
    }

    function publicInput(bytes32 separator, AgentSettlement calldata s) external view returns (uint256) {
        return AgentSettlementHashing.publicInput(separator, s, _keyOf);
    }

    function packedHash(bytes32 separator, AgentSettlement calldata s) external view returns (bytes32) {
        return AgentSettlementHashing.packedHash(separator, s, _keyOf);
    }

    function isAcceptableKey(bytes32 key) external pure returns (bool) {
        return AgentKeyHashing.isAcceptableKey(key);
    }
}

contract AgentHashingTest is Test {
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    bytes32 internal constant KEY_B = 0x8b7d2d877a253c4b7733e1b91f05e0fcedf96bd11c2e572549b2a0f703727925;
    bytes32 internal constant KEY_2B = 0x53686d2b4005178e1843106f2992a867a01d8a84afbe9e8bda300abfaf6c6601;
    address internal constant PAYEE = 0xe3e3E3E3E3E3E3e3E3E3e3E3E3E3e3e3E3E3e3E3;
    address internal constant OTHER = 0xB0B0b0B0B0B0B0b0B0B0B0b0b0b0b0B0b0b0B0B0;

    AgentHashingHarness internal harness = new AgentHashingHarness();

    // ------------------------------------------------------------------------------------------
    // the agent settlement's public input
    // ------------------------------------------------------------------------------------------

    /// The same vector is pinned in tests/test_chain_agent_keys.py; the agent circuit must reproduce it.
    /// Key 9 is unknown: it packs as 32 zero bytes.
    function test_publicInput_matchesPinnedVector() public {
        harness.setKey(1, KEY_B);
        harness.setKey(type(uint64).max, KEY_2B);
        AgentPair[] memory pairs = new AgentPair[](3);
        pairs[0] = AgentPair(1, PAYEE, 1, 2, 3);
        pairs[1] = AgentPair(type(uint64).max, PAYEE, 4, 5, type(uint128).max);
        pairs[2] = AgentPair(9, OTHER, 0, 1, 1);
        AgentSettlement memory s =
            AgentSettlement(7, address(0x7070707070707070707070707070707070707070), 0x0102030405060708, pairs);
        bytes32 separator = 0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f;
        assertEq(harness.publicInput(separator, s), 0x23637b4379249fc42942224deca7a56351ab776c666008ab6e97f4c7e3560406);
    }

    function test_packedHash_ofHeaderOnly() public view {
        AgentSettlement memory s = AgentSettlement(1, address(0xBEEF), 2, new AgentPair[](0));
        bytes32 separator = keccak256("separator");
        assertEq(
            harness.packedHash(separator, s),
            keccak256(abi.encodePacked(separator, uint32(1), address(0xBEEF), uint64(2)))
        );
    }

    function testFuzz_packedHash_matchesEncodePacked(bytes32 separator, uint256 seed, uint8 count) public {
        count = uint8(bound(count, 0, 10));
        AgentPair[] memory pairs = new AgentPair[](count);
        bytes memory packed = abi.encodePacked(separator, uint32(seed), address(uint160(seed >> 32)), uint64(seed));
        for (uint256 i; i < count; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            uint64 keyId = uint64(r);
            bytes32 key = keccak256(abi.encode(r));
            if (r % 3 != 0) harness.setKey(keyId, key); // else unknown: zero
            pairs[i] = AgentPair(keyId, address(uint160(r >> 64)), uint64(r >> 8), uint64(r >> 16), uint128(r >> 24));
            packed = abi.encodePacked(
                packed, keyId, harness.keys(keyId), pairs[i].payee, pairs[i].fromNonce, pairs[i].toNonce, pairs[i].total
            );
        }
        AgentSettlement memory s = AgentSettlement(uint32(seed), address(uint160(seed >> 32)), uint64(seed), pairs);
        assertEq(packed.length, 64 + 92 * uint256(count));
        assertEq(harness.packedHash(separator, s), keccak256(packed));
        assertEq(harness.publicInput(separator, s), uint256(keccak256(packed)) % R);
    }

    /// A pair field with bits above its type's width reverts instead of being hashed as something else.
    function test_packedHash_revertsOnDirtyKeyIdBits() public {
        AgentPair[] memory pairs = new AgentPair[](1);
        pairs[0] = AgentPair(1, PAYEE, 0, 1, 1);
        bytes memory data =
            abi.encodeCall(AgentHashingHarness.packedHash, (bytes32(0), AgentSettlement(1, address(1), 1, pairs)));
        // the pair's keyId is the first word after the array length; set a bit above uint64
        uint256 offset = data.length - 5 * 32;
        data[offset + 23] = 0x01;
        (bool ok,) = address(harness).staticcall(data);
        assertFalse(ok);
    }

    // ------------------------------------------------------------------------------------------
    // key encodings
    // ------------------------------------------------------------------------------------------

    /// @dev `Y` of a compressed key: little-endian, the sign bit cleared.
    function _y(bytes32 key) internal pure returns (uint256 y) {
        for (uint256 i; i < 32; ++i) {
            y |= uint256(uint8(key[i])) << (8 * i);
        }
        y &= ~(uint256(1) << 255);
    }

    /// The constants are the Ys of the small-order points that `tests/reference/babyjubjub.py` computes
    /// from gnark-crypto's curve: order 8 (two Ys, each with both signs), order 2 (r - 1), the identity (1)
    /// and order 4 (0).
    function test_isAcceptableKey_refusesEverySmallOrderY() public view {
        bytes32[4] memory order8 = [
            bytes32(0x77d6d0af811efdaba0b534826dc591b72c94a64b7d12c16314d3721121b7ab0a),
            bytes32(0x77d6d0af811efdaba0b534826dc591b72c94a64b7d12c16314d3721121b7ab8a),
            bytes32(0x8a292f4012d7e497f0ba84f7da22a27030c4da3539338f5415cdbecf5197b825),
            bytes32(0x8a292f4012d7e497f0ba84f7da22a27030c4da3539338f5415cdbecf5197b8a5)
        ];
        assertEq(_y(order8[0]) + _y(order8[2]), R, "the two order-8 Ys are negatives");
        for (uint256 i; i < 4; ++i) {
            assertFalse(harness.isAcceptableKey(order8[i]));
        }
        assertFalse(harness.isAcceptableKey(bytes32(0)));
        assertFalse(harness.isAcceptableKey(bytes32(uint256(0x80))));
        assertFalse(harness.isAcceptableKey(bytes32(uint256(1) << 248))); // Y = 1
        assertFalse(harness.isAcceptableKey(0x000000f093f5e1439170b97948e833285d588181b64550b829a031e1724e6430)); // r-1
        assertTrue(harness.isAcceptableKey(KEY_B));
        assertTrue(harness.isAcceptableKey(KEY_2B));
    }

    function testFuzz_isAcceptableKey_isYBelowROutsideSmallOrder(bytes32 key) public view {
        uint256 y = _y(key);
        bool smallOrder = y == 0 || y == 1 || y == R - 1
            || y == 0x0aabb7211172d31463c1127d4ba6942cb791c56d8234b5a0abfd1e81afd0d677
            || y == R - 0x0aabb7211172d31463c1127d4ba6942cb791c56d8234b5a0abfd1e81afd0d677;
        assertEq(harness.isAcceptableKey(key), y < R && !smallOrder);
    }
}
