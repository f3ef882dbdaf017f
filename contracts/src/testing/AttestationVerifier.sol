// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

import {IBatchVerifier} from "../interfaces/IBatchVerifier.sol";

/// @title AttestationVerifier
/// @notice TEST STAND-IN for a Groth16 batch verifier, for forge tests and local integration tests
/// before the circuit's exported verifier exists. It accepts a "proof" only if it is a 65-byte, low-s
/// ECDSA signature by `attester` over `keccak256(abi.encode(address(this), block.chainid, input))`,
/// and reverts otherwise, so a wrong public input or a tampered proof fails as it would with Groth16.
/// It proves nothing about mandates: it trusts the attester. Never register it on a real chain.
contract AttestationVerifier is IBatchVerifier {
    /// @notice The key whose signatures stand in for proofs.
    address public immutable attester;

    /// @notice The proof is not the attester's signature over this input.
    error NotAttested(address recovered, uint256 input);

    constructor(address attester_) {
        attester = attester_;
    }

    /// @notice The 32-byte hash the attester signs (no EIP-191 prefix) to attest `input`.
    function attestationDigest(uint256 input) public view returns (bytes32) {
        return keccak256(abi.encode(address(this), block.chainid, input));
    }

    /// @inheritdoc IBatchVerifier
    function verifyProof(bytes calldata proof, uint256[1] calldata input) external view {
        // ECDSA.recover reverts on a malformed or high-s signature.
        address recovered = ECDSA.recover(attestationDigest(input[0]), proof);
        if (recovered != attester) revert NotAttested(recovered, input[0]);
    }
}
