// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AgentKeyGrant} from "../types/AgentKeyGrant.sol";

/// @title IAgentKeys
/// @notice The escrow's registry of agent keys (`docs/agent-keys.md`): a payer authorizes an EdDSA key
/// once with an EIP-712 grant, and the escrow bounds what settlements through that key may debit.
/// @dev What a key may settle, checked per agent pair at `block.timestamp` (`IEscrow.settleAgent`):
/// - its token is the settlement's, and `validAfter ≤ block.timestamp ≤ validUntil`;
/// - no revocation is in effect: `revokeAgentKey` at time t sets `revokeAt = t + revokeDelay`, and the
///   key settles while `block.timestamp < revokeAt`;
/// - the pair's payee is the key's payee, or the key's payee is zero (any payee);
/// - `spent + total ≤ cap`, with the cap in effect at `block.timestamp`: `lowerAgentKeyCap` at time t
///   makes `newCap` the cap from `t + revokeDelay` on; before then the previous cap applies.
/// So a leaked key loses at most `cap − spent`, and a payee that accepted mandates against a key has
/// `revokeDelay` (longer than any payee's settlement horizon) to settle them after a revocation or a
/// cap lowering is announced. Raising a cap is a new grant.
interface IAgentKeys {
    /// @notice An agent key's record as of `block.timestamp`.
    /// @dev Times are stored in 40 bits: a grant time at or after 2^40 (the year 36812) reads as
    /// 2^40 − 1, which `block.timestamp` never reaches, so it means the same.
    struct AgentKeyInfo {
        /// The compressed Baby Jubjub public key the grant named (zero: no such key).
        bytes32 key;
        address payer;
        address token;
        /// The only payee the key may pay; zero: any payee.
        address payee;
        /// The cap in effect now.
        uint128 cap;
        /// Everything settled through the key so far; `spent ≤ cap` unless a lowering took the cap
        /// below what had already been spent.
        uint128 spent;
        uint64 validAfter;
        uint64 validUntil;
        /// When the payer's revocation takes effect (the key settles while `block.timestamp < revokeAt`);
        /// zero: not revoked.
        uint64 revokeAt;
        /// A lowering of the cap not yet in effect: `pendingCap` applies from `pendingCapAt`; zeros if none.
        uint128 pendingCap;
        uint64 pendingCapAt;
    }

    // ------------------------------------------------------------------------------------------
    // Errors
    // ------------------------------------------------------------------------------------------

    /// @notice `revokeDelay` outside [`MIN_REVOKE_DELAY`, `MAX_REVOKE_DELAY`].
    error RevokeDelayOutOfBounds(uint256 delay, uint256 min, uint256 max);
    /// @notice The grant's signature is not the payer's: not a 65-byte low-s ECDSA signature by an EOA
    /// payer over `grantDigest`, nor accepted by a contract payer's EIP-1271 `isValidSignature`.
    error InvalidAgentKeySignature(address payer, bytes32 grantDigest);
    /// @notice This exact grant was already registered, as `keyId`.
    error AgentKeyGrantUsed(bytes32 grantDigest, uint64 keyId);
    /// @notice A grant whose key is no acceptable compressed point: `Y` not below r, or the `Y` of a
    /// point of small order (the zero and identity encodings included).
    error InvalidAgentKey(bytes32 key);
    /// @notice A grant with a zero cap.
    error AgentKeyCapZero();
    /// @notice A grant with `validUntil < validAfter`.
    error AgentKeyValidityInverted(uint64 validAfter, uint64 validUntil);
    /// @notice A grant whose `validUntil` has passed.
    error AgentKeyGrantExpired(uint64 validUntil, uint256 timestamp);
    /// @notice A grant with a zero token.
    error AgentKeyTokenZero();
    /// @notice No key has this id.
    error UnknownAgentKey(uint64 keyId);
    /// @notice Only the key's payer may revoke it or lower its cap.
    error NotAgentKeyPayer(uint64 keyId, address payer, address sender);
    /// @notice The key was already revoked; its revocation takes effect at `revokeAt`.
    error AgentKeyAlreadyRevoked(uint64 keyId, uint64 revokeAt);
    /// @notice `lowerAgentKeyCap` with a new cap not below the cap in effect now.
    error AgentKeyCapNotLowered(uint64 keyId, uint128 cap, uint128 newCap);

    // ------------------------------------------------------------------------------------------
    // Events
    // ------------------------------------------------------------------------------------------

    /// @notice `payer`'s grant `grantDigest` registered `key` as `keyId`: it may pay `payee` (zero: any)
    /// up to `cap` of `token` in total, from `validAfter` to `validUntil` (as signed).
    event AgentKeyAuthorized(
        uint64 indexed keyId,
        address indexed payer,
        address indexed payee,
        bytes32 key,
        address token,
        uint128 cap,
        uint64 validAfter,
        uint64 validUntil,
        bytes32 grantDigest
    );
    /// @notice The payer revoked `keyId`; pairs through it are skipped from `effectiveAt` on.
    event AgentKeyRevoked(uint64 indexed keyId, uint64 effectiveAt);
    /// @notice The payer lowered `keyId`'s cap to `newCap` from `effectiveAt` on (replacing any lowering
    /// still pending).
    event AgentKeyCapLowered(uint64 indexed keyId, uint128 newCap, uint64 effectiveAt);

    // ------------------------------------------------------------------------------------------
    // Functions
    // ------------------------------------------------------------------------------------------

    /// @notice Register `grant`, signed by its payer (ECDSA low-s for an EOA, EIP-1271 for a contract
    /// wallet) over the EIP-712 `AgentKey` digest under this escrow's domain. Anyone may submit it.
    /// Reverts for a used grant, a bad signature, a zero cap or token, `validUntil < validAfter`, an
    /// expired grant or an unacceptable key encoding.
    /// @return keyId The new key's id: ids count from 1.
    function authorizeAgentKey(AgentKeyGrant calldata grant, bytes calldata signature) external returns (uint64 keyId);

    /// @notice Revoke `keyId`, effective `revokeDelay` from now; until then the key still settles, so
    /// payees settle what they accepted. The payer only; a revocation is final.
    function revokeAgentKey(uint64 keyId) external;

    /// @notice Lower `keyId`'s cap to `newCap` (below the cap in effect now), effective `revokeDelay`
    /// from now; a lowering still pending is replaced, and its delay starts again. The payer only.
    function lowerAgentKeyCap(uint64 keyId, uint128 newCap) external;

    /// @notice Seconds between a revocation or cap lowering and its effect.
    function revokeDelay() external view returns (uint64);

    /// @notice How many keys were registered; ids run from 1 to this.
    function agentKeyCount() external view returns (uint64);

    /// @notice `keyId`'s record as of now (all zero if there is no such key).
    function agentKey(uint64 keyId) external view returns (AgentKeyInfo memory);

    /// @notice The nonce of the last settled agent mandate of `keyId` to `payee` (0 before the first).
    function agentHighWater(uint64 keyId, address payee) external view returns (uint64);

    /// @notice The EIP-712 digest a payer signs to grant `grant` on this chain and escrow.
    function agentKeyGrantDigest(AgentKeyGrant calldata grant) external view returns (bytes32);

    /// @notice The id a grant with this digest was registered as; zero if none.
    function agentKeyIdOf(bytes32 grantDigest) external view returns (uint64);
}
