// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @notice A contract wallet (smart account, MPC wallet) for EIP-1271 tests: it accepts its owner's
/// ECDSA signature over the hash, and can be told to answer yes to everything, no to everything, or
/// to revert.
contract MockWallet is IERC1271 {
    enum Mode {
        Owner,
        Yes,
        No,
        Revert
    }

    address public immutable owner;
    Mode public mode;

    error WalletReverted();

    constructor(address owner_) {
        owner = owner_;
    }

    function setMode(Mode mode_) external {
        mode = mode_;
    }

    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        if (mode == Mode.Revert) revert WalletReverted();
        if (mode == Mode.No) return 0xffffffff;
        if (mode == Mode.Yes) return IERC1271.isValidSignature.selector;
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(hash, signature);
        return err == ECDSA.RecoverError.NoError && signer == owner ? IERC1271.isValidSignature.selector : bytes4(0);
    }
}
