// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AgentKeyGrant} from "../src/types/AgentKeyGrant.sol";
import {AgentPair, AgentSettlement} from "../src/types/AgentSettlement.sol";
import {Settlement} from "../src/types/Settlement.sol";
import {EscrowFixture} from "./utils/EscrowFixture.sol";

/// @notice Gas of the agent-key registry and of `settleAgent` by batch shape, measured as
/// `EscrowGas.t.sol` measures EIP-712 settlements (`snapshots/agent.json`, storage cooled before the
/// measured call, the attestation stand-in as verifier). Pairs come from distinct payers' keys, each
/// scoped to the one payee, so they compare with the EIP-712 table's pairs from distinct payers.
/// "cold" is a key's first settlement to the payee, "warm" every later one. A scoped key's (key, payee)
/// word, which also holds what the key may still spend, is written at authorization, so an agent pair's
/// first settlement costs a zero-to-non-zero write only for the payee's credit.
contract EscrowAgentGasTest is EscrowFixture {
    address[] internal payers;
    uint256[] internal payerKeys;
    uint64[] internal keyIds;

    function _coolAll() internal {
        vm.cool(address(escrow));
        vm.cool(address(token));
        vm.cool(address(agentVerifier));
    }

    function setUp() public override {
        super.setUp();
        for (uint256 i; i < 8; ++i) {
            (address payer, uint256 key) = makeAddrAndKey(string.concat("agent-gas-payer", vm.toString(i)));
            payers.push(payer);
            payerKeys.push(key);
            _fund(payer, 1_000_000e6);
            keyIds.push(_authorize(key, _grant(payer, KEY_B, payee, 1_000_000e6)));
        }
    }

    function _batch(uint256 pairs, uint64 fromNonce) internal view returns (AgentSettlement memory) {
        AgentPair[] memory ps = new AgentPair[](pairs);
        for (uint256 i; i < pairs; ++i) {
            ps[i] = _agentPair(keyIds[i], payee, fromNonce, fromNonce + 1, 1_000);
        }
        return _agentSettlement(ps);
    }

    function _measure(uint256 pairs, bool warm) internal {
        if (warm) _settleAgent(_batch(pairs, 0));
        AgentSettlement memory s = _batch(pairs, warm ? 1 : 0);
        bytes memory proof = _proveAgent(s);
        _coolAll();
        vm.prank(payee);
        escrow.settleAgent(proof, s);
        string memory shape = string.concat(vm.toString(pairs), pairs == 1 ? " pair" : " pairs");
        vm.snapshotGasLastCall("agent", string.concat("settleAgent ", warm ? "warm, " : "cold, ", shape));
        assertEq(escrow.payeeBalance(payee, address(token)), (warm ? 2 : 1) * pairs * 1_000);
    }

    function test_gas_settleAgent_1PairCold() public {
        _measure(1, false);
    }

    function test_gas_settleAgent_2PairsCold() public {
        _measure(2, false);
    }

    function test_gas_settleAgent_4PairsCold() public {
        _measure(4, false);
    }

    function test_gas_settleAgent_8PairsCold() public {
        _measure(8, false);
    }

    function test_gas_settleAgent_1PairWarm() public {
        _measure(1, true);
    }

    function test_gas_settleAgent_2PairsWarm() public {
        _measure(2, true);
    }

    function test_gas_settleAgent_4PairsWarm() public {
        _measure(4, true);
    }

    function test_gas_settleAgent_8PairsWarm() public {
        _measure(8, true);
    }

    function test_gas_settleAgent_skippedPairWarm() public {
        _settleAgent(_batch(1, 0));
        AgentSettlement memory s = _batch(1, 0); // replay: skipped
        bytes memory proof = _proveAgent(s);
        _coolAll();
        vm.prank(payee);
        escrow.settleAgent(proof, s);
        vm.snapshotGasLastCall("agent", "settleAgent warm, 1 pair skipped (replay)");
    }

    function test_gas_settleAgent_1PairWarmFromReservation() public {
        _reserve(payers[0], payee, 10_000);
        _settleAgent(_batch(1, 0));
        AgentSettlement memory s = _batch(1, 1);
        bytes memory proof = _proveAgent(s);
        _coolAll();
        vm.prank(payee);
        escrow.settleAgent(proof, s);
        vm.snapshotGasLastCall("agent", "settleAgent warm, 1 pair from reservation");
        assertEq(escrow.reservation(payers[0], payee, address(token)), 8_000);
    }

    /// A key for any payee: its (key, payee) word is first written by the first settlement.
    function test_gas_settleAgent_1PairColdAnyPayeeKey() public {
        uint64 keyId = _authorize(payerKeys[0], _grant(payers[0], KEY_2B, address(0), 1_000_000e6));
        AgentSettlement memory s = _agentSettlement(_agentPair(keyId, payee, 0, 1, 1_000));
        bytes memory proof = _proveAgent(s);
        _coolAll();
        vm.prank(payee);
        escrow.settleAgent(proof, s);
        vm.snapshotGasLastCall("agent", "settleAgent cold, 1 pair, key for any payee");
    }

    /// A lowering pending past its effect time: the pair also reads the lowered cap.
    function test_gas_settleAgent_1PairWarmCapLowered() public {
        _settleAgent(_batch(1, 0));
        vm.prank(payers[0]);
        escrow.lowerAgentKeyCap(keyIds[0], 500_000e6);
        skip(REVOKE_DELAY);
        AgentSettlement memory s = _batch(1, 1);
        bytes memory proof = _proveAgent(s);
        _coolAll();
        vm.prank(payee);
        escrow.settleAgent(proof, s);
        vm.snapshotGasLastCall("agent", "settleAgent warm, 1 pair, cap lowering in effect");
    }

    /// One EIP-712 and one agent proof of one pair each, in one `settleMany`.
    function test_gas_settleMany_mixedWarm() public {
        _settleAgent(_batch(1, 0));
        _settle(_settlement(_pair(payers[1], payee, 0, 1, 1_000)));
        AgentSettlement[] memory ags = new AgentSettlement[](1);
        ags[0] = _batch(1, 1);
        bytes[] memory agentProofs = new bytes[](1);
        agentProofs[0] = _proveAgent(ags[0]);
        bytes[] memory proofs = new bytes[](1);
        proofs[0] = _prove(_oneSettlement(payers[1])[0]);
        _coolAll();
        vm.cool(address(verifier));
        vm.prank(payee);
        escrow.settleMany(proofs, _oneSettlement(payers[1]), agentProofs, ags);
        vm.snapshotGasLastCall("agent", "settleMany warm, 1 EIP-712 pair + 1 agent pair");
        assertEq(escrow.payeeBalance(payee, address(token)), 4_000);
    }

    function _oneSettlement(address payer) internal view returns (Settlement[] memory ss) {
        ss = new Settlement[](1);
        ss[0] = _settlement(_pair(payer, payee, 1, 2, 1_000));
    }

    // ------------------------------------------------------------------------------------------
    // the registry
    // ------------------------------------------------------------------------------------------

    function test_gas_authorizeAgentKey_onePayee() public {
        AgentKeyGrant memory g = _grant(alice, KEY_2B, payee, 1_000e6);
        bytes memory signature = _signGrant(aliceKey, g);
        _coolAll();
        escrow.authorizeAgentKey(g, signature);
        vm.snapshotGasLastCall("agent", "authorizeAgentKey, one payee");
    }

    function test_gas_authorizeAgentKey_anyPayee() public {
        AgentKeyGrant memory g = _grant(alice, KEY_2B, address(0), 1_000e6);
        bytes memory signature = _signGrant(aliceKey, g);
        _coolAll();
        escrow.authorizeAgentKey(g, signature);
        vm.snapshotGasLastCall("agent", "authorizeAgentKey, any payee");
    }

    function test_gas_revokeAgentKey() public {
        _coolAll();
        vm.prank(payers[0]);
        escrow.revokeAgentKey(keyIds[0]);
        vm.snapshotGasLastCall("agent", "revokeAgentKey");
    }

    function test_gas_lowerAgentKeyCap() public {
        _coolAll();
        vm.prank(payers[0]);
        escrow.lowerAgentKeyCap(keyIds[0], 1_000e6);
        vm.snapshotGasLastCall("agent", "lowerAgentKeyCap");
    }
}
