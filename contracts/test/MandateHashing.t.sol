// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {stdJson} from "forge-std/StdJson.sol";
import {Mandate, MandateHashing} from "../src/MandateHashing.sol";
import {MandateDigester} from "../src/MandateDigester.sol";

contract MandateHashingTest is Test {
    using stdJson for string;

    string internal vectors;
    MandateDigester internal digester;

    function setUp() public {
        vectors = vm.readFile(string.concat(vm.projectRoot(), "/../tests/vectors/mandates.json"));
        digester = new MandateDigester();
    }

    function _mandate(uint256 i) internal view returns (Mandate memory m) {
        string memory p = string.concat(".valid[", vm.toString(i), "].mandate");
        m.payer = vectors.readAddress(string.concat(p, ".payer"));
        m.payee = vectors.readAddress(string.concat(p, ".payee"));
        m.token = vectors.readAddress(string.concat(p, ".token"));
        m.amount = vm.parseUint(vectors.readString(string.concat(p, ".amount")));
        m.nonce = uint64(vm.parseUint(vectors.readString(string.concat(p, ".nonce"))));
        m.deadline = uint64(vm.parseUint(vectors.readString(string.concat(p, ".deadline"))));
        m.ref = vectors.readBytes32(string.concat(p, ".ref"));
    }

    function _valid(uint256 i) internal pure returns (string memory) {
        return string.concat(".valid[", vm.toString(i), "]");
    }

    function test_typehash_matchesVectors() public view {
        assertEq(MandateHashing.MANDATE_TYPEHASH, vectors.readBytes32(".typehash"));
    }

    function test_domainSeparator_matchesVectors() public view {
        uint256 chainId = vm.parseUint(vectors.readString(".domain.chainId"));
        address escrow = vectors.readAddress(".domain.verifyingContract");
        assertEq(MandateHashing.domainSeparator(chainId, escrow), vectors.readBytes32(".domainSeparator"));
    }

    function test_digest_matchesEveryValidVector() public view {
        bytes32 separator = vectors.readBytes32(".domainSeparator");
        uint256 count = _validCount();
        assertGt(count, 0);
        for (uint256 i = 0; i < count; i++) {
            Mandate memory m = _mandate(i);
            assertEq(MandateHashing.structHash(m), vectors.readBytes32(string.concat(_valid(i), ".structHash")));
            assertEq(MandateHashing.digest(separator, m), vectors.readBytes32(string.concat(_valid(i), ".digest")));
        }
    }

    function test_recover_signerOfEveryValidVector() public view {
        uint256 count = _validCount();
        for (uint256 i = 0; i < count; i++) {
            Mandate memory m = _mandate(i);
            uint256 key = vectors.readUint(string.concat(_valid(i), ".privateKey"));
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digester.digest(m));
            assertEq(digester.recover(m, abi.encodePacked(r, s, v)), m.payer);
        }
    }

    function test_recover_rejectsHighS() public view {
        Mandate memory m = _mandate(0);
        bytes memory sig = vectors.readBytes(string.concat(_valid(0), ".signature"));
        (bytes32 r, bytes32 s, uint8 v) = (bytes32(_slice(sig, 0)), bytes32(_slice(sig, 32)), uint8(sig[64]));
        bytes32 highS = bytes32(0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141 - uint256(s));
        uint8 flipped = v == 27 ? 28 : 27;
        assertEq(digester.recover(m, abi.encodePacked(r, highS, flipped)), address(0));
    }

    function test_recover_rejectsWrongLength() public view {
        assertEq(digester.recover(_mandate(0), new bytes(64)), address(0));
    }

    function testFuzz_digest_changesWithEveryField(Mandate memory m, uint8 field) public pure {
        bytes32 separator = keccak256("separator");
        bytes32 before = MandateHashing.digest(separator, m);
        field = uint8(bound(field, 0, 6));
        if (field == 0) m.payer = address(uint160(m.payer) ^ 1);
        if (field == 1) m.payee = address(uint160(m.payee) ^ 1);
        if (field == 2) m.token = address(uint160(m.token) ^ 1);
        if (field == 3) m.amount ^= 1;
        if (field == 4) m.nonce ^= 1;
        if (field == 5) m.deadline ^= 1;
        if (field == 6) m.ref ^= bytes32(uint256(1));
        assertNotEq(MandateHashing.digest(separator, m), before);
    }

    function _validCount() internal view returns (uint256 n) {
        while (vm.keyExistsJson(vectors, _valid(n))) n++;
    }

    function _slice(bytes memory data, uint256 offset) private pure returns (bytes32 word) {
        assembly {
            word := mload(add(add(data, 32), offset))
        }
    }
}
