// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm} from "forge-std/Vm.sol";

import {AgentPair, AgentSettlement} from "../src/types/AgentSettlement.sol";
import {EscrowFixture} from "./utils/EscrowFixture.sol";

/// @notice What one more agent pair costs in the state `benchmarks/agent_gas.py`'s scattered workload
/// settles in: distinct payers, each with one agent key scoped to the one payee, settled by a submitter
/// the payee approved; every (key, payee) mark, key record, free balance and the payee's credit already
/// non-zero from a first settlement, and the measured one taking each payer's free balance to zero and
/// its key's `spent` to the cap. Storage is cooled before each call, as a new transaction finds it.
/// The figure is the call's gas with two pairs minus one (`snapshots/agent.json`); the bench's receipt
/// adds the pair's calldata and subtracts the refund for the emptied balance. The slot counts pin where
/// it goes: the storage one more pair reads and writes is exactly the list in `_expectedSlots`.
contract EscrowAgentPairGasTest is EscrowFixture {
    uint128 internal constant PER_PAIR = 2_000; // two mandates of 1,000, as the bench's 64x32 fills
    uint256 internal constant PAYERS = 2;

    address internal relayer = makeAddr("relayer");
    address[] internal payers;
    uint64[] internal keyIds;

    function setUp() public override {
        super.setUp();
        vm.prank(payee);
        escrow.approveSubmitter(relayer, true);
        AgentPair[] memory first = new AgentPair[](PAYERS);
        for (uint256 i; i < PAYERS; ++i) {
            (address payer, uint256 key) = makeAddrAndKey(string.concat("pair-gas-payer", vm.toString(i)));
            payers.push(payer);
            _fund(payer, 2 * PER_PAIR);
            keyIds.push(_authorize(key, _grant(payer, KEY_B, payee, 2 * PER_PAIR)));
            first[i] = _agentPair(keyIds[i], payee, 0, 2, PER_PAIR);
        }
        _settleAgentAs(relayer, _agentSettlement(first));
    }

    /// The bench's warm settlement of the first `n` pairs: nonces 3 and 4 of each.
    function _warm(uint256 n) internal view returns (AgentSettlement memory) {
        AgentPair[] memory ps = new AgentPair[](n);
        for (uint256 i; i < n; ++i) {
            ps[i] = _agentPair(keyIds[i], payee, 2, 4, PER_PAIR);
        }
        return _agentSettlement(ps);
    }

    /// Settles the first `n` pairs from cold storage; returns the call's gas and the escrow's slots it
    /// read and wrote, each slot once.
    function _settleCold(uint256 n) internal returns (uint256 gas, bytes32[] memory reads, bytes32[] memory writes) {
        AgentSettlement memory s = _warm(n);
        bytes memory proof = _proveAgent(s);
        vm.cool(address(escrow));
        vm.cool(address(token));
        vm.cool(address(agentVerifier));
        vm.record();
        vm.prank(relayer);
        escrow.settleAgent(proof, s);
        gas = vm.lastCallGas().gasTotalUsed;
        (reads, writes) = vm.accesses(address(escrow));
        (reads, writes) = (_unique(reads), _unique(writes));
        for (uint256 i; i < n; ++i) {
            assertEq(escrow.balance(payers[i], address(token)), 0, "the bench empties each free balance");
            assertEq(escrow.agentKey(keyIds[i]).spent, 2 * PER_PAIR, "and spends each key's cap");
        }
    }

    function test_gas_settleAgent_onePairMore() public {
        uint256 snapshot = vm.snapshotState();
        (uint256 gas1, bytes32[] memory reads1, bytes32[] memory writes1) = _settleCold(1);
        vm.revertToState(snapshot);
        (uint256 gas2, bytes32[] memory reads2, bytes32[] memory writes2) = _settleCold(2);
        vm.snapshotValue("agent", "settleAgent warm, one pair more (bench's scattered state)", gas2 - gas1);
        (uint256 reads, uint256 writes) = _expectedSlots();
        assertEq(reads2.length - reads1.length, reads, "slots one more pair reads");
        assertEq(writes2.length - writes1.length, writes, "slots one more pair writes");
    }

    /// The escrow slots a warm agent pair of another payer adds to a settlement: the key's compressed
    /// key (for the public input), its terms (payer, validity, flags), the (key, payee) word (the mark,
    /// what the key may still spend, its token's id) and the payer's balance word (its free balance,
    /// and a count of its reservations in the token, zero here, so no reservation is read) are read;
    /// the (key, payee) word and the balance word are written. The approval, the payee's credit and the
    /// settlement token's id are the first pair's.
    function _expectedSlots() internal pure returns (uint256 reads, uint256 writes) {
        return (4, 2);
    }

    /// The packing of one more pair into the public input, alone: `agentPublicInputOf` with two pairs
    /// minus one, storage cooled (the pair's stored key is a cold read).
    function test_gas_agentPublicInputOf_onePairMore() public {
        AgentSettlement memory one = _warm(1);
        AgentSettlement memory two = _warm(2);
        vm.cool(address(escrow));
        escrow.agentPublicInputOf(one);
        uint256 gas1 = vm.lastCallGas().gasTotalUsed;
        vm.cool(address(escrow));
        escrow.agentPublicInputOf(two);
        uint256 gas2 = vm.lastCallGas().gasTotalUsed;
        vm.snapshotValue("agent", "agentPublicInputOf, one pair more (cold key)", gas2 - gas1);
    }

    function _unique(bytes32[] memory slots) internal pure returns (bytes32[] memory out) {
        out = new bytes32[](slots.length);
        uint256 n;
        for (uint256 i; i < slots.length; ++i) {
            bool seen;
            for (uint256 j; j < n && !seen; ++j) {
                seen = out[j] == slots[i];
            }
            if (!seen) out[n++] = slots[i];
        }
        assembly ("memory-safe") {
            mstore(out, n)
        }
    }
}
