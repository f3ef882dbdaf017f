// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IBatchVerifier} from "./interfaces/IBatchVerifier.sol";
import {IERC3009} from "./interfaces/IERC3009.sol";
import {IEscrow} from "./interfaces/IEscrow.sol";
import {MandateHashing} from "./MandateHashing.sol";
import {Pair, Settlement, SettlementHashing} from "./types/Settlement.sol";

/// @title Escrow
/// @notice Holds payers' deposits and pays payees from them, one Groth16 proof per batch of mandates.
contract Escrow is IEscrow, Ownable2Step, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    struct Withdrawal {
        uint192 amount;
        uint64 readyAt;
    }

    /// @notice Bounds on `withdrawDelay`: it must outlast every payee's settlement horizon, yet let
    /// payers leave within a month.
    uint64 public constant MIN_WITHDRAW_DELAY = 1 hours;
    uint64 public constant MAX_WITHDRAW_DELAY = 30 days;

    /// @inheritdoc IEscrow
    uint64 public immutable override withdrawDelay;

    uint256 private immutable INITIAL_CHAIN_ID;
    bytes32 private immutable INITIAL_DOMAIN_SEPARATOR;

    /// @inheritdoc IEscrow
    mapping(address payer => mapping(address token => uint256)) public override balance;
    /// @inheritdoc IEscrow
    mapping(address payee => mapping(address token => uint256)) public override payeeBalance;
    /// @inheritdoc IEscrow
    mapping(address payer => mapping(address payee => uint64)) public override highWater;

    mapping(address payer => mapping(address token => Withdrawal)) private _withdrawals;
    mapping(uint32 verifierId => VerifierInfo) private _verifiers;

    constructor(address initialOwner, uint64 withdrawDelay_) Ownable(initialOwner) {
        if (withdrawDelay_ < MIN_WITHDRAW_DELAY || withdrawDelay_ > MAX_WITHDRAW_DELAY) {
            revert WithdrawDelayOutOfBounds(withdrawDelay_, MIN_WITHDRAW_DELAY, MAX_WITHDRAW_DELAY);
        }
        withdrawDelay = withdrawDelay_;
        INITIAL_CHAIN_ID = block.chainid;
        INITIAL_DOMAIN_SEPARATOR = MandateHashing.domainSeparator(block.chainid, address(this));
    }

    // ------------------------------------------------------------------------------------------
    // Payers
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IEscrow
    function deposit(address token, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
        balance[msg.sender][token] += amount;
        emit Deposited(msg.sender, token, amount);
    }

    /// @inheritdoc IEscrow
    function depositWithAuthorization(
        address token,
        address from,
        uint256 amount,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        // The token checks `from`'s signature over (from, to = this, amount, ...) and moves the funds;
        // crediting `from` (never msg.sender) is what makes a relayed deposit safe.
        IERC3009(token).receiveWithAuthorization(from, address(this), amount, validAfter, validBefore, nonce, v, r, s);
        balance[from][token] += amount;
        emit Deposited(from, token, amount);
    }

    /// @inheritdoc IEscrow
    function requestWithdraw(address token, uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        uint256 available = balance[msg.sender][token];
        if (amount > available) revert InsufficientBalance(msg.sender, token, available, amount);
        uint64 readyAt = uint64(block.timestamp) + withdrawDelay;
        _withdrawals[msg.sender][token] = Withdrawal(SafeCast.toUint192(amount), readyAt);
        emit WithdrawalRequested(msg.sender, token, amount, readyAt);
    }

    /// @inheritdoc IEscrow
    function cancelWithdraw(address token) external {
        if (_withdrawals[msg.sender][token].amount == 0) revert NoPendingWithdrawal(msg.sender, token);
        delete _withdrawals[msg.sender][token];
        emit WithdrawalCancelled(msg.sender, token);
    }

    /// @inheritdoc IEscrow
    function executeWithdraw(address token) external nonReentrant returns (uint256 paid) {
        Withdrawal memory request = _withdrawals[msg.sender][token];
        if (request.amount == 0) revert NoPendingWithdrawal(msg.sender, token);
        if (block.timestamp < request.readyAt) revert WithdrawalNotReady(request.readyAt, block.timestamp);
        uint256 available = balance[msg.sender][token];
        // Settlements may have debited the requested funds meanwhile; pay what is left of them.
        paid = request.amount < available ? request.amount : available;
        delete _withdrawals[msg.sender][token];
        unchecked {
            balance[msg.sender][token] = available - paid;
        }
        emit WithdrawalExecuted(msg.sender, token, request.amount, paid);
        if (paid != 0) IERC20(token).safeTransfer(msg.sender, paid);
    }

    // ------------------------------------------------------------------------------------------
    // Payees and settlement
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IEscrow
    function settle(bytes calldata proof, Settlement calldata settlement) external {
        _settle(proof, settlement, DOMAIN_SEPARATOR());
    }

    /// @inheritdoc IEscrow
    function settleMany(bytes[] calldata proofs, Settlement[] calldata settlements) external {
        if (proofs.length != settlements.length) revert LengthMismatch(proofs.length, settlements.length);
        bytes32 separator = DOMAIN_SEPARATOR();
        for (uint256 i; i < proofs.length; ++i) {
            _settle(proofs[i], settlements[i], separator);
        }
    }

    /// @inheritdoc IEscrow
    function withdrawPayee(address token, uint256 amount, address to) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        if (to == address(0)) revert ZeroAddress();
        uint256 available = payeeBalance[msg.sender][token];
        if (amount > available) revert InsufficientPayeeBalance(msg.sender, token, available, amount);
        unchecked {
            payeeBalance[msg.sender][token] = available - amount;
        }
        emit PayeeWithdrawal(msg.sender, token, to, amount);
        IERC20(token).safeTransfer(to, amount);
    }

    /// @dev Checks that revert the whole batch come first, then the proof, then per-pair effects.
    function _settle(bytes calldata proof, Settlement calldata s, bytes32 separator) private {
        uint32 id = s.verifierId;
        VerifierInfo memory info = _verifiers[id];
        if (info.verifier == address(0)) revert UnknownVerifier(id);
        if (info.retired) revert VerifierIsRetired(id);
        uint256 n = s.pairs.length;
        if (n == 0) revert EmptySettlement();
        if (n > info.pairSlots) revert TooManyPairs(id, n, info.pairSlots);
        if (block.timestamp > s.notAfter) revert SettlementExpired(s.notAfter, block.timestamp);

        uint256 input = SettlementHashing.publicInput(separator, s);
        // A verifier view call cannot change state; any revert (bad proof, wrong length) is a bad proof.
        try IBatchVerifier(info.verifier).verifyProof(proof, [input]) {}
        catch {
            revert InvalidProof(id);
        }

        address token = s.token;
        uint256 settled;
        uint256 amount;
        for (uint256 i; i < n; ++i) {
            (bool paid, uint256 total) = _settlePair(s.pairs[i], token);
            if (paid) {
                ++settled;
                amount += total;
            }
        }
        emit SettlementProcessed(id, input, settled, n - settled, amount);
    }

    /// @dev Pays one pair and returns (true, total), or skips it with an event and returns (false, 0).
    function _settlePair(Pair calldata p, address token) private returns (bool, uint256) {
        (address payer, address payee, uint64 fromNonce, uint64 toNonce, uint128 total) =
            (p.payer, p.payee, p.fromNonce, p.toNonce, p.total);
        if (highWater[payer][payee] != fromNonce) return _skip(payer, payee, fromNonce, SkipReason.NonceMismatch);
        if (toNonce <= fromNonce) return _skip(payer, payee, fromNonce, SkipReason.NonceNotIncreasing);
        uint256 available = balance[payer][token];
        if (available < total) return _skip(payer, payee, fromNonce, SkipReason.InsufficientBalance);
        unchecked {
            balance[payer][token] = available - total;
        }
        highWater[payer][payee] = toNonce;
        payeeBalance[payee][token] += total;
        emit PairSettled(payer, payee, token, fromNonce, toNonce, total);
        return (true, total);
    }

    function _skip(address payer, address payee, uint64 fromNonce, SkipReason reason) private returns (bool, uint256) {
        emit PairSkipped(payer, payee, fromNonce, reason);
        return (false, 0);
    }

    // ------------------------------------------------------------------------------------------
    // Owner
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IEscrow
    function registerVerifier(uint32 verifierId, address verifier, uint16 mandateSlots, uint16 pairSlots)
        external
        onlyOwner
    {
        if (verifier == address(0)) revert ZeroAddress();
        if (verifier.code.length == 0) revert VerifierHasNoCode(verifier);
        if (pairSlots == 0 || mandateSlots < pairSlots) revert InvalidVerifierSlots(mandateSlots, pairSlots);
        if (_verifiers[verifierId].verifier != address(0)) revert VerifierAlreadyRegistered(verifierId);
        _verifiers[verifierId] = VerifierInfo(verifier, mandateSlots, pairSlots, false);
        emit VerifierRegistered(verifierId, verifier, mandateSlots, pairSlots);
    }

    /// @inheritdoc IEscrow
    function retireVerifier(uint32 verifierId) external onlyOwner {
        VerifierInfo storage info = _verifiers[verifierId];
        if (info.verifier == address(0)) revert UnknownVerifier(verifierId);
        if (info.retired) revert VerifierIsRetired(verifierId);
        info.retired = true;
        emit VerifierRetired(verifierId);
    }

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IEscrow
    /// @dev Cached for the deployment chain and recomputed after a fork changes the chain id.
    function DOMAIN_SEPARATOR() public view returns (bytes32) {
        return block.chainid == INITIAL_CHAIN_ID
            ? INITIAL_DOMAIN_SEPARATOR
            : MandateHashing.domainSeparator(block.chainid, address(this));
    }

    /// @inheritdoc IEscrow
    function pendingWithdrawal(address payer, address token) external view returns (uint256 amount, uint64 readyAt) {
        Withdrawal memory request = _withdrawals[payer][token];
        return (request.amount, request.readyAt);
    }

    /// @inheritdoc IEscrow
    function verifierInfo(uint32 verifierId) external view returns (VerifierInfo memory) {
        return _verifiers[verifierId];
    }

    /// @inheritdoc IEscrow
    function publicInputOf(Settlement calldata settlement) external view returns (uint256) {
        return SettlementHashing.publicInput(DOMAIN_SEPARATOR(), settlement);
    }
}
