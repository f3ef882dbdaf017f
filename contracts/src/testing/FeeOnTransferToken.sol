// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title FeeOnTransferToken
/// @notice TEST TOKEN that burns `feeBps` basis points of every transfer (mints are free), so the
/// recipient receives less than the amount the sender named. Open `mint` and `setFee`.
contract FeeOnTransferToken is ERC20 {
    uint256 public constant MAX_FEE_BPS = 10_000;

    /// @notice The fee, in basis points of each transferred amount, that is burnt in transit.
    uint256 public feeBps;

    /// @notice `setFee` above 100%.
    error FeeTooHigh(uint256 feeBps);

    constructor(uint256 feeBps_) ERC20("Fee Test Token", "FEE") {
        setFee(feeBps_);
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function setFee(uint256 feeBps_) public {
        if (feeBps_ > MAX_FEE_BPS) revert FeeTooHigh(feeBps_);
        feeBps = feeBps_;
    }

    /// @notice What a transfer of `amount` delivers.
    function netOf(uint256 amount) public view returns (uint256) {
        return amount - amount * feeBps / MAX_FEE_BPS;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0) || to == address(0)) return super._update(from, to, value);
        uint256 net = netOf(value);
        super._update(from, to, net);
        if (value != net) super._update(from, address(0), value - net);
    }
}
