// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {AgentKeys} from "./AgentKeys.sol";
import {IBatchVerifier} from "./interfaces/IBatchVerifier.sol";
import {IERC3009} from "./interfaces/IERC3009.sol";
import {IEscrow} from "./interfaces/IEscrow.sol";
import {MandateHashing} from "./MandateHashing.sol";
import {AgentPair, AgentSettlement, AgentSettlementHashing} from "./types/AgentSettlement.sol";
import {Pair, Settlement, SettlementHashing} from "./types/Settlement.sol";

/// @title Escrow
/// @notice Holds payers' deposits and pays payees from them, one Groth16 proof per batch of mandates,
/// EIP-712 ones or agent ones (the agent-key registry and agent pairs' rules are in `AgentKeys`).
contract Escrow is AgentKeys, Ownable2Step, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @dev A pending withdrawal or release request.
    struct Request {
        uint192 amount;
        uint64 readyAt;
    }

    /// @dev Low 64 bits of a pair's state word: its high-water mark.
    uint256 private constant HIGH_WATER_MASK = type(uint64).max;
    /// @dev The state word's bits above the mark count reserved tokens: one unit is `1 << 64`.
    uint256 private constant ONE_RESERVED_TOKEN = 1 << 64;
    /// @dev A balance word holds the free balance in its low 192 bits and, above them, for how many
    /// payees the payer holds a non-zero reservation in the token: one unit is `1 << 192`. An agent pair
    /// thus reads a reservation only where one may exist (its (key, payee) word cannot count them).
    uint256 private constant ONE_RESERVATION = 1 << 192;

    /// @notice Bounds on `withdrawDelay`: it must outlast every payee's settlement horizon, yet let
    /// payers leave within a month.
    uint64 public constant MIN_WITHDRAW_DELAY = 1 hours;
    uint64 public constant MAX_WITHDRAW_DELAY = 30 days;

    /// @inheritdoc IEscrow
    uint64 public immutable override withdrawDelay;

    uint256 private immutable INITIAL_CHAIN_ID;
    bytes32 private immutable INITIAL_DOMAIN_SEPARATOR;

    /// @dev A payer's balance word in one token (`ONE_RESERVATION`), in a struct so that a settlement
    /// computes its slot once for the read and the write.
    struct Balance {
        uint256 word;
    }

    mapping(address payer => mapping(address token => Balance)) private _balances;
    /// @inheritdoc IEscrow
    mapping(address payee => mapping(address token => uint256)) public override payeeBalance;

    /// @dev Per (payer, payee), one word: the high-water mark (low 64 bits) and, above it, in how many
    /// tokens the payer holds a non-zero reservation for the payee. A settlement thus reads a
    /// reservation only where one may exist, and an unreserved pair costs no extra cold read; one
    /// SLOAD and one SSTORE serve both.
    mapping(address payer => mapping(address payee => uint256)) private _pairs;
    mapping(address payer => mapping(address payee => mapping(address token => uint256))) private _reserved;
    mapping(address payer => mapping(address token => Request)) private _withdrawals;
    mapping(address payer => mapping(address payee => mapping(address token => Request))) private _releases;
    mapping(address payee => mapping(address submitter => bool)) private _approvedSubmitters;
    mapping(uint32 verifierId => VerifierInfo) private _verifiers;
    /// @dev Every registered id, for `retireVerifier`'s check that another verifier remains usable.
    uint32[] private _verifierIds;

    /// @param revokeDelay_ Seconds before an agent key's revocation or cap lowering takes effect.
    /// @param initialVerifiers Registered as by `registerVerifier` but active at once: no payer can have
    /// deposited before them.
    constructor(
        address initialOwner,
        uint64 withdrawDelay_,
        uint64 revokeDelay_,
        InitialVerifier[] memory initialVerifiers
    ) Ownable(initialOwner) AgentKeys(revokeDelay_) {
        if (withdrawDelay_ < MIN_WITHDRAW_DELAY || withdrawDelay_ > MAX_WITHDRAW_DELAY) {
            revert WithdrawDelayOutOfBounds(withdrawDelay_, MIN_WITHDRAW_DELAY, MAX_WITHDRAW_DELAY);
        }
        withdrawDelay = withdrawDelay_;
        INITIAL_CHAIN_ID = block.chainid;
        INITIAL_DOMAIN_SEPARATOR = MandateHashing.domainSeparator(block.chainid, address(this));
        for (uint256 i; i < initialVerifiers.length; ++i) {
            InitialVerifier memory v = initialVerifiers[i];
            _registerVerifier(v.verifierId, v.family, v.verifier, v.mandateSlots, v.pairSlots, block.timestamp);
        }
    }

    // ------------------------------------------------------------------------------------------
    // Payers
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IEscrow
    function deposit(address token, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        uint256 held = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
        _credit(msg.sender, token, held);
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
        uint256 held = IERC20(token).balanceOf(address(this));
        IERC3009(token).receiveWithAuthorization(from, address(this), amount, validAfter, validBefore, nonce, v, r, s);
        _credit(from, token, held);
    }

    /// @dev Credits `payer` with the growth of the escrow's `token` balance since it was `held`: what
    /// arrived, never what a call claimed (a permissive fallback moves nothing; a fee-on-transfer token
    /// moves less). Deposits are `nonReentrant` and settlement moves no tokens, so nothing else can
    /// change the balance in between.
    function _credit(address payer, address token, uint256 held) private {
        uint256 nowHeld = IERC20(token).balanceOf(address(this));
        if (nowHeld <= held) revert NothingReceived(token);
        uint256 received;
        unchecked {
            received = nowHeld - held;
        }
        Balance storage b = _balances[payer][token];
        b.word = _addFree(b.word, received);
        emit Deposited(payer, token, received);
    }

    /// @dev `word` with `amount` more free balance; a free balance is below 2^192 (reverts above).
    function _addFree(uint256 word, uint256 amount) private pure returns (uint256) {
        SafeCast.toUint192(uint192(word) + amount);
        unchecked {
            return word + amount;
        }
    }

    /// @inheritdoc IEscrow
    function requestWithdraw(address token, uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        uint256 available = uint192(_balances[msg.sender][token].word);
        if (amount > available) revert InsufficientBalance(msg.sender, token, available, amount);
        uint64 readyAt = uint64(block.timestamp) + withdrawDelay;
        _withdrawals[msg.sender][token] = Request(SafeCast.toUint192(amount), readyAt);
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
        Request memory request = _withdrawals[msg.sender][token];
        if (request.amount == 0) revert NoPendingWithdrawal(msg.sender, token);
        if (block.timestamp < request.readyAt) revert WithdrawalNotReady(request.readyAt, block.timestamp);
        Balance storage b = _balances[msg.sender][token];
        uint256 word = b.word;
        uint256 available = uint192(word);
        // Settlements may have debited the requested funds meanwhile; pay what is left of them.
        paid = request.amount < available ? request.amount : available;
        delete _withdrawals[msg.sender][token];
        unchecked {
            b.word = word - paid;
        }
        emit WithdrawalExecuted(msg.sender, token, request.amount, paid);
        if (paid != 0) IERC20(token).safeTransfer(msg.sender, paid);
    }

    // ------------------------------------------------------------------------------------------
    // Reservations
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IEscrow
    function reserve(address payee, address token, uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        if (payee == address(0)) revert ZeroAddress();
        Balance storage b = _balances[msg.sender][token];
        uint256 word = b.word;
        uint256 free = uint192(word);
        if (amount > free) revert InsufficientBalance(msg.sender, token, free, amount);
        uint256 held = _reserved[msg.sender][payee][token];
        if (held == 0) {
            _pairs[msg.sender][payee] += ONE_RESERVED_TOKEN;
            word += ONE_RESERVATION;
        }
        unchecked {
            b.word = word - amount;
        }
        _reserved[msg.sender][payee][token] = held + amount;
        emit Reserved(msg.sender, payee, token, amount);
    }

    /// @inheritdoc IEscrow
    function requestRelease(address payee, address token, uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        uint256 held = _reserved[msg.sender][payee][token];
        if (amount > held) revert InsufficientReservation(msg.sender, payee, token, held, amount);
        uint64 readyAt = uint64(block.timestamp) + withdrawDelay;
        _releases[msg.sender][payee][token] = Request(SafeCast.toUint192(amount), readyAt);
        emit ReleaseRequested(msg.sender, payee, token, amount, readyAt);
    }

    /// @inheritdoc IEscrow
    function cancelRelease(address payee, address token) external {
        if (_releases[msg.sender][payee][token].amount == 0) revert NoPendingRelease(msg.sender, payee, token);
        delete _releases[msg.sender][payee][token];
        emit ReleaseCancelled(msg.sender, payee, token);
    }

    /// @inheritdoc IEscrow
    function executeRelease(address payee, address token) external returns (uint256 released) {
        Request memory request = _releases[msg.sender][payee][token];
        if (request.amount == 0) revert NoPendingRelease(msg.sender, payee, token);
        if (block.timestamp < request.readyAt) revert ReleaseNotReady(request.readyAt, block.timestamp);
        uint256 held = _reserved[msg.sender][payee][token];
        // The payee's settlements may have debited the reservation meanwhile; release what is left.
        released = request.amount < held ? request.amount : held;
        delete _releases[msg.sender][payee][token];
        if (released != 0) {
            unchecked {
                _reserved[msg.sender][payee][token] = held - released;
            }
            Balance storage b = _balances[msg.sender][token];
            uint256 word = _addFree(b.word, released);
            if (released == held) {
                _pairs[msg.sender][payee] -= ONE_RESERVED_TOKEN;
                word -= ONE_RESERVATION;
            }
            b.word = word;
        }
        emit ReleaseExecuted(msg.sender, payee, token, request.amount, released);
    }

    // ------------------------------------------------------------------------------------------
    // Payees and settlement
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IEscrow
    function settle(bytes calldata proof, Settlement calldata settlement) external {
        _settle(proof, settlement, DOMAIN_SEPARATOR());
    }

    /// @inheritdoc IEscrow
    function settleAgent(bytes calldata proof, AgentSettlement calldata settlement) external {
        _settleAgent(proof, settlement, DOMAIN_SEPARATOR());
    }

    /// @inheritdoc IEscrow
    function settleMany(
        bytes[] calldata proofs,
        Settlement[] calldata settlements,
        bytes[] calldata agentProofs,
        AgentSettlement[] calldata agentSettlements
    ) external {
        if (proofs.length != settlements.length) {
            revert LengthMismatch(proofs.length, settlements.length);
        }
        if (agentProofs.length != agentSettlements.length) {
            revert LengthMismatch(agentProofs.length, agentSettlements.length);
        }
        bytes32 separator = DOMAIN_SEPARATOR();
        for (uint256 i; i < proofs.length; ++i) {
            _settle(proofs[i], settlements[i], separator);
        }
        for (uint256 i; i < agentProofs.length; ++i) {
            _settleAgent(agentProofs[i], agentSettlements[i], separator);
        }
    }

    /// @inheritdoc IEscrow
    function approveSubmitter(address submitter, bool approved) external {
        if (submitter == address(0)) revert ZeroAddress();
        _approvedSubmitters[msg.sender][submitter] = approved;
        emit SubmitterApproval(msg.sender, submitter, approved);
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
        uint256 n = s.pairs.length;
        address verifier = _usableVerifier(id, VerifierFamily.Batch, n, s.notAfter);
        uint256 input = SettlementHashing.publicInput(separator, s);
        _verify(verifier, id, proof, input);

        (uint256 settled, uint256 amount) = _settlePairs(s.pairs, s.token);
        emit SettlementProcessed(id, input, settled, n - settled, amount);
    }

    /// @dev Settles or skips each pair in order (`_settlePair` after the sender check) and returns how
    /// many it paid and their sum. Within one call nothing can change an approval or read a payee's
    /// credit, so the sender is checked once per run of pairs of one payee (the first pair of every run
    /// that is not the sender's own), and each run's credit is added once.
    function _settlePairs(Pair[] calldata pairs, address token) private returns (uint256 settled, uint256 amount) {
        // A payee whose pairs this sender may settle: never the zero address, whose pairs it may not.
        address allowed = msg.sender;
        address creditee;
        uint256 credit;
        for (uint256 i; i < pairs.length; ++i) {
            Pair memory p = pairs[i];
            if (p.payee != allowed) {
                if (p.payee != msg.sender && !_approvedSubmitters[p.payee][msg.sender]) {
                    _skip(p, SkipReason.SubmitterNotApproved);
                    continue;
                }
                allowed = p.payee;
            }
            if (!_settlePair(p, token)) continue;
            if (p.payee != creditee) {
                _creditPayee(creditee, token, credit);
                (creditee, credit) = (p.payee, 0);
            }
            // At most 2^16 pairs of uint128 totals: no sum can overflow.
            unchecked {
                ++settled;
                amount += p.total;
                credit += p.total;
            }
        }
        _creditPayee(creditee, token, credit);
    }

    /// @dev `_settle` for agent settlements: the public input packs each pair's stored key.
    function _settleAgent(bytes calldata proof, AgentSettlement calldata s, bytes32 separator) private {
        uint32 id = s.verifierId;
        uint256 n = s.pairs.length;
        address verifier = _usableVerifier(id, VerifierFamily.Agent, n, s.notAfter);
        uint256 input = AgentSettlementHashing.publicInput(separator, s, _agentKeyOf);
        _verify(verifier, id, proof, input);
        (uint256 settled, uint256 amount) = _settleAgentPairs(s.pairs, s.token);
        emit SettlementProcessed(id, input, settled, n - settled, amount);
    }

    /// @dev `_settlePairs` for agent pairs (`AgentKeys._settleAgentPair` after the sender check), with
    /// the settlement token's id looked up once.
    function _settleAgentPairs(AgentPair[] calldata pairs, address token)
        private
        returns (uint256 settled, uint256 amount)
    {
        uint256 tokenId = _agentTokenId(token);
        address allowed = msg.sender;
        address creditee;
        uint256 credit;
        for (uint256 i; i < pairs.length; ++i) {
            AgentPair memory p = pairs[i];
            if (p.payee != allowed) {
                if (p.payee != msg.sender && !_approvedSubmitters[p.payee][msg.sender]) {
                    _skipAgent(p, SkipReason.SubmitterNotApproved);
                    continue;
                }
                allowed = p.payee;
            }
            if (!_settleAgentPair(p, token, tokenId)) continue;
            if (p.payee != creditee) {
                _creditPayee(creditee, token, credit);
                (creditee, credit) = (p.payee, 0);
            }
            // At most 2^16 pairs of uint128 totals: no sum can overflow.
            unchecked {
                ++settled;
                amount += p.total;
                credit += p.total;
            }
        }
        _creditPayee(creditee, token, credit);
    }

    function _creditPayee(address payee, address token, uint256 credit) private {
        if (credit != 0) payeeBalance[payee][token] += credit;
    }

    /// @dev The verifier a settlement of `family` with `n` pairs may use, or the whole call's revert.
    function _usableVerifier(uint32 id, VerifierFamily family, uint256 n, uint64 notAfter)
        private
        view
        returns (address)
    {
        VerifierInfo memory info = _verifiers[id];
        if (info.verifier == address(0)) revert UnknownVerifier(id);
        if (info.family != family) revert VerifierFamilyMismatch(id, family, info.family);
        if (info.retired) revert VerifierIsRetired(id);
        if (block.timestamp < info.activeAt) revert VerifierNotActive(id, info.activeAt);
        if (n == 0) revert EmptySettlement();
        if (n > info.pairSlots) revert TooManyPairs(id, n, info.pairSlots);
        if (block.timestamp > notAfter) revert SettlementExpired(notAfter, block.timestamp);
        return info.verifier;
    }

    /// @dev A verifier view call cannot change state; any revert (bad proof, wrong length) is a bad proof.
    function _verify(address verifier, uint32 id, bytes calldata proof, uint256 input) private view {
        try IBatchVerifier(verifier).verifyProof(proof, [input]) {}
        catch {
            revert InvalidProof(id);
        }
    }

    /// @dev Pays one pair (returns true) or skips it with an event (returns false), after the caller's
    /// sender check: a pair its payee did not submit changes nothing, whatever it says. The caller
    /// credits the payee with `p.total` if paid.
    function _settlePair(Pair memory p, address token) private returns (bool) {
        uint256 state = _pairs[p.payer][p.payee];
        if (state & HIGH_WATER_MASK != p.fromNonce) return _skip(p, SkipReason.NonceMismatch);
        if (p.toNonce <= p.fromNonce) return _skip(p, SkipReason.NonceNotIncreasing);
        uint256 held = state < ONE_RESERVED_TOKEN ? 0 : _reserved[p.payer][p.payee][token];
        (bool covered, bool usedUp) =
            _debit(p.payer, p.payee, token, p.total, held, _balances[p.payer][token], 0, false);
        if (!covered) return _skip(p, SkipReason.InsufficientBalance);
        if (usedUp) state -= ONE_RESERVED_TOKEN;
        _pairs[p.payer][p.payee] = (state & ~HIGH_WATER_MASK) | p.toNonce;
        emit PairSettled(p.payer, p.payee, token, p.fromNonce, p.toNonce, p.total);
        return true;
    }

    /// @dev Debits `total` from `payer`'s reservation for `payee` first and its free balance for the
    /// rest, for a pair of either family. `held` is that reservation, read by the caller only where the
    /// payer may hold one (zero otherwise); `word` is the payer's balance word if `wordRead`, else it is
    /// read here when needed. Returns whether reservation and free balance covered `total` (if not,
    /// nothing changed) and whether the reservation went to zero (its count in the balance word is
    /// then one lower; the caller lowers the (payer, payee) count).
    function _debit(
        address payer,
        address payee,
        address token,
        uint256 total,
        uint256 held,
        Balance storage b,
        uint256 word,
        bool wordRead
    ) private returns (bool covered, bool usedUp) {
        if (held >= total) {
            // The reservation covers it all (held = total = 0 moves nothing).
            if (held == 0) return (true, false);
            unchecked {
                _reserved[payer][payee][token] = held - total;
            }
            if (held != total) return (true, false);
            if (!wordRead) word = b.word;
            b.word = word - ONE_RESERVATION;
            return (true, true);
        }
        if (!wordRead) word = b.word;
        uint256 short;
        unchecked {
            short = total - held;
        }
        // Written so that held + free cannot overflow: covered iff held + free >= total.
        if (uint192(word) < short) return (false, false);
        unchecked {
            word -= short; // from the free balance's bits only
        }
        if (held != 0) {
            // The reservation is used up; the free balance pays the rest.
            _reserved[payer][payee][token] = 0;
            word -= ONE_RESERVATION;
            usedUp = true;
        }
        b.word = word;
        return (true, usedUp);
    }

    /// @inheritdoc AgentKeys
    function _debitPayer(address payer, address payee, address token, uint256 total) internal override returns (bool) {
        // The balance word counts the payer's reservations in the token, so a payer without any (the
        // common case) costs no read of a reservation.
        Balance storage b = _balances[payer][token];
        uint256 word = b.word;
        uint256 held = word < ONE_RESERVATION ? 0 : _reserved[payer][payee][token];
        (bool covered, bool usedUp) = _debit(payer, payee, token, total, held, b, word, true);
        if (usedUp) _pairs[payer][payee] -= ONE_RESERVED_TOKEN;
        return covered;
    }

    function _skip(Pair memory p, SkipReason reason) private returns (bool) {
        emit PairSkipped(p.payer, p.payee, p.fromNonce, reason);
        return false;
    }

    // ------------------------------------------------------------------------------------------
    // Owner
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IEscrow
    function registerVerifier(
        uint32 verifierId,
        VerifierFamily family,
        address verifier,
        uint16 mandateSlots,
        uint16 pairSlots
    ) external onlyOwner {
        // One `withdrawDelay` for payers to notice the announcement and request their withdrawals, one
        // for those requests to become executable: a payer who reacts in time leaves before it can act.
        uint256 activeAt = block.timestamp + 2 * uint256(withdrawDelay);
        _registerVerifier(verifierId, family, verifier, mandateSlots, pairSlots, activeAt);
    }

    /// @inheritdoc IEscrow
    function retireVerifier(uint32 verifierId) external onlyOwner {
        VerifierInfo storage info = _verifiers[verifierId];
        if (info.verifier == address(0)) revert UnknownVerifier(verifierId);
        if (info.retired) revert VerifierIsRetired(verifierId);
        if (!_anotherActiveVerifier(verifierId, info.family)) revert LastActiveVerifier(verifierId);
        info.retired = true;
        emit VerifierRetired(verifierId);
    }

    function _registerVerifier(
        uint32 verifierId,
        VerifierFamily family,
        address verifier,
        uint16 mandateSlots,
        uint16 pairSlots,
        uint256 activeAt
    ) private {
        if (verifier == address(0)) revert ZeroAddress();
        if (verifier.code.length == 0) revert VerifierHasNoCode(verifier);
        if (pairSlots == 0 || mandateSlots < pairSlots) revert InvalidVerifierSlots(mandateSlots, pairSlots);
        if (_verifiers[verifierId].verifier != address(0)) revert VerifierAlreadyRegistered(verifierId);
        uint40 at = SafeCast.toUint40(activeAt);
        _verifiers[verifierId] = VerifierInfo(verifier, mandateSlots, pairSlots, at, false, family);
        _verifierIds.push(verifierId);
        emit VerifierRegistered(verifierId, family, verifier, mandateSlots, pairSlots, at);
    }

    /// @dev Whether a verifier of `family` other than `verifierId` is active and not retired. Any circuit
    /// size of a family can prove any of its mandates (in chunks of its size), so one such verifier keeps
    /// every mandate of the family settleable; an agent mandate needs an agent verifier.
    function _anotherActiveVerifier(uint32 verifierId, VerifierFamily family) private view returns (bool) {
        uint256 count = _verifierIds.length;
        for (uint256 i; i < count; ++i) {
            uint32 id = _verifierIds[i];
            if (id == verifierId) continue;
            VerifierInfo memory info = _verifiers[id];
            if (info.family == family && !info.retired && info.activeAt <= block.timestamp) return true;
        }
        return false;
    }

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IEscrow
    /// @dev Cached for the deployment chain and recomputed after a fork changes the chain id.
    function DOMAIN_SEPARATOR() public view override returns (bytes32) {
        return block.chainid == INITIAL_CHAIN_ID
            ? INITIAL_DOMAIN_SEPARATOR
            : MandateHashing.domainSeparator(block.chainid, address(this));
    }

    /// @inheritdoc IEscrow
    function balance(address payer, address token) external view returns (uint256) {
        return uint192(_balances[payer][token].word);
    }

    /// @inheritdoc IEscrow
    function pendingWithdrawal(address payer, address token) external view returns (uint256 amount, uint64 readyAt) {
        Request memory request = _withdrawals[payer][token];
        return (request.amount, request.readyAt);
    }

    /// @inheritdoc IEscrow
    function highWater(address payer, address payee) external view returns (uint64) {
        return SafeCast.toUint64(_pairs[payer][payee] & HIGH_WATER_MASK);
    }

    /// @inheritdoc IEscrow
    function reservation(address payer, address payee, address token) external view returns (uint256) {
        return _reserved[payer][payee][token];
    }

    /// @inheritdoc IEscrow
    function pendingRelease(address payer, address payee, address token)
        external
        view
        returns (uint256 amount, uint64 readyAt)
    {
        Request memory request = _releases[payer][payee][token];
        return (request.amount, request.readyAt);
    }

    /// @inheritdoc IEscrow
    function isApprovedSubmitter(address payee, address submitter) external view returns (bool) {
        return _approvedSubmitters[payee][submitter];
    }

    /// @inheritdoc IEscrow
    function verifierInfo(uint32 verifierId) external view returns (VerifierInfo memory) {
        return _verifiers[verifierId];
    }

    /// @inheritdoc IEscrow
    function publicInputOf(Settlement calldata settlement) external view returns (uint256) {
        return SettlementHashing.publicInput(DOMAIN_SEPARATOR(), settlement);
    }

    /// @inheritdoc IEscrow
    function agentPublicInputOf(AgentSettlement calldata settlement) external view returns (uint256) {
        return AgentSettlementHashing.publicInput(DOMAIN_SEPARATOR(), settlement, _agentKeyOf);
    }
}
