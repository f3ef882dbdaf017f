// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Mandate, MandateHashing} from "./MandateHashing.sol";

/// @title MandateDigester
/// @notice Exposes `MandateHashing` over its own address as the verifying contract, so
/// off-chain code can check its EIP-712 digests against the chain's (parity tests, the demo).
contract MandateDigester {
    /// @notice The EIP-712 domain separator with this contract as verifying contract.
    function domainSeparator() public view returns (bytes32) {
        return MandateHashing.domainSeparator(block.chainid, address(this));
    }

    /// @notice The digest a payer signs for `m` under this contract's domain.
    function digest(Mandate calldata m) external view returns (bytes32) {
        return MandateHashing.digest(domainSeparator(), m);
    }

    /// @notice The signer of `m`, or the zero address if `signature` is malformed or high-s.
    function recover(Mandate calldata m, bytes calldata signature) external view returns (address) {
        if (signature.length != 65) return address(0);
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        // EIP-2: only the lower half of the curve order is a valid s.
        if (uint256(s) > 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0) return address(0);
        return ecrecover(MandateHashing.digest(domainSeparator(), m), v, r, s);
    }
}
