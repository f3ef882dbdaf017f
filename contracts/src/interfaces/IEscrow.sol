// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Settlement} from "../types/Settlement.sol";

/// @title IEscrow
/// @notice The aep2 escrow: payers deposit ERC-20 tokens, payees are paid from those deposits in
/// batches, each batch proven by one Groth16 proof over the payers' signed mandates.
/// @dev Accounting: `balance(payer, token)` is everything the payer has in the escrow, including any
/// amount requested for withdrawal (a request is a claim on the balance, not a separate pot), and
/// `payeeBalance(payee, token)` is everything settled to a payee and not yet withdrawn. The escrow's
/// token holdings always equal the sum of both over all accounts.
interface IEscrow {
    /// @notice Why a pair of a valid settlement was not paid.
    enum SkipReason {
        /// The stored high-water mark is not the pair's `fromNonce`: already settled or out of order.
        NonceMismatch,
        /// `toNonce <= fromNonce`; a sound proof never produces this, and paying it would allow a replay.
        NonceNotIncreasing,
        /// The payer's balance in the settlement's token is below the pair's `total`.
        InsufficientBalance
    }

    /// @notice A registered verifier: one circuit size, packed into one storage slot.
    struct VerifierInfo {
        address verifier;
        uint16 mandateSlots;
        uint16 pairSlots;
        bool retired;
    }

    // ------------------------------------------------------------------------------------------
    // Errors
    // ------------------------------------------------------------------------------------------

    /// @notice A deposit, withdrawal request or payee withdrawal of zero.
    error ZeroAmount();
    /// @notice The zero address where an account or verifier is required.
    error ZeroAddress();
    /// @notice `withdrawDelay` outside [`MIN_WITHDRAW_DELAY`, `MAX_WITHDRAW_DELAY`].
    error WithdrawDelayOutOfBounds(uint256 delay, uint256 min, uint256 max);
    /// @notice A withdrawal request above the payer's balance.
    error InsufficientBalance(address payer, address token, uint256 balance, uint256 requested);
    /// @notice `executeWithdraw` or `cancelWithdraw` without a pending request.
    error NoPendingWithdrawal(address payer, address token);
    /// @notice `executeWithdraw` before the request's `readyAt`.
    error WithdrawalNotReady(uint64 readyAt, uint256 timestamp);
    /// @notice A payee withdrawal above the payee's credit.
    error InsufficientPayeeBalance(address payee, address token, uint256 balance, uint256 requested);
    /// @notice `registerVerifier` with an id already in use (ids are write-once).
    error VerifierAlreadyRegistered(uint32 verifierId);
    /// @notice `registerVerifier` with an address that holds no code.
    error VerifierHasNoCode(address verifier);
    /// @notice `registerVerifier` with no pair slots, or fewer mandate slots than pair slots.
    error InvalidVerifierSlots(uint16 mandateSlots, uint16 pairSlots);
    /// @notice A settlement (or `retireVerifier`) names an id that was never registered.
    error UnknownVerifier(uint32 verifierId);
    /// @notice A settlement names a verifier that the owner retired.
    error VerifierIsRetired(uint32 verifierId);
    /// @notice A settlement with more pairs than its verifier's circuit has pair slots.
    error TooManyPairs(uint32 verifierId, uint256 pairs, uint16 pairSlots);
    /// @notice A settlement without pairs.
    error EmptySettlement();
    /// @notice A settlement submitted after its `notAfter` (the smallest mandate deadline in it).
    error SettlementExpired(uint64 notAfter, uint256 timestamp);
    /// @notice The verifier rejected the proof; the whole transaction reverts.
    error InvalidProof(uint32 verifierId);
    /// @notice `settleMany` with different numbers of proofs and settlements.
    error LengthMismatch(uint256 proofs, uint256 settlements);

    // ------------------------------------------------------------------------------------------
    // Events
    // ------------------------------------------------------------------------------------------

    /// @notice `payer`'s balance in `token` grew by `amount`.
    event Deposited(address indexed payer, address indexed token, uint256 amount);
    /// @notice `payer` asked to withdraw `amount` of `token`, executable from `readyAt`.
    /// Replaces any earlier request for the same token.
    event WithdrawalRequested(address indexed payer, address indexed token, uint256 amount, uint64 readyAt);
    /// @notice `payer` dropped its pending withdrawal request for `token`.
    event WithdrawalCancelled(address indexed payer, address indexed token);
    /// @notice A request for `requested` was executed; `paid` (≤ requested, what settlements left) left the escrow.
    event WithdrawalExecuted(address indexed payer, address indexed token, uint256 requested, uint256 paid);
    /// @notice A payee moved `amount` of its settled credit in `token` to `to`.
    event PayeeWithdrawal(address indexed payee, address indexed token, address to, uint256 amount);
    /// @notice The owner registered verifier `verifierId` for a circuit of the given size.
    event VerifierRegistered(uint32 indexed verifierId, address verifier, uint16 mandateSlots, uint16 pairSlots);
    /// @notice The owner retired verifier `verifierId`; settlements naming it revert from now on.
    event VerifierRetired(uint32 indexed verifierId);
    /// @notice One pair was paid: `total` of `token` moved from `payer`'s balance to `payee`'s credit,
    /// and the pair's high-water mark moved from `fromNonce` to `toNonce`.
    event PairSettled(
        address indexed payer, address indexed payee, address token, uint64 fromNonce, uint64 toNonce, uint128 total
    );
    /// @notice One pair of a valid settlement was not paid; nothing changed for it.
    event PairSkipped(address indexed payer, address indexed payee, uint64 fromNonce, SkipReason reason);
    /// @notice A proof for `publicInput` was accepted; `settled + skipped` is the settlement's pair count.
    event SettlementProcessed(
        uint32 indexed verifierId, uint256 publicInput, uint256 settled, uint256 skipped, uint256 amount
    );

    // ------------------------------------------------------------------------------------------
    // Payers
    // ------------------------------------------------------------------------------------------

    /// @notice Deposit `amount` of `token` from the caller (who has approved the escrow) to the caller's balance.
    /// @dev Fee-on-transfer and rebasing tokens are not supported: the escrow credits `amount`.
    function deposit(address token, uint256 amount) external;

    /// @notice Deposit to `from`'s balance with `from`'s EIP-3009 `ReceiveWithAuthorization` signature
    /// (to = this escrow), so a payer funds its account with one signature; anyone may submit it.
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

    /// @notice Ask to withdraw `amount` of `token`, executable after `withdrawDelay`. Replaces an earlier
    /// request. The amount stays debitable by settlements until the request is executed.
    function requestWithdraw(address token, uint256 amount) external;

    /// @notice Drop the caller's pending withdrawal request for `token`.
    function cancelWithdraw(address token) external;

    /// @notice Execute the caller's ready request for `token`: pays the requested amount, or what
    /// settlements left of the balance if that is less, to the caller.
    /// @return paid The amount transferred.
    function executeWithdraw(address token) external returns (uint256 paid);

    // ------------------------------------------------------------------------------------------
    // Payees and settlement
    // ------------------------------------------------------------------------------------------

    /// @notice Settle one proven batch. Reverts on an unknown or retired verifier, too many pairs,
    /// an expired batch or an invalid proof; otherwise pays every pair it can and skips the rest.
    /// Anyone may submit: the proof, not the sender, authorizes the debits.
    function settle(bytes calldata proof, Settlement calldata settlement) external;

    /// @notice Settle several proven batches in order, in one transaction (a pair's second chunk may start
    /// at the first chunk's `toNonce`). Any reverting settlement reverts all of them.
    function settleMany(bytes[] calldata proofs, Settlement[] calldata settlements) external;

    /// @notice Move `amount` of the caller's settled credit in `token` to `to`.
    function withdrawPayee(address token, uint256 amount, address to) external;

    // ------------------------------------------------------------------------------------------
    // Owner
    // ------------------------------------------------------------------------------------------

    /// @notice Register the verifier of a circuit with `mandateSlots` mandates in at most `pairSlots` pairs.
    function registerVerifier(uint32 verifierId, address verifier, uint16 mandateSlots, uint16 pairSlots) external;

    /// @notice Retire verifier `verifierId` for good (a leaked or single-party key); its id stays taken.
    function retireVerifier(uint32 verifierId) external;

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    /// @notice The EIP-712 domain separator of mandates for this escrow on the current chain.
    function DOMAIN_SEPARATOR() external view returns (bytes32);

    /// @notice Seconds between a withdrawal request and its earliest execution.
    function withdrawDelay() external view returns (uint64);

    /// @notice `payer`'s balance of `token`, pending withdrawal included.
    function balance(address payer, address token) external view returns (uint256);

    /// @notice `payer`'s pending withdrawal request for `token`; zeros if none.
    function pendingWithdrawal(address payer, address token) external view returns (uint256 amount, uint64 readyAt);

    /// @notice The nonce of the last settled mandate from `payer` to `payee` (0 before the first).
    function highWater(address payer, address payee) external view returns (uint64);

    /// @notice `payee`'s settled, unwithdrawn credit in `token`.
    function payeeBalance(address payee, address token) external view returns (uint256);

    /// @notice The registration of `verifierId` (zero address if none).
    function verifierInfo(uint32 verifierId) external view returns (VerifierInfo memory);

    /// @notice The public input a proof of `settlement` must open to on this chain and escrow.
    function publicInputOf(Settlement calldata settlement) external view returns (uint256);
}
