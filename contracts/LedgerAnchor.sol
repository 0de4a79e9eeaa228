// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ILedgerAnchor} from "./ILedgerAnchor.sol";

/**
 * @title LedgerAnchor
 * @notice Anchors checkpoints of the subsidy ledger's RFC 6962 Merkle log, refusing any checkpoint
 * that does not provably extend the last one. See {ILedgerAnchor}.
 *
 * Roles: the default admin (a single account, changed by a two-step transfer that waits out a
 * delay, see {AccessControlDefaultAdminRules}) grants and revokes {RECORDER_ROLE}, which may
 * anchor, and {PAUSER_ROLE}, which may pause and unpause anchoring. Views and verifiers are open
 * to everyone and keep working while paused.
 *
 * The verifiers use the closed form of the RFC 9162 §2.1.3.2 and §2.1.4.2 algorithms that
 * transparency-dev/merkle uses (`proof/verify.go`): the proof length and the left/right order of
 * every hash follow from the bits of the index and sizes, so the length is checked before any
 * hashing and the loops need no data-dependent inner loops. The test suite cross-checks every
 * verdict against the TypeScript verifier (service/log/verify.ts), which follows the RFC text
 * line by line.
 */
contract LedgerAnchor is ILedgerAnchor, AccessControlDefaultAdminRules, Pausable {
    /// @notice Role allowed to anchor checkpoints.
    bytes32 public constant RECORDER_ROLE = keccak256("RECORDER_ROLE");

    /// @notice Role allowed to pause and unpause anchoring.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @dev RFC 6962 domain-separation prefix of an interior node: SHA-256(0x01 ‖ left ‖ right).
    uint8 private constant _NODE_PREFIX = 0x01;

    /// @dev Address of the SHA-256 precompile.
    uint256 private constant _SHA256_PRECOMPILE = 0x02;

    /// @dev Root of the empty tree, SHA-256("").
    bytes32 private constant _EMPTY_ROOT = 0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855;

    /*
     * Storage layout, chosen for the gas of {anchor}, which runs every second or so for the life
     * of the log. A checkpoint is 48 bytes (size, time, root), so it cannot fit one slot; instead:
     * - `_head` packs the number of checkpoints and the latest one's size and time, so {anchor}
     *   reads and writes one slot for all three;
     * - `_roots[i]` is checkpoint i's root: one new slot per checkpoint;
     * - `_sizeTimes[i / 2]` packs the sizes and times of checkpoints i and i + 1 (128 bits each,
     *   `size << 64 | time`, the even one in the low half), so only every other checkpoint pays
     *   for a new slot.
     * So an anchor writes one and a half new slots on average, where an array of structs would
     * write two new slots and the array length every time.
     */

    /// @dev `count << 128 | latestSize << 64 | latestTime`; zero before the first checkpoint.
    uint256 private _head;

    /// @dev Root hash of each checkpoint, by index.
    mapping(uint256 index => bytes32 rootHash) private _roots;

    /// @dev Size and time of checkpoints 2k (low 128 bits) and 2k + 1 (high 128 bits), by k.
    mapping(uint256 pair => uint256 sizeTimes) private _sizeTimes;

    /**
     * @param initialDelay Seconds a default-admin transfer must wait between being started and accepted.
     * @param initialAdmin The first default admin; it can grant {RECORDER_ROLE} and {PAUSER_ROLE}.
     */
    constructor(
        uint48 initialDelay,
        address initialAdmin
    ) AccessControlDefaultAdminRules(initialDelay, initialAdmin) {}

    /// @inheritdoc ILedgerAnchor
    function anchor(
        uint64 treeSize,
        bytes32 rootHash,
        bytes32[] calldata consistencyProof
    ) external onlyRole(RECORDER_ROLE) whenNotPaused {
        uint256 head = _head;
        uint256 count = head >> 128;
        if (count == 0) {
            // Before its first checkpoint the log counts as the empty tree (size 0): the first
            // checkpoint must be larger, and RFC 9162 needs an empty proof from the empty tree.
            if (treeSize == 0) revert LedgerAnchorNotExtending(0, 0);
            if (consistencyProof.length != 0) revert LedgerAnchorInvalidProofLength(consistencyProof.length, 0);
        } else {
            // `count - 1` cannot underflow: count > 0 here.
            unchecked {
                _requireExtends(uint64(head >> 64), _roots[count - 1], treeSize, rootHash, consistencyProof);
            }
        }
        uint64 time = _time();
        uint256 sizeTime = (uint256(treeSize) << 64) | time;
        _roots[count] = rootHash;
        // Checkpoint count + 1 shares its pair's slot with count, so an odd count adds to a used slot.
        if (count % 2 == 0) _sizeTimes[count / 2] = sizeTime;
        else _sizeTimes[count / 2] |= sizeTime << 128;
        // count + 1 fits the top 128 bits: it is at most the number of anchor calls ever made.
        _head = ((count + 1) << 128) | sizeTime;
        emit CheckpointAnchored(count, treeSize, rootHash);
    }

    /// @inheritdoc ILedgerAnchor
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @inheritdoc ILedgerAnchor
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    /// @inheritdoc ILedgerAnchor
    function checkpointCount() external view returns (uint256) {
        return _head >> 128;
    }

    /// @inheritdoc ILedgerAnchor
    function checkpointAt(uint256 index) external view returns (Checkpoint memory) {
        uint256 count = _head >> 128;
        if (index >= count) revert LedgerAnchorCheckpointOutOfRange(index, count);
        return _checkpoint(index);
    }

    /// @inheritdoc ILedgerAnchor
    function latestCheckpoint() external view returns (Checkpoint memory checkpoint) {
        uint256 head = _head;
        uint256 count = head >> 128;
        if (count != 0) {
            // `count - 1` cannot underflow: count > 0 here.
            unchecked {
                checkpoint = Checkpoint({treeSize: uint64(head >> 64), timestamp: uint64(head), rootHash: _roots[count - 1]});
            }
        }
    }

    /// @inheritdoc ILedgerAnchor
    function isAnchored(uint64 treeSize, bytes32 rootHash) external view returns (bool) {
        (bool found, uint256 index) = _findSize(treeSize);
        return found && _roots[index] == rootHash;
    }

    /// @inheritdoc ILedgerAnchor
    function verifyInclusion(
        bytes32 leafHash,
        uint64 leafIndex,
        uint64 treeSize,
        bytes32 rootHash,
        bytes32[] calldata proof
    ) external pure returns (bool) {
        return _verifyInclusion(leafHash, leafIndex, treeSize, rootHash, proof);
    }

    /// @inheritdoc ILedgerAnchor
    function verifyConsistency(
        uint64 size1,
        uint64 size2,
        bytes32 root1,
        bytes32 root2,
        bytes32[] calldata proof
    ) external pure returns (bool) {
        if (size1 > size2) return false;
        // Any tree extends the empty tree, whose root must still be the real one (and for two
        // empty trees both roots must be).
        if (size1 == 0) return proof.length == 0 && root1 == _EMPTY_ROOT && (size2 != 0 || root2 == root1);
        if (size1 == size2) return proof.length == 0 && root1 == root2;
        (uint256 length, uint256 inner) = _consistencyProofShape(size1, size2);
        if (proof.length != length) return false;
        (bytes32 calculated1, bytes32 calculated2) = _rootsFromConsistencyProof(size1, inner, root1, proof);
        return calculated1 == root1 && calculated2 == root2;
    }

    /// @inheritdoc ILedgerAnchor
    function verifyAnchoredInclusion(
        bytes32 leafHash,
        uint64 leafIndex,
        uint64 treeSize,
        bytes32[] calldata proof
    ) external view returns (bool) {
        (bool found, uint256 index) = _findSize(treeSize);
        return found && _verifyInclusion(leafHash, leafIndex, treeSize, _roots[index], proof);
    }

    /// @dev Also reports {ILedgerAnchor}.
    function supportsInterface(bytes4 interfaceId) public view virtual override returns (bool) {
        return interfaceId == type(ILedgerAnchor).interfaceId || super.supportsInterface(interfaceId);
    }

    /**
     * @dev The time recorded in a checkpoint. A harness overrides this to control it in tests.
     * The cast cannot truncate before the year 584,942,417,355: block time is in seconds.
     */
    function _time() internal view virtual returns (uint64) {
        return uint64(block.timestamp);
    }

    /**
     * @dev Reverts unless (`newSize`, `newRoot`) provably extends the anchored (`oldSize`, `oldRoot`).
     * Requires `oldSize` > 0 (an anchored checkpoint).
     */
    function _requireExtends(
        uint64 oldSize,
        bytes32 oldRoot,
        uint64 newSize,
        bytes32 newRoot,
        bytes32[] calldata proof
    ) private pure {
        if (newSize <= oldSize) revert LedgerAnchorNotExtending(oldSize, newSize);
        (uint256 length, uint256 inner) = _consistencyProofShape(oldSize, newSize);
        if (proof.length != length) revert LedgerAnchorInvalidProofLength(proof.length, length);
        (bytes32 calculatedOld, bytes32 calculatedNew) = _rootsFromConsistencyProof(oldSize, inner, oldRoot, proof);
        if (calculatedOld != oldRoot || calculatedNew != newRoot) {
            revert LedgerAnchorInconsistent(oldSize, oldRoot, newSize, newRoot);
        }
    }

    /// @dev `size << 64 | time` of checkpoint `index`, which must exist.
    function _sizeTime(uint256 index) private view returns (uint256) {
        return uint128(_sizeTimes[index / 2] >> (128 * (index % 2)));
    }

    /// @dev Checkpoint `index`, which must exist.
    function _checkpoint(uint256 index) private view returns (Checkpoint memory) {
        uint256 sizeTime = _sizeTime(index);
        return Checkpoint({treeSize: uint64(sizeTime >> 64), timestamp: uint64(sizeTime), rootHash: _roots[index]});
    }

    /**
     * @dev Binary search for the checkpoint of exactly `treeSize` leaves. Sizes strictly increase,
     * so there is at most one; this costs O(log n) reads instead of a mapping write per anchor.
     */
    function _findSize(uint64 treeSize) private view returns (bool found, uint256 index) {
        uint256 low = 0;
        uint256 high = _head >> 128;
        while (low < high) {
            uint256 mid = Math.average(low, high);
            uint64 size = uint64(_sizeTime(mid) >> 64);
            if (size == treeSize) return (true, mid);
            if (size < treeSize) {
                // `mid + 1` cannot overflow: mid < high ≤ the array length.
                unchecked {
                    low = mid + 1;
                }
            } else {
                high = mid;
            }
        }
        return (false, 0);
    }

    /**
     * @dev RFC 9162 §2.1.3.2 inclusion check. Returns false on any failure, including
     * `index` ≥ `size` and a proof whose length is not the one `index` and `size` imply.
     *
     * Closed form: the path from leaf `index` to the root of a tree of `size` leaves first climbs
     * `inner` levels where the bits of `index` and `size - 1` still differ (the sibling is on the
     * left when the bit of `index` is 1), then meets one left sibling per set bit of the rest of
     * `index` (the "border" of the ragged right edge).
     */
    function _verifyInclusion(
        bytes32 leafHash,
        uint256 index,
        uint256 size,
        bytes32 root,
        bytes32[] calldata proof
    ) private pure returns (bool) {
        if (index >= size) return false;
        // `size - 1` cannot underflow: size > index ≥ 0.
        uint256 inner;
        unchecked {
            inner = _bitLength(index ^ (size - 1));
        }
        // Both terms are at most 64 (the arguments are 64-bit), so the sum cannot overflow.
        uint256 length;
        unchecked {
            length = inner + _popCount(index >> inner);
        }
        if (proof.length != length) return false;

        function(bytes32, bytes32) pure returns (bytes32) hashNode = _hashNodeAsPure();
        bytes32 hash = leafHash;
        for (uint256 i = 0; i < length; ) {
            bytes32 sibling = proof[i];
            hash = (i < inner && (index >> i) & 1 == 0) ? hashNode(hash, sibling) : hashNode(sibling, hash);
            // `i + 1` cannot overflow: i < length ≤ 128.
            unchecked {
                ++i;
            }
        }
        return hash == root;
    }

    /**
     * @dev The number of hashes in the consistency proof from `size1` to `size2` leaves, and the
     * number `inner` of them below the level where the old tree's right edge joins the new tree's.
     * Requires 0 < `size1` < `size2`.
     *
     * Closed form of RFC 9162 §2.1.4.2 (transparency-dev `VerifyConsistency`): the proof is the
     * inclusion proof of leaf `size1 - 1` in the new tree with its lowest `shift` levels cut off,
     * where 2^`shift` is the largest perfect subtree ending at `size1`, plus that subtree's root
     * first unless it is the whole old tree (`size1` a power of two).
     */
    function _consistencyProofShape(uint256 size1, uint256 size2) private pure returns (uint256 length, uint256 inner) {
        unchecked {
            // `size1 - 1` and `size2 - 1` cannot underflow: 0 < size1 < size2.
            // `0 - size1` wraps on purpose: size1 & (0 - size1) isolates the lowest set bit.
            uint256 shift = Math.log2(size1 & (0 - size1));
            uint256 last = size1 - 1;
            uint256 fullInner = _bitLength(last ^ (size2 - 1));
            uint256 border = _popCount(last >> fullInner);
            // `fullInner - shift` cannot underflow: the low `shift` bits of size1 - 1 are all
            // ones, so if size2 - 1 agreed with it on every higher bit, size2 - 1 ≤ size1 - 1,
            // contradicting size1 < size2; hence fullInner > shift.
            inner = fullInner - shift;
            // All terms are at most 64 (64-bit sizes), so the sum cannot overflow.
            length = (last >> shift == 0 ? 0 : 1) + inner + border;
        }
    }

    /**
     * @dev The old and new roots a consistency proof implies. Requires 0 < `size1` < `size2` and
     * `proof` of the length {_consistencyProofShape} gives, with `inner` from it.
     */
    function _rootsFromConsistencyProof(
        uint256 size1,
        uint256 inner,
        bytes32 root1,
        bytes32[] calldata proof
    ) private pure returns (bytes32 hash1, bytes32 hash2) {
        function(bytes32, bytes32) pure returns (bytes32) hashNode = _hashNodeAsPure();
        // The bits of the old tree's last leaf index above the shared perfect subtree; a set bit
        // means the sibling at that level is on the left and so is in both trees.
        uint256 mask;
        uint256 i;
        unchecked {
            // `size1 - 1` cannot underflow: size1 > 0. ctz(size1) as in _consistencyProofShape.
            mask = (size1 - 1) >> Math.log2(size1 & (0 - size1));
        }
        bytes32 seed;
        if (mask == 0) {
            // size1 is a power of two: the old root is itself the shared subtree's root.
            seed = root1;
        } else {
            seed = proof[0];
            i = 1;
        }
        hash1 = seed;
        hash2 = seed;
        uint256 length = proof.length;
        uint256 innerEnd;
        // `i + inner` cannot overflow: both are at most 64.
        unchecked {
            innerEnd = i + inner;
        }
        for (; i < length; ) {
            bytes32 sibling = proof[i];
            if (i >= innerEnd || mask & 1 == 1) {
                hash1 = hashNode(sibling, hash1);
                hash2 = hashNode(sibling, hash2);
            } else {
                hash2 = hashNode(hash2, sibling);
            }
            mask >>= 1;
            // `i + 1` cannot overflow: i < length, a calldata array length.
            unchecked {
                ++i;
            }
        }
    }

    /// @dev Number of bits needed to write `x`: 0 for 0, else floor(log2 x) + 1.
    function _bitLength(uint256 x) private pure returns (uint256) {
        // `+ 1` cannot overflow: log2 of a uint256 is at most 255.
        unchecked {
            return x == 0 ? 0 : Math.log2(x) + 1;
        }
    }

    /// @dev Number of set bits in `x`.
    function _popCount(uint256 x) private pure returns (uint256 count) {
        // `x - 1` cannot underflow: the loop runs only while x ≠ 0. `count + 1` is at most 256.
        unchecked {
            while (x != 0) {
                x &= x - 1;
                ++count;
            }
        }
    }

    /**
     * @dev SHA-256(0x01 ‖ `left` ‖ `right`), the RFC 6962 interior-node hash, by a static call to the
     * SHA-256 precompile. The 65-byte preimage is written at the free memory pointer without moving
     * it (scratch use that Solidity allows), and the digest comes back in scratch slot 0x00.
     * Cheaper than `sha256(abi.encodePacked(...))`, which allocates and copies for every call, and
     * a large anchoring proof makes some 45 hashes.
     */
    function _hashNode(bytes32 left, bytes32 right) private view returns (bytes32 digest) {
        assembly ("memory-safe") {
            let buffer := mload(0x40)
            mstore8(buffer, _NODE_PREFIX)
            mstore(add(buffer, 1), left)
            mstore(add(buffer, 33), right)
            // The precompile fails only when out of gas; propagate that as a revert.
            if iszero(staticcall(gas(), _SHA256_PRECOMPILE, buffer, 65, 0x00, 0x20)) {
                revert(0, 0)
            }
            digest := mload(0x00)
        }
    }

    /**
     * @dev {_hashNode} typed as `pure`, so the verifiers can be `pure` as the interface promises.
     * Solidity types any assembly `staticcall` as a state read; this one calls the SHA-256
     * precompile, which reads no state, so the function is pure in fact (the built-in `sha256`,
     * which the compiler accepts in pure functions, makes the same call). Only the mutability in the
     * function pointer's type changes; the code it points to is {_hashNode}.
     */
    function _hashNodeAsPure() private pure returns (function(bytes32, bytes32) pure returns (bytes32) pureHash) {
        function(bytes32, bytes32) view returns (bytes32) viewHash = _hashNode;
        assembly ("memory-safe") {
            pureHash := viewHash
        }
    }
}
