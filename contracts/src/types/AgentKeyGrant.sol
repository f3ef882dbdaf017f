// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice A payer's EIP-712 grant of an agent key, field for field as in the type
/// `AgentKey(address payer,bytes32 key,address token,address payee,uint128 cap,uint64 validAfter,uint64 validUntil,uint64 salt)`
/// (`docs/agent-keys.md`, "The grant"): `key` is the compressed Baby Jubjub public key, `payee` the one
/// merchant it may pay (zero: any), `cap` the most the escrow will ever debit through it,
/// `[validAfter, validUntil]` the seconds it settles in, `salt` what tells two equal grants apart.
struct AgentKeyGrant {
    address payer;
    bytes32 key;
    address token;
    address payee;
    uint128 cap;
    uint64 validAfter;
    uint64 validUntil;
    uint64 salt;
}

/// @title AgentKeyHashing
/// @notice EIP-712 hashing of agent-key grants under the mandates' domain, and the escrow's check of
/// a compressed key's encoding.
library AgentKeyHashing {
    bytes32 internal constant AGENT_KEY_TYPEHASH = keccak256(
        "AgentKey(address payer,bytes32 key,address token,address payee,uint128 cap,uint64 validAfter,uint64 validUntil,uint64 salt)"
    );

    /// @dev BN254's scalar field order, the base field of Baby Jubjub.
    uint256 private constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @dev The Y coordinates of Baby Jubjub's points of order 8 (the others of small order have Y in
    /// {0, 1, r - 1}), as gnark-crypto's curve parameters give them; `test/AgentHashing.t.sol` checks them.
    uint256 private constant Y_ORDER_8 = 0x0aabb7211172d31463c1127d4ba6942cb791c56d8234b5a0abfd1e81afd0d677;
    uint256 private constant Y_ORDER_8_NEG = R - Y_ORDER_8;

    /// @notice EIP-712 `hashStruct` of a grant.
    function structHash(AgentKeyGrant calldata g) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(AGENT_KEY_TYPEHASH, g.payer, g.key, g.token, g.payee, g.cap, g.validAfter, g.validUntil, g.salt)
        );
    }

    /// @notice The digest the payer signs: `keccak256(0x1901 ‖ domainSeparator ‖ hashStruct)`.
    function digest(bytes32 separator, AgentKeyGrant calldata g) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(hex"1901", separator, structHash(g)));
    }

    /// @notice Whether `key` may be registered: its `Y` (little-endian, sign bit cleared) is canonical
    /// (below r) and not the `Y` of a point of small order (the identity, order 2, 4 or 8), whose
    /// EdDSA signatures anyone could forge. The zero key is such an encoding (order 4).
    /// @dev Whether the point is on the curve and in the prime-order subgroup is checked off chain
    /// (the payee, the circuit): such a key could sign nothing, so registering it only costs the
    /// payer its gas. A small-order key could be forged by anyone, so the escrow refuses it.
    function isAcceptableKey(bytes32 key) internal pure returns (bool) {
        uint256 y = _reverseBytes(uint256(key) & ~uint256(0x80));
        return y < R && y > 1 && y != R - 1 && y != Y_ORDER_8 && y != Y_ORDER_8_NEG;
    }

    /// @dev The 32 bytes of `v` in reverse order: the compressed form stores `Y` little-endian.
    function _reverseBytes(uint256 v) private pure returns (uint256) {
        v = ((v >> 8) & 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff)
            | ((v & 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff) << 8);
        v = ((v >> 16) & 0x0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff)
            | ((v & 0x0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff) << 16);
        v = ((v >> 32) & 0x00000000ffffffff00000000ffffffff00000000ffffffff00000000ffffffff)
            | ((v & 0x00000000ffffffff00000000ffffffff00000000ffffffff00000000ffffffff) << 32);
        v = ((v >> 64) & 0x0000000000000000ffffffffffffffff0000000000000000ffffffffffffffff)
            | ((v & 0x0000000000000000ffffffffffffffff0000000000000000ffffffffffffffff) << 64);
        return (v >> 128) | (v << 128);
    }
}
