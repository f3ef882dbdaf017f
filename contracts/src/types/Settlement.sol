// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice One (payer, payee) run of mandates inside a settlement: the payer owes `total` for the
/// mandates with nonces in (`fromNonce`, `toNonce`], the last of which has nonce `toNonce`.
struct Pair {
    address payer;
    address payee;
    uint64 fromNonce;
    uint64 toNonce;
    uint128 total;
}

/// @notice What one proof settles: every pair is paid in `token`, and every mandate behind it is
/// valid until at least `notAfter`. `verifierId` names the circuit size (and key) that proved it.
struct Settlement {
    uint32 verifierId;
    address token;
    uint64 notAfter;
    Pair[] pairs;
}

/// @title SettlementHashing
/// @notice The proof's single public input, packed byte for byte as pinned in `circuits/README.md`:
/// `uint256(keccak256(separator ‖ verifierId ‖ token ‖ notAfter ‖ pair…)) mod r`, 64 + 72·pairs bytes.
library SettlementHashing {
    /// @notice The BN254 scalar field order; public inputs live below it.
    uint256 internal constant SNARK_SCALAR_FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;

    uint256 private constant HEADER_BYTES = 64;
    uint256 private constant PAIR_BYTES = 72;

    /// @notice `keccak256` of the packed settlement, before reduction.
    /// @dev Equivalent to `abi.encodePacked(separator, s.verifierId, s.token, s.notAfter, pairs...)` but
    /// written into free memory in one pass: concatenating in a loop would copy the buffer per pair.
    /// Each field is stored left-aligned with `mstore`, whose trailing zeros the next field overwrites.
    /// Calldata fields are read through Solidity, so dirty high bits revert instead of being hashed.
    function packedHash(bytes32 separator, Settlement calldata s) internal pure returns (bytes32 digest) {
        Pair[] calldata pairs = s.pairs;
        uint256 n = pairs.length;
        uint256 header = (uint256(s.verifierId) << 224) | (uint256(uint160(s.token)) << 64) | uint256(s.notAfter);
        uint256 ptr;
        assembly ("memory-safe") {
            ptr := mload(0x40)
            mstore(ptr, separator)
            mstore(add(ptr, 32), header)
            // Reserve the buffer plus one word for the last field's trailing zeros.
            mstore(0x40, add(ptr, add(add(HEADER_BYTES, mul(n, PAIR_BYTES)), 32)))
        }
        uint256 cursor = ptr + HEADER_BYTES;
        for (uint256 i; i < n; ++i) {
            Pair calldata p = pairs[i];
            (address payer, address payee, uint64 fromNonce, uint64 toNonce, uint128 total) =
                (p.payer, p.payee, p.fromNonce, p.toNonce, p.total);
            assembly ("memory-safe") {
                mstore(cursor, shl(96, payer))
                mstore(add(cursor, 20), shl(96, payee))
                mstore(add(cursor, 40), shl(192, fromNonce))
                mstore(add(cursor, 48), shl(192, toNonce))
                mstore(add(cursor, 56), shl(128, total))
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
    function publicInput(bytes32 separator, Settlement calldata s) internal pure returns (uint256) {
        return uint256(packedHash(separator, s)) % SNARK_SCALAR_FIELD;
    }
}
