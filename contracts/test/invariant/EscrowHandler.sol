// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {Vm} from "forge-std/Vm.sol";

import {Escrow} from "../../src/Escrow.sol";
import {IEscrow} from "../../src/interfaces/IEscrow.sol";
import {TestUSDC} from "../../src/TestUSDC.sol";
import {AttestationVerifier} from "../../src/testing/AttestationVerifier.sol";
import {AgentSettlement} from "../../src/types/AgentSettlement.sol";
import {Pair, Settlement} from "../../src/types/Settlement.sol";

/// @notice Drives the escrow through random deposits, withdrawals, reservations and releases, submitter
/// approvals, settlements (fresh, stale, overdrawn, chunked, replayed; from payees, relayers and payers)
/// and payee withdrawals, keeping ghost state from its own calls and from the escrow's `PairSettled`
/// events, so the invariant test can compare it with the escrow's.
contract EscrowHandler is Test {
    uint32 internal constant VERIFIER_ID = 1;
    uint256 internal immutable attesterKey;

    Escrow public immutable escrow;
    TestUSDC public immutable token;
    AttestationVerifier public immutable verifier;

    address[] public payers;
    uint256[] internal _payerKeys;
    address[] public payees;
    /// A third party that payees may approve to submit for them.
    address public immutable relayer;

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
    /// Set if a pair was paid on a submission by neither its payee nor a submitter the payee approved.
    bool public ghostUnauthorizedSettle;
    /// Set if a pair was skipped as `SubmitterNotApproved` although its payee or an approved submitter sent it.
    bool public ghostWronglyRejected;
    /// Set if the escrow ever moved an amount the handler's model could not (the model would underflow),
    /// or released other than min(requested, reservation).
    bool public ghostModelBroken;
    uint256 public ghostNotApprovedPairs;
    /// Pairs paid at least partly from a reservation (so the reservation invariant is not vacuous).
    uint256 public ghostReservationDebits;

    mapping(address payer => mapping(address payee => uint64)) public ghostLastTo;
    mapping(bytes32 pairStart => bool) internal _paid;
    /// The escrow's state as the handler's own model computes it: free balances, reservations
    /// (debited first, and only by the reservation's payee), and submitter approvals.
    mapping(address payer => uint256) public ghostFree;
    mapping(address payer => mapping(address payee => uint256)) public ghostReserved;
    mapping(address payee => mapping(address submitter => bool)) public ghostApproved;

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
        relayer = makeAddr("relayer");
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
        ghostFree[payer] += amount;
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
        ghostFree[payer] += amount;
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
        ghostFree[payer] = _sub(ghostFree[payer], paid);
    }

    // ------------------------------------------------------------------------------------------
    // reservations and approvals
    // ------------------------------------------------------------------------------------------

    function reserve(uint256 who, uint256 whom, uint256 amount) external {
        address payer = payers[who % payers.length];
        address payee = payees[whom % payees.length];
        uint256 free = escrow.balance(payer, address(token));
        if (free == 0) return;
        amount = bound(amount, 1, free);
        vm.prank(payer);
        escrow.reserve(payee, address(token), amount);
        ghostFree[payer] = _sub(ghostFree[payer], amount);
        ghostReserved[payer][payee] += amount;
    }

    function requestRelease(uint256 who, uint256 whom, uint256 amount) external {
        address payer = payers[who % payers.length];
        address payee = payees[whom % payees.length];
        uint256 held = escrow.reservation(payer, payee, address(token));
        if (held == 0) return;
        vm.prank(payer);
        escrow.requestRelease(payee, address(token), bound(amount, 1, held));
    }

    function cancelRelease(uint256 who, uint256 whom) external {
        address payer = payers[who % payers.length];
        address payee = payees[whom % payees.length];
        (uint256 pending,) = escrow.pendingRelease(payer, payee, address(token));
        if (pending == 0) return;
        vm.prank(payer);
        escrow.cancelRelease(payee, address(token));
    }

    function executeRelease(uint256 who, uint256 whom) external {
        address payer = payers[who % payers.length];
        address payee = payees[whom % payees.length];
        (uint256 pending, uint64 readyAt) = escrow.pendingRelease(payer, payee, address(token));
        if (pending == 0) return;
        if (block.timestamp < readyAt) vm.warp(readyAt);
        vm.prank(payer);
        uint256 released = escrow.executeRelease(payee, address(token));
        uint256 held = ghostReserved[payer][payee];
        if (released != (pending < held ? pending : held)) ghostModelBroken = true;
        ghostReserved[payer][payee] = _sub(held, released);
        ghostFree[payer] += released;
    }

    /// @notice A payee approves or revokes the relayer or a payer as its submitter.
    function approveSubmitter(uint256 whom, uint256 submitter, bool approved) external {
        address payee = payees[whom % payees.length];
        address who = _actor(submitter);
        vm.prank(payee);
        escrow.approveSubmitter(who, approved);
        ghostApproved[payee][who] = approved;
    }

    // ------------------------------------------------------------------------------------------
    // settlement
    // ------------------------------------------------------------------------------------------

    /// @param stale If odd, the pair starts below or above the stored high-water mark.
    /// @param sender Picks the submitter: usually the first pair's payee, else the relayer, a payer or
    /// another payee (see `_sender`).
    function settle(uint256 seed, uint8 count, uint256 stale, uint256 sender) external {
        count = uint8(bound(count, 1, 4));
        Pair[] memory pairs = new Pair[](count);
        for (uint256 i; i < count; ++i) {
            pairs[i] = _randomPair(uint256(keccak256(abi.encode(seed, i))), stale);
        }
        _submit(_settlement(pairs), _sender(sender, pairs[0].payee));
    }

    /// @notice The attack of the security review: a payer proves its own zero-amount mandate with a far
    /// higher nonce and submits it itself, to move the high-water mark past what it owes.
    function payerSelfSettles(uint256 who, uint256 whom, uint64 jump) external {
        address payer = payers[who % payers.length];
        address payee = payees[whom % payees.length];
        uint64 mark = escrow.highWater(payer, payee);
        Pair memory p = Pair(payer, payee, mark, mark + uint64(bound(jump, 1, 1e6)), 0);
        _submit(_settlement(_one(p)), payer);
    }

    /// @notice Two chunks of one pair in one `settleMany`, the second starting where the first ends.
    function settleChunks(uint256 seed, uint64 firstSpan, uint64 secondSpan, uint256 sender) external {
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
        address from = _sender(sender, first.payee);
        vm.recordLogs();
        vm.prank(from);
        escrow.settleMany(proofs, ss, new bytes[](0), new AgentSettlement[](0));
        _account(vm.getRecordedLogs(), from);
    }

    /// @notice Resubmit an earlier settlement with its valid proof, from any sender: it pays only pairs
    /// that an unauthorized sender could not pay the first time, never a range twice.
    function replay(uint256 index, uint256 sender) external {
        if (_submittedProofs.length == 0) return;
        index = index % _submittedProofs.length;
        Settlement memory s = abi.decode(_submittedSettlements[index], (Settlement));
        if (block.timestamp > s.notAfter) return;
        address from = _sender(sender, s.pairs[0].payee);
        vm.recordLogs();
        vm.prank(from);
        escrow.settle(_submittedProofs[index], s);
        _account(vm.getRecordedLogs(), from);
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

    /// @dev Half the time the given payee, else the relayer, a payer or a payee (possibly the same one).
    function _sender(uint256 r, address payee) internal view returns (address) {
        if (r % 2 == 0) return payee;
        return _actor(r >> 1);
    }

    /// @dev The relayer, a payer or a payee.
    function _actor(uint256 r) internal view returns (address) {
        uint256 i = r % (1 + payers.length + payees.length);
        if (i == 0) return relayer;
        if (i <= payers.length) return payers[i - 1];
        return payees[i - 1 - payers.length];
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

    function _submit(Settlement memory s, address sender) internal {
        bytes memory proof = _prove(s);
        vm.recordLogs();
        vm.prank(sender);
        escrow.settle(proof, s);
        _account(vm.getRecordedLogs(), sender);
        _submittedProofs.push(proof);
        _submittedSettlements.push(abi.encode(s));
    }

    /// @dev Checks every `PairSettled` against the ghost chain of its pair and the sender's right to
    /// settle it, debits the ghost reservation of exactly that (payer, payee) first, and counts skips.
    function _account(Vm.Log[] memory logs, address sender) internal {
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(escrow)) continue;
            bytes32 topic = logs[i].topics[0];
            if (topic != PAIR_SKIPPED && topic != PAIR_SETTLED) continue;
            address payer = address(uint160(uint256(logs[i].topics[1])));
            address payee = address(uint160(uint256(logs[i].topics[2])));
            bool authorized = sender == payee || ghostApproved[payee][sender];
            if (topic == PAIR_SKIPPED) {
                ++ghostSkippedPairs;
                (, IEscrow.SkipReason reason) = abi.decode(logs[i].data, (uint64, IEscrow.SkipReason));
                if (reason == IEscrow.SkipReason.SubmitterNotApproved) {
                    ++ghostNotApprovedPairs;
                    if (authorized) ghostWronglyRejected = true;
                }
                continue;
            }
            if (!authorized) ghostUnauthorizedSettle = true;
            (, uint64 fromNonce, uint64 toNonce, uint128 total) =
                abi.decode(logs[i].data, (address, uint64, uint64, uint128));
            bytes32 start = keccak256(abi.encode(payer, payee, fromNonce));
            if (_paid[start]) ghostPaidTwice = true;
            _paid[start] = true;
            if (fromNonce != ghostLastTo[payer][payee] || toNonce <= fromNonce) ghostBrokenChain = true;
            ghostLastTo[payer][payee] = toNonce;
            ghostSettled += total;
            ++ghostSettledPairs;
            _debit(payer, payee, total);
        }
    }

    /// @dev The model of a paid pair's debit: the payer's reservation for this payee first, then the
    /// free balance. The invariant test compares the result with the escrow's state.
    function _debit(address payer, address payee, uint256 total) internal {
        uint256 held = ghostReserved[payer][payee];
        uint256 fromReservation = held < total ? held : total;
        if (fromReservation != 0) ++ghostReservationDebits;
        ghostReserved[payer][payee] = held - fromReservation;
        ghostFree[payer] = _sub(ghostFree[payer], total - fromReservation);
    }

    /// @dev `a - b`, or 0 and a flag where the model cannot follow the escrow (a revert here would be
    /// swallowed by `fail_on_revert = false` and hide the discrepancy).
    function _sub(uint256 a, uint256 b) internal returns (uint256) {
        if (b > a) {
            ghostModelBroken = true;
            return 0;
        }
        return a - b;
    }
}
