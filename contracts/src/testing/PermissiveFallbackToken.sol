// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title PermissiveFallbackToken
/// @notice TEST TOKEN with WETH9's hazard: a payable fallback that accepts any call to a function it does
/// not have. A call to `receiveWithAuthorization` (absent here) therefore succeeds and moves nothing,
/// so an escrow that credited the claimed amount would credit a phantom deposit. Open `mint`.
contract PermissiveFallbackToken is ERC20 {
    constructor() ERC20("Wrapped Test Ether", "WTETH") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice As in WETH9, any unknown call lands here: Ether sent is wrapped for the sender, and a
    /// call without Ether does nothing, successfully.
    fallback() external payable {
        if (msg.value != 0) _mint(msg.sender, msg.value);
    }

    receive() external payable {
        _mint(msg.sender, msg.value);
    }
}
