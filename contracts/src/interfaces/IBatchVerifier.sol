// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IBatchVerifier
/// @notice The shape of gnark's exported Groth16 verifier for one batch-circuit size.
/// @dev `proof` is gnark's `MarshalSolidity()` encoding (256 bytes, plus 64 per commitment and one
/// for the folded commitment proof). The single public input is the packed-settlement hash reduced
/// mod the BN254 scalar field. The verifier reverts on an invalid proof and returns nothing otherwise.
interface IBatchVerifier {
    /// @notice Reverts unless `proof` is a valid proof for `input`.
    function verifyProof(bytes calldata proof, uint256[1] calldata input) external view;
}
