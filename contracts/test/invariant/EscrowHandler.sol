// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {Vm} from "forge-std/Vm.sol";

import {Escrow} from "../../src/Escrow.sol";
import {IEscrow} from "../../src/interfaces/IEscrow.sol";
import {TestUSDC} from "../../src/TestUSDC.sol";
import {AttestationVerifier} from "../../src/testing/AttestationVerifier.sol";
import {Pair, Settlement} from "../../src/types/Settlement.sol";

/// @notice Drives the escrow through random deposits, withdrawals, settlements (fresh, stale,
/// overdrawn, chunked, replayed) and payee withdrawals, keeping ghost totals from its own calls and
/// from the escrow's `PairSettled` events, so the invariant test can compare them with the state.
contract EscrowHandler is Test {
    uint32 internal constant VERIFIER_ID = 1;
    uint256 internal immutable attesterKey;

    Escrow public immutable escrow;
    TestUSDC public immutable token;
    AttestationVerifier public immutable verifier;

    address[] public payers;
    uint256[] internal _payerKeys;
    address[] public payees;

    uint256 public ghostDeposited;
    uint256 public ghostPayerWithdrawn;
    uint256 public ghostPayeeWithdrawn;
    uint256 public ghostSettled;
    uint256 public ghostSettledPairs;
    uint256 public ghostSkippedPairs;
    /// Set if a `PairSettled` event ever did not continue its pair's chain of nonces.
    bool public ghostBrokenChain;
    /// Set if a (payer, payee, fromNonce) was ever paid twice.
    bool public ghostPaidTwice;

    mapping(address payer => mapping(address payee => uint64)) public ghostLastTo;
    mapping(bytes32 pairStart => bool) internal _paid;

    bytes[] internal _submittedProofs;
    bytes[] internal _submittedSettlements;

    bytes32 internal constant PAIR_SETTLED = keccak256("PairSettled(address,address,address,uint64,uint64,uint128)");
    bytes32 internal constant PAIR_SKIPPED = keccak256("PairSkipped(address,address,uint64,uint8)");

    constructor(Escrow escrow_, TestUSDC token_, AttestationVerifier verifier_, uint256 attesterKey_) {
        escrow = escrow_;
        token = token_;
        verifier = verifier_;
        attesterKey = attesterKey_;
        for (uint256 i; i < 3; ++i) {
            (address payer, uint256 key) = makeAddrAndKey(string.concat("payer", vm.toString(i)));
            payers.push(payer);
            _payerKeys.push(key);
            payees.push(makeAddr(string.concat("payee", vm.toString(i))));
        }
    }

    function payerCount() external view returns (uint256) {
        return payers.length;
    }

    // ------------------------------------------------------------------------------------------
    // payer actions
    // ------------------------------------------------------------------------------------------

    function deposit(uint256 who, uint256 amount) external {
        address payer = payers[who % payers.length];
        amount = bound(amount, 1, 1e12);
        token.mint(payer, amount);
        vm.startPrank(payer);
        token.approve(address(escrow), amount);
        escrow.deposit(address(token), amount);
        vm.stopPrank();
        ghostDeposited += amount;
    }

    /// @notice A relayed EIP-3009 deposit (the relayer is this handler, never credited).
    function depositWithAuthorization(uint256 who, uint256 amount, bytes32 nonce) external {
        uint256 index = who % payers.length;
        address payer = payers[index];
        amount = bound(amount, 1, 1e12);
        if (token.authorizationState(payer, nonce)) return;
        token.mint(payer, amount);
        uint256 validBefore = block.timestamp + 1 hours;
        bytes32 structHash = keccak256(
            abi.encode(
                token.RECEIVE_WITH_AUTHORIZATION_TYPEHASH(), payer, address(escrow), amount, 0, validBefore, nonce
            )
        );
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(_payerKeys[index], keccak256(abi.encodePacked(hex"1901", token.DOMAIN_SEPARATOR(), structHash)));
        escrow.depositWithAuthorization(address(token), payer, amount, 0, validBefore, nonce, v, r, s);
        ghostDeposited += amount;
    }

    function requestWithdraw(uint256 who, uint256 amount) external {
        address payer = payers[who % payers.length];
        uint256 available = escrow.balance(payer, address(token));
        if (available == 0) return;
        vm.prank(payer);
        escrow.requestWithdraw(address(token), bound(amount, 1, available));
    }

    function cancelWithdraw(uint256 who) external {
        address payer = payers[who % payers.length];
        (uint256 pending,) = escrow.pendingWithdrawal(payer, address(token));
        if (pending == 0) return;
        vm.prank(payer);
        escrow.cancelWithdraw(address(token));
    }

    function executeWithdraw(uint256 who) external {
        address payer = payers[who % payers.length];
        (uint256 pending, uint64 readyAt) = escrow.pendingWithdrawal(payer, address(token));
        if (pending == 0) return;
        if (block.timestamp < readyAt) vm.warp(readyAt);
        uint256 before = token.balanceOf(payer);
        vm.prank(payer);
        uint256 paid = escrow.executeWithdraw(address(token));
        assertEq(token.balanceOf(payer) - before, paid);
        ghostPayerWithdrawn += paid;
    }

    // ------------------------------------------------------------------------------------------
    // settlement
    // ------------------------------------------------------------------------------------------

    /// @param stale If odd, the pair starts below or above the stored high-water mark.
    function settle(uint256 seed, uint8 count, uint256 stale) external {
        count = uint8(bound(count, 1, 4));
        Pair[] memory pairs = new Pair[](count);
        for (uint256 i; i < count; ++i) {
            pairs[i] = _randomPair(uint256(keccak256(abi.encode(seed, i))), stale);
        }
        _submit(_settlement(pairs));
    }

    /// @notice Two chunks of one pair in one `settleMany`, the second starting where the first ends.
    function settleChunks(uint256 seed, uint64 firstSpan, uint64 secondSpan) external {
        Pair memory first = _randomPair(seed, 0);
        first.toNonce = first.fromNonce + uint64(bound(firstSpan, 1, 1000));
        Pair memory second = Pair(first.payer, first.payee, first.toNonce, 0, first.total / 2);
        second.toNonce = second.fromNonce + uint64(bound(secondSpan, 1, 1000));
        Settlement[] memory ss = new Settlement[](2);
        ss[0] = _settlement(_one(first));
        ss[1] = _settlement(_one(second));
        bytes[] memory proofs = new bytes[](2);
        proofs[0] = _prove(ss[0]);
        proofs[1] = _prove(ss[1]);
        vm.recordLogs();
        escrow.settleMany(proofs, ss);
        _account(vm.getRecordedLogs());
    }

    /// @notice Resubmit an earlier settlement with its valid proof: it must pay nothing new.
    function replay(uint256 index) external {
        if (_submittedProofs.length == 0) return;
        index = index % _submittedProofs.length;
        Settlement memory s = abi.decode(_submittedSettlements[index], (Settlement));
        if (block.timestamp > s.notAfter) return;
        vm.recordLogs();
        escrow.settle(_submittedProofs[index], s);
        _account(vm.getRecordedLogs());
    }

    function withdrawPayee(uint256 who, uint256 amount) external {
        address payee = payees[who % payees.length];
        uint256 credit = escrow.payeeBalance(payee, address(token));
        if (credit == 0) return;
        amount = bound(amount, 1, credit);
        vm.prank(payee);
        escrow.withdrawPayee(address(token), amount, payee);
        ghostPayeeWithdrawn += amount;
    }

    function warp(uint256 seconds_) external {
        skip(bound(seconds_, 1, 2 days));
    }

    // ------------------------------------------------------------------------------------------
    // helpers
    // ------------------------------------------------------------------------------------------

    function _randomPair(uint256 r, uint256 stale) internal view returns (Pair memory p) {
        p.payer = payers[r % payers.length];
        p.payee = payees[(r >> 8) % payees.length];
        uint64 mark = escrow.highWater(p.payer, p.payee);
        p.fromNonce = mark;
        if (stale % 2 == 1) p.fromNonce = (r >> 16) % 2 == 0 && mark > 0 ? mark - 1 : mark + 1;
        p.toNonce = p.fromNonce + uint64(bound(r >> 24, 1, 1000));
        p.total = uint128(bound(r >> 64, 0, 2e12));
    }

    function _one(Pair memory p) internal pure returns (Pair[] memory pairs) {
        pairs = new Pair[](1);
        pairs[0] = p;
    }

    function _settlement(Pair[] memory pairs) internal view returns (Settlement memory s) {
        s = Settlement({
            verifierId: VERIFIER_ID, token: address(token), notAfter: uint64(block.timestamp + 30 days), pairs: pairs
        });
    }

    function _prove(Settlement memory s) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 sig) = vm.sign(attesterKey, verifier.attestationDigest(escrow.publicInputOf(s)));
        return abi.encodePacked(r, sig, v);
    }

    function _submit(Settlement memory s) internal {
        bytes memory proof = _prove(s);
        vm.recordLogs();
        escrow.settle(proof, s);
        _account(vm.getRecordedLogs());
        _submittedProofs.push(proof);
        _submittedSettlements.push(abi.encode(s));
    }

    /// @dev Checks every `PairSettled` against the ghost chain of its pair and counts skips.
    function _account(Vm.Log[] memory logs) internal {
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(escrow)) continue;
            bytes32 topic = logs[i].topics[0];
            if (topic == PAIR_SKIPPED) {
                ++ghostSkippedPairs;
                continue;
            }
            if (topic != PAIR_SETTLED) continue;
            address payer = address(uint160(uint256(logs[i].topics[1])));
            address payee = address(uint160(uint256(logs[i].topics[2])));
            (, uint64 fromNonce, uint64 toNonce, uint128 total) =
                abi.decode(logs[i].data, (address, uint64, uint64, uint128));
            bytes32 start = keccak256(abi.encode(payer, payee, fromNonce));
            if (_paid[start]) ghostPaidTwice = true;
            _paid[start] = true;
            if (fromNonce != ghostLastTo[payer][payee] || toNonce <= fromNonce) ghostBrokenChain = true;
            ghostLastTo[payer][payee] = toNonce;
            ghostSettled += total;
            ++ghostSettledPairs;
        }
    }
}
