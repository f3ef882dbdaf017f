// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SettlementHashing} from "./Settlement.sol";

/// @notice One (agent key, payee) run of agent mandates inside an agent settlement: the key's payer
/// owes `total` for the mandates with nonces in (`fromNonce`, `toNonce`], the last of which is `toNonce`.
struct AgentPair {
    uint64 keyId;
    address payee;
    uint64 fromNonce;
    uint64 toNonce;
    uint128 total;
}

/// @notice What one agent-family proof settles: every pair is paid in `token`, and every mandate behind
/// it is valid until at least `notAfter`. `verifierId` names an agent verifier (circuit size and key).
struct AgentSettlement {
    uint32 verifierId;
    address token;
    uint64 notAfter;
    AgentPair[] pairs;
}

/// @title AgentSettlementHashing
/// @notice The agent proof's single public input, packed byte for byte as pinned in
/// `docs/agent-keys.md` ("The settlement the proof opens"):
/// `uint256(keccak256(separator ‖ verifierId ‖ token ‖ notAfter ‖ {keyId ‖ key ‖ payee ‖ fromNonce ‖
/// toNonce ‖ total}…)) mod r`, 64 + 92·pairs bytes, where `key` is the compressed key the escrow
/// stores for `keyId` (zero for an unknown id), never a value from calldata.
library AgentSettlementHashing {
    uint256 private constant HEADER_BYTES = 64;
    uint256 private constant PAIR_BYTES = 92;

    /// @notice `keccak256` of the packed agent settlement, before reduction; `keyOf` supplies each
    /// pair's stored key.
    /// @dev Written into free memory in one pass, as `SettlementHashing.packedHash` is: each field is
    /// stored left-aligned with `mstore`, whose trailing zeros the next field overwrites.
    function packedHash(
        bytes32 separator,
        AgentSettlement calldata s,
        function(uint64) internal view returns (bytes32) keyOf
    ) internal view returns (bytes32 digest) {
        AgentPair[] calldata pairs = s.pairs;
        uint256 n = pairs.length;
        uint256 header = (uint256(s.verifierId) << 224) | (uint256(uint160(s.token)) << 64) | uint256(s.notAfter);
        uint256 ptr;
        assembly ("memory-safe") {
            ptr := mload(0x40)
            mstore(ptr, separator)
            mstore(add(ptr, 32), header)
            mstore(0x40, add(ptr, add(add(HEADER_BYTES, mul(n, PAIR_BYTES)), 32)))
        }
        uint256 cursor = ptr + HEADER_BYTES;
        for (uint256 i; i < n; ++i) {
            AgentPair calldata p = pairs[i];
            {
                uint64 keyId = p.keyId;
                bytes32 key = keyOf(keyId);
                assembly ("memory-safe") {
                    mstore(cursor, shl(192, keyId))
                    mstore(add(cursor, 8), key)
                }
            }
            (address payee, uint64 fromNonce, uint64 toNonce, uint128 total) =
                (p.payee, p.fromNonce, p.toNonce, p.total);
            assembly ("memory-safe") {
                mstore(add(cursor, 40), shl(96, payee))
                mstore(add(cursor, 60), shl(192, fromNonce))
                mstore(add(cursor, 68), shl(192, toNonce))
                mstore(add(cursor, 76), shl(128, total))
            }
            unchecked {
                cursor += PAIR_BYTES; // within the buffer reserved above
            }
        }
        assembly ("memory-safe") {
            digest := keccak256(ptr, sub(cursor, ptr))
        }
    }

    /// @notice The public input the proof must open to: `packedHash` reduced into the scalar field.
    function publicInput(
        bytes32 separator,
        AgentSettlement calldata s,
        function(uint64) internal view returns (bytes32) keyOf
    ) internal view returns (uint256) {
        return uint256(packedHash(separator, s, keyOf)) % SettlementHashing.SNARK_SCALAR_FIELD;
    }
}
