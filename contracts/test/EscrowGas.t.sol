// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Pair, Settlement} from "../src/types/Settlement.sol";
import {EscrowFixture} from "./utils/EscrowFixture.sol";

/// @notice Gas of `settle` by batch shape (one EIP-3009 transfer, for comparison, is in `TestUSDCGas.t.sol`,
/// compiled apart from the escrow with the project's optimizer settings). Each test's
/// measured call goes to `snapshots/*.json` (`vm.snapshotGasLastCall`); the proof check is the
/// attestation stand-in (one ecrecover), not the Groth16 pairing (see contracts/README.md).
/// "cold" is a pair's first settlement (high-water and payee credit go from zero to non-zero);
/// "warm" is every later one, the steady state of a payee that settles every window. Storage is
/// cooled before each measured call, as it would be at the start of a fresh transaction.
contract EscrowGasTest is EscrowFixture {
    address[] internal payers;

    /// @dev Forget this test's earlier storage accesses, so the measured call pays cold prices.
    function _coolAll() internal {
        vm.cool(address(escrow));
        vm.cool(address(token));
        vm.cool(address(verifier));
    }

    function setUp() public override {
        super.setUp();
        for (uint256 i; i < 8; ++i) {
            (address payer,) = makeAddrAndKey(string.concat("gas-payer", vm.toString(i)));
            payers.push(payer);
            _fund(payer, 1_000_000e6);
        }
    }

    function _batch(uint256 pairs, uint64 fromNonce) internal view returns (Settlement memory) {
        Pair[] memory ps = new Pair[](pairs);
        for (uint256 i; i < pairs; ++i) {
            ps[i] = _pair(payers[i], payee, fromNonce, fromNonce + 1, 1_000);
        }
        return _settlement(ps);
    }

    function _measure(uint256 pairs, bool warm) internal {
        if (warm) _settle(_batch(pairs, 0));
        Settlement memory s = _batch(pairs, warm ? 1 : 0);
        bytes memory proof = _prove(s);
        _coolAll();
        vm.prank(payee);
        escrow.settle(proof, s);
        string memory shape = string.concat(vm.toString(pairs), pairs == 1 ? " pair" : " pairs");
        vm.snapshotGasLastCall("settle", string.concat(warm ? "warm, " : "cold, ", shape));
        assertEq(escrow.payeeBalance(payee, address(token)), (warm ? 2 : 1) * pairs * 1_000);
    }

    function test_gas_settle_1PairCold() public {
        _measure(1, false);
    }

    function test_gas_settle_2PairsCold() public {
        _measure(2, false);
    }

    function test_gas_settle_4PairsCold() public {
        _measure(4, false);
    }

    function test_gas_settle_8PairsCold() public {
        _measure(8, false);
    }

    function test_gas_settle_1PairWarm() public {
        _measure(1, true);
    }

    function test_gas_settle_2PairsWarm() public {
        _measure(2, true);
    }

    function test_gas_settle_4PairsWarm() public {
        _measure(4, true);
    }

    function test_gas_settle_8PairsWarm() public {
        _measure(8, true);
    }

    /// All 8 mandates of one payer to one payee: one pair, whatever the mandate count.
    function test_gas_settle_8MandatesOnePairWarm() public {
        _settle(_settlement(_pair(payers[0], payee, 0, 8, 8_000)));
        Settlement memory s = _settlement(_pair(payers[0], payee, 8, 16, 8_000));
        bytes memory proof = _prove(s);
        _coolAll();
        vm.prank(payee);
        escrow.settle(proof, s);
        vm.snapshotGasLastCall("settle", "warm, 1 pair of 8 mandates");
    }

    function test_gas_settle_skippedPairWarm() public {
        _settle(_batch(1, 0));
        Settlement memory s = _batch(1, 0); // replay: skipped
        bytes memory proof = _prove(s);
        _coolAll();
        vm.prank(payee);
        escrow.settle(proof, s);
        vm.snapshotGasLastCall("settle", "warm, 1 pair skipped (replay)");
    }

    /// A relayer the payee approved submits: one more cold read (the approval) than the payee itself.
    function test_gas_settle_1PairWarmApprovedSubmitter() public {
        address relayer = makeAddr("relayer");
        vm.prank(payee);
        escrow.approveSubmitter(relayer, true);
        _settle(_batch(1, 0));
        Settlement memory s = _batch(1, 1);
        bytes memory proof = _prove(s);
        _coolAll();
        vm.prank(relayer);
        escrow.settle(proof, s);
        vm.snapshotGasLastCall("settle", "warm, 1 pair by approved submitter");
        assertEq(escrow.payeeBalance(payee, address(token)), 2_000);
    }

    /// The pair's payer holds a reservation for the payee that covers it: the reservation is debited
    /// instead of the free balance.
    function test_gas_settle_1PairWarmFromReservation() public {
        _reserve(payers[0], payee, 10_000);
        _settle(_batch(1, 0));
        Settlement memory s = _batch(1, 1);
        bytes memory proof = _prove(s);
        _coolAll();
        vm.prank(payee);
        escrow.settle(proof, s);
        vm.snapshotGasLastCall("settle", "warm, 1 pair from reservation");
        assertEq(escrow.reservation(payers[0], payee, address(token)), 8_000);
    }

    function test_gas_deposit() public {
        token.mint(alice, 1_000e6);
        vm.startPrank(alice);
        token.approve(address(escrow), 1_000e6);
        _coolAll();
        escrow.deposit(address(token), 1_000e6);
        vm.snapshotGasLastCall("escrow", "deposit");
        vm.stopPrank();
    }
}
