// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice One signed payment mandate, field for field as in the EIP-712 type.
struct Mandate {
    address payer;
    address payee;
    address token;
    uint256 amount;
    uint64 nonce;
    uint64 deadline;
    bytes32 ref;
}

/// @title MandateHashing
/// @notice The EIP-712 hashing of aep2 mandates. The Python SDK, the circuit and the escrow
/// must produce the same digest byte for byte; this library is the Solidity side of that.
library MandateHashing {
    bytes32 internal constant MANDATE_TYPEHASH = keccak256(
        "Mandate(address payer,address payee,address token,uint256 amount,uint64 nonce,uint64 deadline,bytes32 ref)"
    );
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 internal constant NAME_HASH = keccak256("AEP2");
    bytes32 internal constant VERSION_HASH = keccak256("1");

    /// @notice The domain separator for an escrow at `verifyingContract` on `chainId`.
    function domainSeparator(uint256 chainId, address verifyingContract) internal pure returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, chainId, verifyingContract));
    }

    /// @notice EIP-712 `hashStruct` of a mandate.
    function structHash(Mandate memory m) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(MANDATE_TYPEHASH, m.payer, m.payee, m.token, m.amount, m.nonce, m.deadline, m.ref)
        );
    }

    /// @notice The digest a payer signs: `keccak256(0x1901 ‖ domainSeparator ‖ hashStruct)`.
    function digest(bytes32 separator, Mandate memory m) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(hex"1901", separator, structHash(m)));
    }
}
