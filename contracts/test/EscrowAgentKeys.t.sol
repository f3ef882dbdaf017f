// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Escrow} from "../src/Escrow.sol";
import {IAgentKeys} from "../src/interfaces/IAgentKeys.sol";
import {IEscrow} from "../src/interfaces/IEscrow.sol";
import {MandateHashing} from "../src/MandateHashing.sol";
import {AgentKeyGrant} from "../src/types/AgentKeyGrant.sol";
import {EscrowFixture} from "./utils/EscrowFixture.sol";
import {MockWallet} from "./utils/MockWallet.sol";

/// @notice The agent-key registry: `authorizeAgentKey` (signatures, replays, the grant's ranges, key
/// encodings), `revokeAgentKey` and `lowerAgentKeyCap` (the payer's, with `revokeDelay`), and the views.
contract EscrowAgentKeysTest is EscrowFixture {
    /// secp256k1's group order, to malleate signatures.
    uint256 internal constant SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
    bytes32 internal constant AGENT_KEY_TYPEHASH = keccak256(
        "AgentKey(address payer,bytes32 key,address token,address payee,uint128 cap,uint64 validAfter,uint64 validUntil,uint64 salt)"
    );
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;

    /// @dev The grant digest computed here, from the type string, not by the escrow.
    function _digest(bytes32 separator, AgentKeyGrant memory g) internal pure returns (bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(AGENT_KEY_TYPEHASH, g.payer, g.key, g.token, g.payee, g.cap, g.validAfter, g.validUntil, g.salt)
        );
        return keccak256(abi.encodePacked(hex"1901", separator, structHash));
    }

    function _sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    function _expectBadSignature(AgentKeyGrant memory g, bytes memory signature) internal {
        vm.expectRevert(
            abi.encodeWithSelector(IAgentKeys.InvalidAgentKeySignature.selector, g.payer, escrow.agentKeyGrantDigest(g))
        );
        escrow.authorizeAgentKey(g, signature);
    }

    // ------------------------------------------------------------------------------------------
    // constructor
    // ------------------------------------------------------------------------------------------

    function test_constructor_setsRevokeDelay() public view {
        assertEq(escrow.revokeDelay(), REVOKE_DELAY);
        assertEq(escrow.agentKeyCount(), 0);
    }

    function test_constructor_revertsIfRevokeDelayTooShort() public {
        vm.expectRevert(
            abi.encodeWithSelector(IAgentKeys.RevokeDelayOutOfBounds.selector, 1 hours - 1, 1 hours, 30 days)
        );
        new Escrow(owner, DELAY, 1 hours - 1, new IEscrow.InitialVerifier[](0));
    }

    function test_constructor_revertsIfRevokeDelayTooLong() public {
        vm.expectRevert(
            abi.encodeWithSelector(IAgentKeys.RevokeDelayOutOfBounds.selector, 30 days + 1, 1 hours, 30 days)
        );
        new Escrow(owner, DELAY, 30 days + 1, new IEscrow.InitialVerifier[](0));
    }

    // ------------------------------------------------------------------------------------------
    // authorizeAgentKey
    // ------------------------------------------------------------------------------------------

    function test_authorizeAgentKey_registersKey() public {
        AgentKeyGrant memory g = _grant(alice, KEY_B, payee, 1_000);
        bytes32 digest = _digest(escrow.DOMAIN_SEPARATOR(), g);
        vm.expectEmit(address(escrow));
        emit IAgentKeys.AgentKeyAuthorized(
            1, alice, payee, KEY_B, address(token), 1_000, g.validAfter, g.validUntil, digest
        );
        vm.prank(bob); // anyone may submit the payer's grant
        uint64 keyId = escrow.authorizeAgentKey(g, _signGrant(aliceKey, g));
        assertEq(keyId, 1);
        assertEq(escrow.agentKeyCount(), 1);
        assertEq(escrow.agentKeyIdOf(digest), 1);
        IAgentKeys.AgentKeyInfo memory info = escrow.agentKey(1);
        assertEq(info.key, KEY_B);
        assertEq(info.payer, alice);
        assertEq(info.token, address(token));
        assertEq(info.payee, payee);
        assertEq(info.cap, 1_000);
        assertEq(info.spent, 0);
        assertEq(info.validAfter, g.validAfter);
        assertEq(info.validUntil, g.validUntil);
        assertEq(info.revokeAt, 0);
        assertEq(info.pendingCap, 0);
        assertEq(info.pendingCapAt, 0);
        assertEq(escrow.agentHighWater(1, payee), 0);
    }

    function test_authorizeAgentKey_countsIdsFromOne() public {
        assertEq(_aliceKey(payee, 1), 1);
        assertEq(_aliceKey(address(0), 1), 2);
        assertEq(_authorize(bobKey, _grant(bob, KEY_2B, address(0), 1)), 3);
        assertEq(escrow.agentKeyCount(), 3);
        assertEq(escrow.agentKey(3).payer, bob);
    }

    /// Equal but for the salt: two grants, two keys.
    function test_authorizeAgentKey_sameKeyAnotherSaltIsAnotherKey() public {
        AgentKeyGrant memory g = _grant(alice, KEY_B, payee, 1_000);
        uint64 first = _authorize(aliceKey, g);
        g.salt += 1;
        uint64 second = _authorize(aliceKey, g);
        assertEq(second, first + 1);
        assertEq(escrow.agentKey(second).key, KEY_B);
    }

    function test_authorizeAgentKey_revertsIfReplayed() public {
        AgentKeyGrant memory g = _grant(alice, KEY_B, payee, 1_000);
        bytes memory signature = _signGrant(aliceKey, g);
        escrow.authorizeAgentKey(g, signature);
        vm.expectRevert(abi.encodeWithSelector(IAgentKeys.AgentKeyGrantUsed.selector, escrow.agentKeyGrantDigest(g), 1));
        escrow.authorizeAgentKey(g, signature);
    }

    function test_authorizeAgentKey_revertsIfZeroCap() public {
        AgentKeyGrant memory g = _grant(alice, KEY_B, payee, 0);
        bytes memory signature = _signGrant(aliceKey, g);
        vm.expectRevert(IAgentKeys.AgentKeyCapZero.selector);
        escrow.authorizeAgentKey(g, signature);
    }

    function test_authorizeAgentKey_revertsIfZeroToken() public {
        AgentKeyGrant memory g = _grant(alice, KEY_B, payee, 1);
        g.token = address(0);
        bytes memory signature = _signGrant(aliceKey, g);
        vm.expectRevert(IAgentKeys.AgentKeyTokenZero.selector);
        escrow.authorizeAgentKey(g, signature);
    }

    function test_authorizeAgentKey_revertsIfValidityInverted() public {
        AgentKeyGrant memory g = _grant(alice, KEY_B, payee, 1);
        (g.validAfter, g.validUntil) = (uint64(block.timestamp + 2), uint64(block.timestamp + 1));
        bytes memory signature = _signGrant(aliceKey, g);
        vm.expectRevert(
            abi.encodeWithSelector(IAgentKeys.AgentKeyValidityInverted.selector, g.validAfter, g.validUntil)
        );
        escrow.authorizeAgentKey(g, signature);
    }

    function test_authorizeAgentKey_revertsIfExpired() public {
        AgentKeyGrant memory g = _grant(alice, KEY_B, payee, 1);
        (g.validAfter, g.validUntil) = (0, uint64(block.timestamp - 1));
        bytes memory signature = _signGrant(aliceKey, g);
        vm.expectRevert(abi.encodeWithSelector(IAgentKeys.AgentKeyGrantExpired.selector, g.validUntil, block.timestamp));
        escrow.authorizeAgentKey(g, signature);
    }

    /// A grant valid until this very second still registers (and settles this second).
    function test_authorizeAgentKey_acceptsValidUntilNow() public {
        AgentKeyGrant memory g = _grant(alice, KEY_B, payee, 1);
        (g.validAfter, g.validUntil) = (0, uint64(block.timestamp));
        assertEq(_authorize(aliceKey, g), 1);
    }

    /// A key valid only later registers now (and settles from `validAfter`).
    function test_authorizeAgentKey_acceptsFutureValidity() public {
        AgentKeyGrant memory g = _grant(alice, KEY_B, payee, 1);
        (g.validAfter, g.validUntil) = (uint64(block.timestamp + 1 days), uint64(block.timestamp + 2 days));
        assertEq(_authorize(aliceKey, g), 1);
    }

    /// Grant times beyond 40 bits (the year 36812) are stored saturated; the event carries them as signed.
    function test_authorizeAgentKey_saturatesTimesBeyond40Bits() public {
        AgentKeyGrant memory g = _grant(alice, KEY_B, address(0), type(uint128).max);
        (g.validAfter, g.validUntil) = (0, type(uint64).max);
        vm.expectEmit(address(escrow));
        emit IAgentKeys.AgentKeyAuthorized(
            1,
            alice,
            address(0),
            KEY_B,
            address(token),
            type(uint128).max,
            0,
            type(uint64).max,
            escrow.agentKeyGrantDigest(g)
        );
        _authorize(aliceKey, g);
        assertEq(escrow.agentKey(1).validUntil, type(uint40).max);
        assertEq(escrow.agentKey(1).cap, type(uint128).max);
    }

    /// The identity, the zero key, every other small-order point and a non-canonical Y (≥ r) are refused.
    function test_authorizeAgentKey_revertsIfKeyEncodingUnacceptable() public {
        bytes32[10] memory bad = [
            bytes32(0), // Y = 0: order 4
            bytes32(0x0000000000000000000000000000000000000000000000000000000000000080), // Y = 0, sign set: order 4
            bytes32(0x0100000000000000000000000000000000000000000000000000000000000000), // identity
            bytes32(0x0100000000000000000000000000000000000000000000000000000000000080), // identity, sign set
            bytes32(0x000000f093f5e1439170b97948e833285d588181b64550b829a031e1724e6430), // (0, -1): order 2
            bytes32(0x77d6d0af811efdaba0b534826dc591b72c94a64b7d12c16314d3721121b7ab0a), // order 8
            bytes32(0x77d6d0af811efdaba0b534826dc591b72c94a64b7d12c16314d3721121b7ab8a), // order 8
            bytes32(0x8a292f4012d7e497f0ba84f7da22a27030c4da3539338f5415cdbecf5197b825), // order 8
            bytes32(0x8a292f4012d7e497f0ba84f7da22a27030c4da3539338f5415cdbecf5197b8a5), // order 8
            bytes32(0x8c7d2d770e1b1e8f08a49a3368ed13254b52ed52d373a7dd7252d2d876c0dd55) // B with Y + r
        ];
        for (uint256 i; i < bad.length; ++i) {
            AgentKeyGrant memory g = _grant(alice, bad[i], payee, 1);
            bytes memory signature = _signGrant(aliceKey, g);
            vm.expectRevert(abi.encodeWithSelector(IAgentKeys.InvalidAgentKey.selector, bad[i]));
            escrow.authorizeAgentKey(g, signature);
        }
    }

    /// The vectors' valid points register; so does any canonical Y that is not of small order (the
    /// escrow does not decompress: a key off the curve could sign nothing).
    function test_authorizeAgentKey_acceptsVectorKeys() public {
        assertEq(_aliceKey(payee, 1), 1);
        assertEq(_authorize(aliceKey, _grant(alice, KEY_MINUS_B, payee, 1)), 2);
        assertEq(_authorize(aliceKey, _grant(alice, KEY_2B, payee, 1)), 3);
    }

    function testFuzz_authorizeAgentKey_refusesEveryYAtOrAboveR(uint256 y, bool negative) public {
        y = bound(y, R, (1 << 255) - 1);
        bytes32 key = _compressed(y, negative);
        AgentKeyGrant memory g = _grant(alice, key, payee, 1);
        bytes memory signature = _signGrant(aliceKey, g);
        vm.expectRevert(abi.encodeWithSelector(IAgentKeys.InvalidAgentKey.selector, key));
        escrow.authorizeAgentKey(g, signature);
    }

    /// @dev The compressed encoding of `y` (little-endian) with the sign bit.
    function _compressed(uint256 y, bool negative) internal pure returns (bytes32) {
        bytes memory out = new bytes(32);
        for (uint256 i; i < 32; ++i) {
            out[i] = bytes1(uint8(y >> (8 * i)));
        }
        if (negative) out[31] = bytes1(uint8(out[31]) | 0x80);
        return bytes32(out);
    }

    function test_authorizeAgentKey_compressedEncodingOfVectors() public pure {
        // The helper agrees with the vectors: B's Y, little-endian, sign clear; -B the same with it set.
        uint256 yB = 16950150798460657717958625567821834550301663161624707787222815936182638968203;
        assertEq(_compressed(yB, false), KEY_B);
        assertEq(_compressed(yB, true), KEY_MINUS_B);
    }

    // -- signatures ----------------------------------------------------------------------------

    function test_authorizeAgentKey_revertsIfSignedByAnother() public {
        AgentKeyGrant memory g = _grant(alice, KEY_B, payee, 1);
        _expectBadSignature(g, _signGrant(bobKey, g));
    }

    function test_authorizeAgentKey_revertsIfZeroPayer() public {
        AgentKeyGrant memory g = _grant(address(0), KEY_B, payee, 1);
        _expectBadSignature(g, _signGrant(aliceKey, g));
    }

    function test_authorizeAgentKey_revertsIfSignatureMalformed() public {
        AgentKeyGrant memory g = _grant(alice, KEY_B, payee, 1);
        bytes memory signature = _signGrant(aliceKey, g);
        // EIP-2098's 64-byte compact form is refused too: 65-byte signatures only.
        (bytes32 r, bytes32 vs) = vm.signCompact(aliceKey, escrow.agentKeyGrantDigest(g));
        _expectBadSignature(g, abi.encodePacked(r, vs));
        _expectBadSignature(g, "");
        assembly {
            mstore(signature, 64) // truncated
        }
        _expectBadSignature(g, signature);
    }

    /// The same signature with s' = n - s (and v flipped) recovers the same signer: refused (EIP-2).
    function testFuzz_authorizeAgentKey_revertsIfMalleated(uint128 cap, uint64 salt) public {
        AgentKeyGrant memory g = _grant(alice, KEY_B, payee, uint128(bound(cap, 1, type(uint128).max)));
        g.salt = salt;
        bytes32 digest = escrow.agentKeyGrantDigest(g);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(aliceKey, digest);
        bytes memory high = abi.encodePacked(r, bytes32(SECP256K1_N - uint256(s)), v == 27 ? uint8(28) : uint8(27));
        assertEq(ecrecover(digest, v == 27 ? 28 : 27, r, bytes32(SECP256K1_N - uint256(s))), alice);
        _expectBadSignature(g, high);
        escrow.authorizeAgentKey(g, abi.encodePacked(r, s, v)); // the low-s original is accepted
    }

    /// A grant signed for another escrow on this chain does not register here.
    function testFuzz_authorizeAgentKey_revertsIfSignedForAnotherEscrow(address other) public {
        vm.assume(other != address(escrow));
        AgentKeyGrant memory g = _grant(alice, KEY_B, payee, 1);
        _expectBadSignature(g, _sign(aliceKey, _digest(MandateHashing.domainSeparator(block.chainid, other), g)));
    }

    /// A grant signed for this escrow's address on another chain does not register here (and a grant
    /// signed here stops working after a fork changes the chain id).
    function testFuzz_authorizeAgentKey_revertsIfSignedForAnotherChain(uint64 chainId) public {
        vm.assume(chainId != block.chainid);
        AgentKeyGrant memory g = _grant(alice, KEY_B, payee, 1);
        _expectBadSignature(g, _sign(aliceKey, _digest(MandateHashing.domainSeparator(chainId, address(escrow)), g)));
    }

    function test_authorizeAgentKey_revertsAfterForkChangesChainId() public {
        AgentKeyGrant memory g = _grant(alice, KEY_B, payee, 1);
        bytes memory signature = _signGrant(aliceKey, g);
        vm.chainId(block.chainid + 1);
        _expectBadSignature(g, signature);
    }

    /// A grant whose domain is right but whose name or version is not ours (another protocol's type
    /// under its own domain) does not register.
    function test_authorizeAgentKey_revertsIfSignedUnderAnotherDomainName() public {
        AgentKeyGrant memory g = _grant(alice, KEY_B, payee, 1);
        bytes32 otherDomain = keccak256(
            abi.encode(
                MandateHashing.DOMAIN_TYPEHASH, keccak256("AEP2"), keccak256("2"), block.chainid, address(escrow)
            )
        );
        _expectBadSignature(g, _sign(aliceKey, _digest(otherDomain, g)));
    }

    /// A signature over any other field values does not register this grant.
    function testFuzz_authorizeAgentKey_revertsIfAnyFieldDiffers(uint8 field, uint64 delta) public {
        vm.assume(delta != 0);
        AgentKeyGrant memory g = _grant(alice, KEY_B, payee, 1_000);
        AgentKeyGrant memory signed = _grant(alice, KEY_B, payee, 1_000);
        signed.salt = g.salt;
        field = uint8(bound(field, 0, 5));
        if (field == 0) signed.key = KEY_2B;
        if (field == 1) signed.token = address(uint160(g.token) ^ delta);
        if (field == 2) signed.payee = address(uint160(g.payee) ^ delta);
        if (field == 3) signed.cap = g.cap ^ delta;
        if (field == 4) signed.validUntil = g.validUntil ^ delta;
        if (field == 5) signed.salt = g.salt ^ delta;
        _expectBadSignature(g, _signGrant(aliceKey, signed));
    }

    function testFuzz_authorizeAgentKey_revertsOnRandomSignatureBytes(bytes memory signature) public {
        AgentKeyGrant memory g = _grant(alice, KEY_B, payee, 1);
        _expectBadSignature(g, signature);
    }

    function testFuzz_authorizeAgentKey_expiryIsChecked(uint64 validUntil) public {
        AgentKeyGrant memory g = _grant(alice, KEY_B, payee, 1);
        g.validAfter = 0;
        g.validUntil = validUntil;
        bytes memory signature = _signGrant(aliceKey, g);
        if (validUntil < block.timestamp) {
            vm.expectRevert(
                abi.encodeWithSelector(IAgentKeys.AgentKeyGrantExpired.selector, validUntil, block.timestamp)
            );
        }
        escrow.authorizeAgentKey(g, signature);
    }

    // -- EIP-1271 ------------------------------------------------------------------------------

    function test_authorizeAgentKey_acceptsContractWalletsOwnerSignature() public {
        MockWallet wallet = new MockWallet(bob);
        AgentKeyGrant memory g = _grant(address(wallet), KEY_B, payee, 1_000);
        uint64 keyId = escrow.authorizeAgentKey(g, _signGrant(bobKey, g));
        assertEq(escrow.agentKey(keyId).payer, address(wallet));
    }

    /// A contract payer is asked through EIP-1271 only: its owner's key does not stand in for it, and
    /// a signature the wallet refuses (or a reverting wallet) does not register.
    function test_authorizeAgentKey_revertsIfContractWalletSaysNo() public {
        MockWallet wallet = new MockWallet(bob);
        AgentKeyGrant memory g = _grant(address(wallet), KEY_B, payee, 1_000);
        bytes memory signature = _signGrant(bobKey, g);
        wallet.setMode(MockWallet.Mode.No);
        _expectBadSignature(g, signature);
        wallet.setMode(MockWallet.Mode.Revert);
        _expectBadSignature(g, signature);
        wallet.setMode(MockWallet.Mode.Owner);
        _expectBadSignature(g, _signGrant(aliceKey, g));
    }

    function testFuzz_authorizeAgentKey_contractWalletDecides(bool yes, bytes memory signature) public {
        MockWallet wallet = new MockWallet(bob);
        wallet.setMode(yes ? MockWallet.Mode.Yes : MockWallet.Mode.No);
        AgentKeyGrant memory g = _grant(address(wallet), KEY_B, payee, 1_000);
        if (!yes) {
            _expectBadSignature(g, signature);
        } else {
            assertEq(escrow.authorizeAgentKey(g, signature), 1);
        }
    }

    // -- the shared vectors --------------------------------------------------------------------

    /// `tests/vectors/agent_mandates.json`'s grants, signed by its payer for an escrow at its address on
    /// chain 31337: an escrow deployed there computes the same struct hashes and digests and registers them.
    function test_authorizeAgentKey_matchesSharedVectors() public {
        string memory json = vm.readFile("../tests/vectors/agent_mandates.json");
        address at = vm.parseJsonAddress(json, ".domain.verifyingContract");
        assertEq(vm.parseJsonUint(json, ".domain.chainId"), block.chainid);
        assertEq(vm.parseJsonBytes32(json, ".grantTypehash"), AGENT_KEY_TYPEHASH);
        deployCodeTo("Escrow.sol:Escrow", abi.encode(owner, DELAY, REVOKE_DELAY, new IEscrow.InitialVerifier[](0)), at);
        Escrow there = Escrow(at);
        assertEq(there.DOMAIN_SEPARATOR(), vm.parseJsonBytes32(json, ".domainSeparator"));
        for (uint256 i; i < 3; ++i) {
            string memory base = string.concat(".grants[", vm.toString(i), "]");
            AgentKeyGrant memory g = _vectorGrant(json, string.concat(base, ".grant"));
            bytes32 digest = vm.parseJsonBytes32(json, string.concat(base, ".digest"));
            assertEq(there.agentKeyGrantDigest(g), digest);
            assertEq(_digest(there.DOMAIN_SEPARATOR(), g), digest);
            assertEq(there.authorizeAgentKey(g, vm.parseJsonBytes(json, string.concat(base, ".signature"))), i + 1);
            assertEq(there.agentKeyIdOf(digest), i + 1);
        }
    }

    function _vectorGrant(string memory json, string memory path) internal pure returns (AgentKeyGrant memory g) {
        g.payer = vm.parseJsonAddress(json, string.concat(path, ".payer"));
        g.key = vm.parseJsonBytes32(json, string.concat(path, ".key"));
        g.token = vm.parseJsonAddress(json, string.concat(path, ".token"));
        g.payee = vm.parseJsonAddress(json, string.concat(path, ".payee"));
        g.cap = uint128(vm.parseJsonUint(json, string.concat(path, ".cap")));
        g.validAfter = uint64(vm.parseJsonUint(json, string.concat(path, ".validAfter")));
        g.validUntil = uint64(vm.parseJsonUint(json, string.concat(path, ".validUntil")));
        g.salt = uint64(vm.parseJsonUint(json, string.concat(path, ".salt")));
    }

    // ------------------------------------------------------------------------------------------
    // revokeAgentKey
    // ------------------------------------------------------------------------------------------

    function test_revokeAgentKey_takesEffectAfterDelay() public {
        uint64 keyId = _aliceKey(payee, 1_000);
        uint64 effectiveAt = uint64(block.timestamp + REVOKE_DELAY);
        vm.expectEmit(address(escrow));
        emit IAgentKeys.AgentKeyRevoked(keyId, effectiveAt);
        vm.prank(alice);
        escrow.revokeAgentKey(keyId);
        assertEq(escrow.agentKey(keyId).revokeAt, effectiveAt);
    }

    function test_revokeAgentKey_revertsIfNotPayer() public {
        uint64 keyId = _aliceKey(payee, 1_000);
        vm.expectRevert(abi.encodeWithSelector(IAgentKeys.NotAgentKeyPayer.selector, keyId, alice, payee));
        vm.prank(payee);
        escrow.revokeAgentKey(keyId);
    }

    function test_revokeAgentKey_revertsIfUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(IAgentKeys.UnknownAgentKey.selector, 7));
        vm.prank(alice);
        escrow.revokeAgentKey(7);
    }

    /// A revocation is final and its effect time fixed: payees can rely on the first announcement.
    function test_revokeAgentKey_revertsIfAlreadyRevoked() public {
        uint64 keyId = _aliceKey(payee, 1_000);
        vm.prank(alice);
        escrow.revokeAgentKey(keyId);
        uint64 revokeAt = uint64(block.timestamp + REVOKE_DELAY);
        skip(1);
        vm.expectRevert(abi.encodeWithSelector(IAgentKeys.AgentKeyAlreadyRevoked.selector, keyId, revokeAt));
        vm.prank(alice);
        escrow.revokeAgentKey(keyId);
    }

    // ------------------------------------------------------------------------------------------
    // lowerAgentKeyCap
    // ------------------------------------------------------------------------------------------

    function test_lowerAgentKeyCap_takesEffectAfterDelay() public {
        uint64 keyId = _aliceKey(payee, 1_000);
        uint64 effectiveAt = uint64(block.timestamp + REVOKE_DELAY);
        vm.expectEmit(address(escrow));
        emit IAgentKeys.AgentKeyCapLowered(keyId, 400, effectiveAt);
        vm.prank(alice);
        escrow.lowerAgentKeyCap(keyId, 400);
        IAgentKeys.AgentKeyInfo memory info = escrow.agentKey(keyId);
        assertEq(info.cap, 1_000, "the old cap holds until the effect time");
        assertEq(info.pendingCap, 400);
        assertEq(info.pendingCapAt, effectiveAt);
        vm.warp(effectiveAt);
        info = escrow.agentKey(keyId);
        assertEq(info.cap, 400);
        assertEq(info.pendingCap, 0);
        assertEq(info.pendingCapAt, 0);
    }

    function test_lowerAgentKeyCap_revertsIfNotLower() public {
        uint64 keyId = _aliceKey(payee, 1_000);
        vm.expectRevert(abi.encodeWithSelector(IAgentKeys.AgentKeyCapNotLowered.selector, keyId, 1_000, 1_000));
        vm.prank(alice);
        escrow.lowerAgentKeyCap(keyId, 1_000);
    }

    function test_lowerAgentKeyCap_revertsIfNotPayer() public {
        uint64 keyId = _aliceKey(payee, 1_000);
        vm.expectRevert(abi.encodeWithSelector(IAgentKeys.NotAgentKeyPayer.selector, keyId, alice, bob));
        vm.prank(bob);
        escrow.lowerAgentKeyCap(keyId, 1);
    }

    function test_lowerAgentKeyCap_revertsIfUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(IAgentKeys.UnknownAgentKey.selector, 3));
        vm.prank(alice);
        escrow.lowerAgentKeyCap(3, 1);
    }

    /// A pending lowering is replaced by the next one (higher or lower, but below the cap in effect), and
    /// the delay starts again.
    function test_lowerAgentKeyCap_replacesPendingLowering() public {
        uint64 keyId = _aliceKey(payee, 1_000);
        vm.prank(alice);
        escrow.lowerAgentKeyCap(keyId, 200);
        skip(1 hours);
        vm.prank(alice);
        escrow.lowerAgentKeyCap(keyId, 600);
        IAgentKeys.AgentKeyInfo memory info = escrow.agentKey(keyId);
        assertEq(info.cap, 1_000);
        assertEq(info.pendingCap, 600);
        assertEq(info.pendingCapAt, block.timestamp + REVOKE_DELAY);
    }

    /// Once a lowering is in effect, the next one must go below it.
    function test_lowerAgentKeyCap_measuredAgainstLoweringInEffect() public {
        uint64 keyId = _aliceKey(payee, 1_000);
        vm.prank(alice);
        escrow.lowerAgentKeyCap(keyId, 500);
        skip(REVOKE_DELAY);
        vm.expectRevert(abi.encodeWithSelector(IAgentKeys.AgentKeyCapNotLowered.selector, keyId, 500, 600));
        vm.prank(alice);
        escrow.lowerAgentKeyCap(keyId, 600);
        vm.prank(alice);
        escrow.lowerAgentKeyCap(keyId, 0);
        IAgentKeys.AgentKeyInfo memory info = escrow.agentKey(keyId);
        assertEq(info.cap, 500);
        assertEq(info.pendingCap, 0);
        assertEq(info.pendingCapAt, block.timestamp + REVOKE_DELAY);
    }

    // ------------------------------------------------------------------------------------------
    // views
    // ------------------------------------------------------------------------------------------

    function test_agentKey_ofUnknownIdIsZero() public view {
        IAgentKeys.AgentKeyInfo memory info = escrow.agentKey(1);
        assertEq(info.payer, address(0));
        assertEq(info.key, bytes32(0));
        assertEq(escrow.agentKeyIdOf(bytes32(uint256(1))), 0);
    }

    function testFuzz_agentKeyGrantDigest_matchesTypedData(AgentKeyGrant memory g) public view {
        assertEq(escrow.agentKeyGrantDigest(g), _digest(escrow.DOMAIN_SEPARATOR(), g));
    }
}
