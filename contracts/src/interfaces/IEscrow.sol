// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AgentSettlement} from "../types/AgentSettlement.sol";
import {Settlement} from "../types/Settlement.sol";
import {IAgentKeys} from "./IAgentKeys.sol";

/// @title IEscrow
/// @notice The aep2 escrow: payers deposit ERC-20 tokens, payees are paid from those deposits in
/// batches, each batch proven by one Groth16 proof over the payers' signed mandates: EIP-712 mandates
/// signed by the payer's account (`settle`), or agent mandates signed by an agent key the payer
/// authorized (`settleAgent`, and the registry in `IAgentKeys`).
/// @dev Accounting, per token: `balance(payer, token)` is the payer's FREE balance, including any amount
/// requested for withdrawal (a request is a claim on the free balance, not a separate pot);
/// `reservation(payer, payee, token)` is the part of the payer's funds set aside for one payee, including
/// any amount requested for release; `payeeBalance(payee, token)` is everything settled to a payee and
/// not yet withdrawn. The escrow's holdings of each token always equal
/// Σ balance + Σ reservation + Σ payeeBalance over all accounts.
///
/// Settlement: a pair is paid only if the sender is its payee or a submitter the payee approved
/// (`approveSubmitter`); its total is debited from the payer's reservation for that payee first, then
/// from the free balance. A reservation is debitable only by settlements of its own payee. Agent pairs
/// follow the same rules, and those of their key (`IAgentKeys`).
///
/// The owner's powers (OZ `Ownable2Step`), and their bounds:
/// - `registerVerifier`: a new verifier (circuit size and key) is usable only `2 × withdrawDelay` after
///   registration (`VerifierInfo.activeAt`): a payer who distrusts it has one `withdrawDelay` from the
///   announcement (`VerifierRegistered`) to request a withdrawal, and that request is executable by
///   `activeAt`. Reserved funds need a release first (`withdrawDelay` more). Verifiers given to the
///   constructor are active at once: no payer can have deposited yet.
/// - `retireVerifier`: a retired verifier stops at once (settlements naming it revert), for a leaked
///   or single-party key; it cannot retire the last active, unretired verifier of its family, so payees'
///   accepted mandates always remain provable (any size of a family proves any of its mandates, in
///   smaller chunks).
/// - Nothing else: no function lets the owner move, freeze or redirect funds, change `withdrawDelay`
///   (immutable), approve submitters, touch reservations or agent keys. Only a verifier can debit payers, hence
///   the delay: every verifier the owner adds is announced `2 × withdrawDelay` before it can act, which is
///   also the warning payees get before a verifier they rely on could be retired in its favour.
///   Ownership moves in two steps; renouncing it freezes the verifier set.
interface IEscrow is IAgentKeys {
    /// @notice Why a pair of a valid settlement was not paid.
    enum SkipReason {
        /// The stored high-water mark is not the pair's `fromNonce`: already settled or out of order.
        NonceMismatch,
        /// `toNonce <= fromNonce`; a sound proof never produces this, and paying it would allow a replay.
        NonceNotIncreasing,
        /// The payer's reservation for the payee plus its free balance, in the settlement's token, is
        /// below the pair's `total`.
        InsufficientBalance,
        /// The sender is neither the pair's payee nor a submitter the payee approved.
        SubmitterNotApproved,
        /// Agent pairs only, from here on. No key has the pair's `keyId`.
        UnknownAgentKey,
        /// The key's token is not the settlement's.
        AgentKeyWrongToken,
        /// `block.timestamp` is before the key's `validAfter`.
        AgentKeyNotYetValid,
        /// `block.timestamp` is after the key's `validUntil`.
        AgentKeyExpired,
        /// The payer's revocation of the key is in effect (`block.timestamp ≥ revokeAt`).
        AgentKeyRevoked,
        /// The key is scoped to another payee.
        PayeeOutOfScope,
        /// `spent + total` would exceed the key's cap in effect at `block.timestamp`.
        AgentKeyCapExceeded
    }

    /// @notice What a verifier proves: EIP-712 mandates (`settle`, `Settlement`) or agent mandates
    /// (`settleAgent`, `AgentSettlement`). Each verifier is registered for one family.
    enum VerifierFamily {
        Batch,
        Agent
    }

    /// @notice A registered verifier: one circuit family and size, packed into one storage slot.
    /// Settlements of its family may name it from `activeAt` until it is retired.
    struct VerifierInfo {
        address verifier;
        uint16 mandateSlots;
        uint16 pairSlots;
        uint40 activeAt;
        bool retired;
        VerifierFamily family;
    }

    /// @notice A verifier registered by the constructor, active from deployment.
    struct InitialVerifier {
        uint32 verifierId;
        VerifierFamily family;
        address verifier;
        uint16 mandateSlots;
        uint16 pairSlots;
    }

    // ------------------------------------------------------------------------------------------
    // Errors
    // ------------------------------------------------------------------------------------------

    /// @notice A deposit, withdrawal request, reservation, release request or payee withdrawal of zero.
    error ZeroAmount();
    /// @notice The zero address where an account, submitter or verifier is required.
    error ZeroAddress();
    /// @notice `withdrawDelay` outside [`MIN_WITHDRAW_DELAY`, `MAX_WITHDRAW_DELAY`].
    error WithdrawDelayOutOfBounds(uint256 delay, uint256 min, uint256 max);
    /// @notice A deposit that moved none of `token` into the escrow (its balance did not grow), such as a
    /// call that a token's permissive fallback accepted without transferring anything.
    error NothingReceived(address token);
    /// @notice A withdrawal request or reservation above the payer's free balance.
    error InsufficientBalance(address payer, address token, uint256 balance, uint256 requested);
    /// @notice `executeWithdraw` or `cancelWithdraw` without a pending request.
    error NoPendingWithdrawal(address payer, address token);
    /// @notice `executeWithdraw` before the request's `readyAt`.
    error WithdrawalNotReady(uint64 readyAt, uint256 timestamp);
    /// @notice A release request above the payer's reservation for `payee`.
    error InsufficientReservation(address payer, address payee, address token, uint256 reserved, uint256 requested);
    /// @notice `executeRelease` or `cancelRelease` without a pending request.
    error NoPendingRelease(address payer, address payee, address token);
    /// @notice `executeRelease` before the request's `readyAt`.
    error ReleaseNotReady(uint64 readyAt, uint256 timestamp);
    /// @notice A payee withdrawal above the payee's credit.
    error InsufficientPayeeBalance(address payee, address token, uint256 balance, uint256 requested);
    /// @notice `registerVerifier` (or the constructor) with an id already in use (ids are write-once).
    error VerifierAlreadyRegistered(uint32 verifierId);
    /// @notice `registerVerifier` (or the constructor) with an address that holds no code.
    error VerifierHasNoCode(address verifier);
    /// @notice `registerVerifier` (or the constructor) with no pair slots, or fewer mandate slots than pair slots.
    error InvalidVerifierSlots(uint16 mandateSlots, uint16 pairSlots);
    /// @notice A settlement (or `retireVerifier`) names an id that was never registered.
    error UnknownVerifier(uint32 verifierId);
    /// @notice A settlement (or `retireVerifier`) names a verifier that the owner retired.
    error VerifierIsRetired(uint32 verifierId);
    /// @notice A settlement names a verifier before its `activeAt` (`2 × withdrawDelay` after registration).
    error VerifierNotActive(uint32 verifierId, uint64 activeAt);
    /// @notice `retireVerifier` would leave no other active, unretired verifier of its family to settle with.
    error LastActiveVerifier(uint32 verifierId);
    /// @notice A settlement names a verifier of the other family (an agent settlement a batch verifier,
    /// or the reverse).
    error VerifierFamilyMismatch(uint32 verifierId, VerifierFamily expected, VerifierFamily actual);
    /// @notice A settlement with more pairs than its verifier's circuit has pair slots.
    error TooManyPairs(uint32 verifierId, uint256 pairs, uint16 pairSlots);
    /// @notice A settlement without pairs.
    error EmptySettlement();
    /// @notice A settlement submitted after its `notAfter` (the smallest mandate deadline in it).
    error SettlementExpired(uint64 notAfter, uint256 timestamp);
    /// @notice The verifier rejected the proof; the whole transaction reverts.
    error InvalidProof(uint32 verifierId);
    /// @notice `settleMany` with different numbers of proofs and settlements (of either family).
    error LengthMismatch(uint256 proofs, uint256 settlements);

    // ------------------------------------------------------------------------------------------
    // Events
    // ------------------------------------------------------------------------------------------

    /// @notice `payer`'s free balance in `token` grew by `amount`, what the escrow actually received.
    event Deposited(address indexed payer, address indexed token, uint256 amount);
    /// @notice `payer` asked to withdraw `amount` of `token`, executable from `readyAt`.
    /// Replaces any earlier request for the same token.
    event WithdrawalRequested(address indexed payer, address indexed token, uint256 amount, uint64 readyAt);
    /// @notice `payer` dropped its pending withdrawal request for `token`.
    event WithdrawalCancelled(address indexed payer, address indexed token);
    /// @notice A request for `requested` was executed; `paid` (≤ requested, what settlements left) left the escrow.
    event WithdrawalExecuted(address indexed payer, address indexed token, uint256 requested, uint256 paid);
    /// @notice `payer` moved `amount` of `token` from its free balance into its reservation for `payee`.
    event Reserved(address indexed payer, address indexed payee, address indexed token, uint256 amount);
    /// @notice `payer` asked to release `amount` of its reservation for `payee` back to its free balance,
    /// executable from `readyAt`. Replaces any earlier request for the same payee and token.
    event ReleaseRequested(
        address indexed payer, address indexed payee, address indexed token, uint256 amount, uint64 readyAt
    );
    /// @notice `payer` dropped its pending release request for (`payee`, `token`).
    event ReleaseCancelled(address indexed payer, address indexed payee, address indexed token);
    /// @notice A release request for `requested` was executed; `released` (≤ requested, what settlements
    /// left of the reservation) returned to the payer's free balance.
    event ReleaseExecuted(
        address indexed payer, address indexed payee, address indexed token, uint256 requested, uint256 released
    );
    /// @notice `payee` approved (or revoked) `submitter` to submit settlements of its pairs.
    event SubmitterApproval(address indexed payee, address indexed submitter, bool approved);
    /// @notice A payee moved `amount` of its settled credit in `token` to `to`.
    event PayeeWithdrawal(address indexed payee, address indexed token, address to, uint256 amount);
    /// @notice Verifier `verifierId` was registered for a circuit of the given family and size; settlements
    /// may name it from `activeAt` (at once for the constructor's, `2 × withdrawDelay` later for the owner's).
    event VerifierRegistered(
        uint32 indexed verifierId,
        VerifierFamily family,
        address verifier,
        uint16 mandateSlots,
        uint16 pairSlots,
        uint64 activeAt
    );
    /// @notice The owner retired verifier `verifierId`; settlements naming it revert from now on.
    event VerifierRetired(uint32 indexed verifierId);
    /// @notice One pair was paid: `total` of `token` moved from `payer`'s reservation for `payee` (first)
    /// and free balance (for the rest) to `payee`'s credit, and the pair's high-water mark moved from
    /// `fromNonce` to `toNonce`.
    event PairSettled(
        address indexed payer, address indexed payee, address token, uint64 fromNonce, uint64 toNonce, uint128 total
    );
    /// @notice One pair of a valid settlement was not paid; nothing changed for it.
    event PairSkipped(address indexed payer, address indexed payee, uint64 fromNonce, SkipReason reason);
    /// @notice One agent pair was paid: `total` moved from the key's `payer` (its reservation for `payee`
    /// first, then its free balance) to `payee`'s credit in the key's token, the key's `spent` grew by
    /// `total`, and the (key, payee) high-water mark moved from `fromNonce` to `toNonce`.
    event AgentPairSettled(
        uint64 indexed keyId,
        address indexed payer,
        address indexed payee,
        uint64 fromNonce,
        uint64 toNonce,
        uint128 total
    );
    /// @notice One agent pair of a valid agent settlement was not paid; nothing changed for it.
    event AgentPairSkipped(uint64 indexed keyId, address indexed payee, uint64 fromNonce, SkipReason reason);
    /// @notice A proof for `publicInput` was accepted; `settled + skipped` is the settlement's pair count.
    event SettlementProcessed(
        uint32 indexed verifierId, uint256 publicInput, uint256 settled, uint256 skipped, uint256 amount
    );

    // ------------------------------------------------------------------------------------------
    // Payers
    // ------------------------------------------------------------------------------------------

    /// @notice Pull `amount` of `token` from the caller (who has approved the escrow) and credit the caller's
    /// free balance with what arrived: the growth of the escrow's token balance (less than `amount` for
    /// a fee-on-transfer token). Reverts `NothingReceived` if nothing arrived, and (OpenZeppelin's
    /// `SafeCastOverflowedUintDowncast`) if the free balance would pass 2^192 − 1.
    /// @dev Rebasing tokens are not supported: credits are fixed amounts.
    function deposit(address token, uint256 amount) external;

    /// @notice Deposit to `from`'s free balance with `from`'s EIP-3009 `ReceiveWithAuthorization` signature
    /// (to = this escrow), so a payer funds its account with one signature; anyone may submit it. Credits
    /// what arrived, as `deposit` does; reverts `NothingReceived` if nothing did (a token whose
    /// fallback accepts the call without implementing EIP-3009).
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
    ) external;

    /// @notice Ask to withdraw `amount` of `token` from the free balance, executable after `withdrawDelay`.
    /// Replaces an earlier request. The amount stays debitable by settlements until the request is executed.
    function requestWithdraw(address token, uint256 amount) external;

    /// @notice Drop the caller's pending withdrawal request for `token`.
    function cancelWithdraw(address token) external;

    /// @notice Execute the caller's ready request for `token`: pays the requested amount, or what
    /// settlements (and reservations) left of the free balance if that is less, to the caller.
    /// @return paid The amount transferred.
    function executeWithdraw(address token) external returns (uint256 paid);

    /// @notice Move `amount` of `token` from the caller's free balance into its reservation for `payee`:
    /// debitable only by `payee`'s settlements (before the free balance), and back to the caller only
    /// through `requestRelease` and, `withdrawDelay` later, `executeRelease`.
    function reserve(address payee, address token, uint256 amount) external;

    /// @notice Ask to release `amount` of the caller's reservation for `payee` back to its free balance,
    /// executable after `withdrawDelay`. Replaces an earlier request. The amount stays debitable by
    /// `payee`'s settlements until the request is executed.
    function requestRelease(address payee, address token, uint256 amount) external;

    /// @notice Drop the caller's pending release request for (`payee`, `token`).
    function cancelRelease(address payee, address token) external;

    /// @notice Execute the caller's ready release request for (`payee`, `token`): moves the requested
    /// amount, or what settlements left of the reservation if that is less, to the free balance.
    /// Reverts, as `deposit` does, if the free balance would pass 2^192 − 1 (withdraw some first).
    /// @return released The amount moved.
    function executeRelease(address payee, address token) external returns (uint256 released);

    // ------------------------------------------------------------------------------------------
    // Payees and settlement
    // ------------------------------------------------------------------------------------------

    /// @notice Settle one proven batch. Reverts on an unknown, retired or not yet active verifier, too many
    /// pairs, an expired batch or an invalid proof; otherwise pays every pair it can and skips the rest.
    /// The proof authorizes the debits, the sender the timing: a pair is paid only if the sender is its
    /// payee or a submitter its payee approved, and skipped (`SubmitterNotApproved`) otherwise, so a
    /// payer cannot settle its own mandates to move a high-water mark past what it owes.
    function settle(bytes calldata proof, Settlement calldata settlement) external;

    /// @notice Settle one proven batch of agent mandates, under `settle`'s rules (whole-call reverts, then
    /// per pair) plus the key's (`IAgentKeys`). Reverts also if the verifier is not of the agent family.
    /// Per pair, in this order, a pair is skipped if: the sender is neither its payee nor approved by it;
    /// no key has its `keyId`; the key's token is not the settlement's; the key is not yet valid or
    /// expired; its revocation is in effect; the payee is outside its scope; the (key, payee) high-water
    /// mark is not `fromNonce`; `toNonce <= fromNonce`; `spent + total` exceeds the cap in effect; or the
    /// payer's reservation for the payee plus its free balance is below `total`.
    /// @dev The public input packs each pair's key as the escrow stores it for `keyId` (`agentPublicInputOf`).
    function settleAgent(bytes calldata proof, AgentSettlement calldata settlement) external;

    /// @notice Settle several proven batches in one transaction, all or nothing: the EIP-712 ones in order,
    /// then the agent ones in order (a pair's second chunk may start at the first chunk's `toNonce`),
    /// each under the rules of `settle` or `settleAgent`. Any reverting settlement reverts all of them.
    function settleMany(
        bytes[] calldata proofs,
        Settlement[] calldata settlements,
        bytes[] calldata agentProofs,
        AgentSettlement[] calldata agentSettlements
    ) external;

    /// @notice Approve (or revoke) `submitter` to submit settlements that pay the caller's pairs, as
    /// the caller itself may. A revocation takes effect for the next settlement.
    function approveSubmitter(address submitter, bool approved) external;

    /// @notice Move `amount` of the caller's settled credit in `token` to `to`.
    function withdrawPayee(address token, uint256 amount, address to) external;

    // ------------------------------------------------------------------------------------------
    // Owner
    // ------------------------------------------------------------------------------------------

    /// @notice Register the verifier of a `family` circuit with `mandateSlots` mandates in at most
    /// `pairSlots` pairs, usable from `2 × withdrawDelay` after now (`VerifierInfo.activeAt`). Ids are
    /// write-once and shared by both families.
    function registerVerifier(
        uint32 verifierId,
        VerifierFamily family,
        address verifier,
        uint16 mandateSlots,
        uint16 pairSlots
    ) external;

    /// @notice Retire verifier `verifierId` for good (a leaked or single-party key), effective at once; its
    /// id stays taken. Reverts `LastActiveVerifier` unless another verifier of its family is active and not
    /// retired.
    function retireVerifier(uint32 verifierId) external;

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    /// @notice The EIP-712 domain separator of mandates for this escrow on the current chain.
    function DOMAIN_SEPARATOR() external view returns (bytes32);

    /// @notice Seconds between a withdrawal request and its earliest execution.
    function withdrawDelay() external view returns (uint64);

    /// @notice `payer`'s free balance of `token`, pending withdrawal included, reservations excluded;
    /// below 2^192.
    function balance(address payer, address token) external view returns (uint256);

    /// @notice `payer`'s pending withdrawal request for `token`; zeros if none.
    function pendingWithdrawal(address payer, address token) external view returns (uint256 amount, uint64 readyAt);

    /// @notice `payer`'s reservation of `token` for `payee`, pending release included.
    function reservation(address payer, address payee, address token) external view returns (uint256);

    /// @notice `payer`'s pending release request of its reservation of `token` for `payee`; zeros if none.
    function pendingRelease(address payer, address payee, address token)
        external
        view
        returns (uint256 amount, uint64 readyAt);

    /// @notice Whether `payee` approved `submitter` to submit settlements of its pairs.
    function isApprovedSubmitter(address payee, address submitter) external view returns (bool);

    /// @notice The nonce of the last settled mandate from `payer` to `payee` (0 before the first).
    function highWater(address payer, address payee) external view returns (uint64);

    /// @notice `payee`'s settled, unwithdrawn credit in `token`.
    function payeeBalance(address payee, address token) external view returns (uint256);

    /// @notice The registration of `verifierId` (zero address if none).
    function verifierInfo(uint32 verifierId) external view returns (VerifierInfo memory);

    /// @notice The public input a proof of `settlement` must open to on this chain and escrow.
    function publicInputOf(Settlement calldata settlement) external view returns (uint256);

    /// @notice The public input a proof of agent `settlement` must open to on this chain and escrow, with
    /// each pair's key as stored now (zero for an unknown `keyId`).
    function agentPublicInputOf(AgentSettlement calldata settlement) external view returns (uint256);
}
