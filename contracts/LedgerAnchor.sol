// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
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
 * Pausing keeps OpenZeppelin Pausable's interface (`paused()`, the events {Paused} and
 * {Unpaused}, the errors {EnforcedPause} and {ExpectedPause}) but keeps the flag in the slot
 * {anchor} reads anyway, instead of a slot of its own that every anchor would pay to read.
 *
 * The verifiers use the closed form of the RFC 9162 §2.1.3.2 and §2.1.4.2 algorithms that
 * transparency-dev/merkle uses (`proof/verify.go`): the proof length and the left/right order of
 * every hash follow from the bits of the index and sizes, so the length is checked before any
 * hashing and the loops need no data-dependent inner loops. The test suite cross-checks every
 * verdict against the TypeScript verifier (service/log/verify.ts), which follows the RFC text
 * line by line.
 */
contract LedgerAnchor is ILedgerAnchor, AccessControlDefaultAdminRules {
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
     * Storage layout, chosen for the gas of {anchor}, which runs every few seconds for the life of
     * the log, and above all for its most expensive case. A checkpoint is 48 bytes (size, time,
     * root), more than one 32-byte slot, and each byte views return must be stored, so on average
     * an anchor fills more than one new slot (a write from zero, which costs 20,000 gas besides the
     * 2,100 of a first access); some anchors must fill two. The layout makes those pay nothing else:
     * - `_roots[i]` is checkpoint i's root: one new slot per checkpoint.
     * - `_sizeTimePairs[k]` packs the sizes and times of checkpoints 2k and 2k + 1 (128 bits each,
     *   `size << 64 | time`, the even one in the low half). The anchor of checkpoint 2k + 1 writes
     *   it, once and whole, so it is zero until then.
     * - `_head` holds the pause flag and, as of the last checkpoint at an even index 2k, the count
     *   2k + 1 and checkpoint 2k's size and time. Only pausing, unpausing and anchors at even
     *   indexes write it. Whether checkpoint 2k + 1 exists is whether pair k is non-zero (a size is
     *   never 0); that is the only time the head is behind.
     * So an anchor at an odd index reads the head and fills two new slots (its root and its pair),
     * and one at an even index reads the head and the previous pair, fills one new slot (its root)
     * and rewrites the head.
     */

    /// @dev Bit of `_head` set while paused.
    uint256 private constant _PAUSED = 1 << 192;

    /// @dev `paused << 192 | evenCount << 128 | size << 64 | time`, where `evenCount` is 0 before
    /// the first checkpoint and else 2k + 1 for the last checkpoint 2k at an even index, and `size`
    /// and `time` are checkpoint 2k's. The count fits 64 bits: sizes are 64-bit and strictly increase.
    uint256 private _head;

    /// @dev Root hash of each checkpoint, by index.
    mapping(uint256 index => bytes32 rootHash) private _roots;

    /// @dev Size and time of checkpoints 2k (low 128 bits) and 2k + 1 (high 128 bits), by k;
    /// zero until checkpoint 2k + 1 is anchored.
    mapping(uint256 pair => uint256 sizeTimes) private _sizeTimePairs;

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
    ) external onlyRole(RECORDER_ROLE) {
        uint256 head = _head;
        if (head & _PAUSED != 0) revert EnforcedPause();
        uint256 evenCount = _evenCount(head);
        uint256 sizeTime = (uint256(treeSize) << 64) | _time();
        if (evenCount == 0) {
            // Before its first checkpoint the log counts as the empty tree (size 0): the first
            // checkpoint must be larger, and RFC 9162 needs an empty proof from the empty tree.
            if (treeSize == 0) revert LedgerAnchorNotExtending(0, 0);
            if (consistencyProof.length != 0) revert LedgerAnchorInvalidProofLength(consistencyProof.length, 0);
            _roots[0] = rootHash;
            _head = (1 << 128) | sizeTime;
            emit CheckpointAnchored(0, treeSize, rootHash);
            return;
        }
        // evenCount = 2k + 1 ≥ 1, so neither `evenCount - 1` nor `evenCount >> 1` (k) underflows,
        // and `evenCount + 1` and `+ 2` fit: the count is at most 2^64, the number of 64-bit sizes.
        unchecked {
            uint256 pair = _sizeTimePairs[evenCount >> 1];
            if (pair == 0) {
                // This is checkpoint 2k + 1; checkpoint 2k is the head's.
                _requireExtends(uint64(head >> 64), _roots[evenCount - 1], treeSize, rootHash, consistencyProof);
                _roots[evenCount] = rootHash;
                _sizeTimePairs[evenCount >> 1] = (sizeTime << 128) | uint128(head);
                emit CheckpointAnchored(evenCount, treeSize, rootHash);
            } else {
                // This is checkpoint 2k + 2; checkpoint 2k + 1 is the high half of pair k.
                _requireExtends(uint64(pair >> 192), _roots[evenCount], treeSize, rootHash, consistencyProof);
                _roots[evenCount + 1] = rootHash;
                // The pause flag is clear, as checked above.
                _head = ((evenCount + 2) << 128) | sizeTime;
                emit CheckpointAnchored(evenCount + 1, treeSize, rootHash);
            }
        }
    }

    /// @inheritdoc ILedgerAnchor
    function pause() external onlyRole(PAUSER_ROLE) {
        uint256 head = _head;
        if (head & _PAUSED != 0) revert EnforcedPause();
        _head = head | _PAUSED;
        emit Paused(_msgSender());
    }

    /// @inheritdoc ILedgerAnchor
    function unpause() external onlyRole(PAUSER_ROLE) {
        uint256 head = _head;
        if (head & _PAUSED == 0) revert ExpectedPause();
        _head = head & ~_PAUSED;
        emit Unpaused(_msgSender());
    }

    /// @notice Whether anchoring is paused (the view of OpenZeppelin Pausable).
    function paused() external view returns (bool) {
        return _head & _PAUSED != 0;
    }

    /// @inheritdoc ILedgerAnchor
    function checkpointCount() external view returns (uint256 count) {
        (count, ) = _latest();
    }

    /// @inheritdoc ILedgerAnchor
    function checkpointAt(uint256 index) external view returns (Checkpoint memory) {
        (uint256 count, ) = _latest();
        if (index >= count) revert LedgerAnchorCheckpointOutOfRange(index, count);
        return _checkpoint(index);
    }

    /// @inheritdoc ILedgerAnchor
    function latestCheckpoint() external view returns (Checkpoint memory checkpoint) {
        (uint256 count, uint256 sizeTime) = _latest();
        if (count != 0) {
            // `count - 1` cannot underflow: count > 0 here.
            unchecked {
                checkpoint = Checkpoint({treeSize: uint64(sizeTime >> 64), timestamp: uint64(sizeTime), rootHash: _roots[count - 1]});
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
        (uint256 length, uint256 inner, uint256 mask) = _consistencyProofShape(size1, size2);
        if (proof.length != length) return false;
        (bytes32 calculated1, bytes32 calculated2) = _consistencyRootsAsPure()(mask, inner, root1, proof);
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

    /// @dev The count field of `_head` (`head`): 0 before the first checkpoint, else 2k + 1 for
    /// the last checkpoint 2k at an even index.
    function _evenCount(uint256 head) private pure returns (uint256) {
        return uint64(head >> 128);
    }

    /// @dev The number of checkpoints, and the last one's `size << 64 | time` (0 when there is none).
    function _latest() private view returns (uint256 count, uint256 sizeTime) {
        uint256 head = _head;
        count = _evenCount(head);
        sizeTime = uint128(head);
        if (count != 0) {
            uint256 pair = _sizeTimePairs[count >> 1];
            if (pair != 0) {
                // `count + 1` fits: the count is at most 2^64, the number of 64-bit sizes.
                unchecked {
                    ++count;
                }
                sizeTime = pair >> 128;
            }
        }
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
    ) private view {
        if (newSize <= oldSize) revert LedgerAnchorNotExtending(oldSize, newSize);
        (uint256 length, uint256 inner, uint256 mask) = _consistencyProofShape(oldSize, newSize);
        if (proof.length != length) revert LedgerAnchorInvalidProofLength(proof.length, length);
        (bytes32 calculatedOld, bytes32 calculatedNew) = _consistencyRoots(mask, inner, oldRoot, proof);
        if (calculatedOld != oldRoot || calculatedNew != newRoot) {
            revert LedgerAnchorInconsistent(oldSize, oldRoot, newSize, newRoot);
        }
    }

    /**
     * @dev `size << 64 | time` of checkpoint `index`, which must exist. Its pair is zero only when
     * `index` is the last checkpoint and even, and then the head holds it.
     */
    function _sizeTime(uint256 index) private view returns (uint256) {
        uint256 pair = _sizeTimePairs[index >> 1];
        if (pair == 0) return uint128(_head);
        return uint128(pair >> ((index & 1) << 7));
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
        (uint256 high, ) = _latest();
        while (low < high) {
            uint256 mid = Math.average(low, high);
            uint64 size = uint64(_sizeTime(mid) >> 64);
            if (size == treeSize) return (true, mid);
            if (size < treeSize) {
                // `mid + 1` cannot overflow: mid < high ≤ the number of checkpoints.
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
     * Requires `index` and `size` below 2^64 (callers pass 64-bit arguments).
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
        uint256 inner;
        uint256 length;
        unchecked {
            // `size - 1` cannot underflow: size > index ≥ 0. Both terms of the sum are at most 64.
            inner = _bitLength(index ^ (size - 1));
            length = inner + _popCount(index >> inner);
        }
        if (proof.length != length) return false;
        return _inclusionRootAsPure()(leafHash, index, inner, proof) == root;
    }

    /**
     * @dev The shape of the consistency proof from `size1` to `size2` leaves: its number of hashes
     * `length`; the number `inner` of them below the level where the old tree's right edge joins
     * the new tree's; and `mask`, the bits of the old tree's last leaf index above the largest
     * perfect subtree ending at `size1`, 0 when that subtree is the whole old tree. Requires
     * 0 < `size1` < `size2` < 2^64.
     *
     * Closed form of RFC 9162 §2.1.4.2 (transparency-dev `VerifyConsistency`): the proof is the
     * inclusion proof of leaf `size1 - 1` in the new tree with its lowest `shift` levels cut off,
     * where 2^`shift` is the largest perfect subtree ending at `size1`, plus that subtree's root
     * first unless it is the whole old tree (`size1` a power of two).
     */
    function _consistencyProofShape(
        uint256 size1,
        uint256 size2
    ) private pure returns (uint256 length, uint256 inner, uint256 mask) {
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
            mask = last >> shift;
            // All terms are at most 64 (64-bit sizes), so the sum cannot overflow.
            length = (mask == 0 ? 0 : 1) + inner + border;
        }
    }

    /**
     * @dev The root that `proof` implies for the leaf hash `leafHash` at `index`: the first `inner`
     * siblings sit on the side the bits of `index` give (left for a 1), every later one on the left.
     * Requires `inner` ≤ `proof.length`.
     *
     * One assembly loop over the proof, because the inclusion checks of other contracts spend most
     * of their computation here. The 65-byte preimage 0x01 ‖ left ‖ right is built at the free
     * memory pointer without moving it (scratch use that Solidity allows), the prefix byte once,
     * and each SHA-256 precompile digest comes back in scratch slot 0x00.
     *
     * The precompile's success flag is not checked: it fails only when given too little gas, and
     * since it is given all but 1/64 of what is left, it fails only when at most 97 gas is left,
     * which leaves this frame at most 1 gas, so the next instruction runs out of gas and reverts.
     */
    function _inclusionRoot(
        bytes32 leafHash,
        uint256 index,
        uint256 inner,
        bytes32[] calldata proof
    ) private view returns (bytes32 hash) {
        assembly ("memory-safe") {
            let buffer := mload(0x40)
            mstore8(buffer, _NODE_PREFIX)
            hash := leafHash
            let p := proof.offset
            let innerEnd := add(p, shl(5, inner))
            let end := add(p, shl(5, proof.length))
            for {} lt(p, innerEnd) {
                p := add(p, 0x20)
            } {
                // Bit 0 of index: 0 puts the hash left (at buffer + 1) and the sibling right
                // (at buffer + 33); 1 swaps them.
                let swap := shl(5, and(index, 1))
                mstore(add(buffer, add(1, swap)), hash)
                mstore(add(buffer, sub(33, swap)), calldataload(p))
                pop(staticcall(gas(), _SHA256_PRECOMPILE, buffer, 65, 0x00, 0x20))
                hash := mload(0x00)
                index := shr(1, index)
            }
            for {} lt(p, end) {
                p := add(p, 0x20)
            } {
                mstore(add(buffer, 1), calldataload(p))
                mstore(add(buffer, 33), hash)
                pop(staticcall(gas(), _SHA256_PRECOMPILE, buffer, 65, 0x00, 0x20))
                hash := mload(0x00)
            }
        }
    }

    /**
     * @dev The old and new roots a consistency proof implies, with `inner` and `mask` from
     * {_consistencyProofShape}. Requires `proof` of the length that gives.
     *
     * The proof starts with the root of the largest perfect subtree ending at the old size, unless
     * that subtree is the whole old tree (`mask` = 0), whose root `root1` is then the seed of both
     * hashes. Above it, each of the next `inner` siblings is on the left, and in both trees, when
     * the bit of `mask` for its level is 1, else on the right and in the new tree only; every later
     * sibling is a left one of both trees. Assembly, with the same use of memory and of the
     * precompile as {_inclusionRoot}, because this is most of the computation of {anchor}.
     */
    function _consistencyRoots(
        uint256 mask,
        uint256 inner,
        bytes32 root1,
        bytes32[] calldata proof
    ) private view returns (bytes32 hash1, bytes32 hash2) {
        assembly ("memory-safe") {
            let buffer := mload(0x40)
            mstore8(buffer, _NODE_PREFIX)
            let left := add(buffer, 1)
            let right := add(buffer, 33)
            let p := proof.offset
            let end := add(p, shl(5, proof.length))
            hash1 := root1
            if mask {
                hash1 := calldataload(p)
                p := add(p, 0x20)
            }
            hash2 := hash1
            let innerEnd := add(p, shl(5, inner))
            for {} lt(p, innerEnd) {
                p := add(p, 0x20)
            } {
                switch and(mask, 1)
                case 0 {
                    mstore(left, hash2)
                    mstore(right, calldataload(p))
                    pop(staticcall(gas(), _SHA256_PRECOMPILE, buffer, 65, 0x00, 0x20))
                    hash2 := mload(0x00)
                }
                default {
                    mstore(left, calldataload(p))
                    mstore(right, hash1)
                    pop(staticcall(gas(), _SHA256_PRECOMPILE, buffer, 65, 0x00, 0x20))
                    hash1 := mload(0x00)
                    mstore(right, hash2)
                    pop(staticcall(gas(), _SHA256_PRECOMPILE, buffer, 65, 0x00, 0x20))
                    hash2 := mload(0x00)
                }
                mask := shr(1, mask)
            }
            for {} lt(p, end) {
                p := add(p, 0x20)
            } {
                mstore(left, calldataload(p))
                mstore(right, hash1)
                pop(staticcall(gas(), _SHA256_PRECOMPILE, buffer, 65, 0x00, 0x20))
                hash1 := mload(0x00)
                mstore(right, hash2)
                pop(staticcall(gas(), _SHA256_PRECOMPILE, buffer, 65, 0x00, 0x20))
                hash2 := mload(0x00)
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

    /// @dev Number of set bits in `x`, which must be below 2^64 (a branch-free SWAR count).
    function _popCount(uint256 x) private pure returns (uint256) {
        // No step can wrap: each 2-bit field v becomes v − (v >> 1) ≥ 0, later sums of fields stay
        // within their fields (at most 64), and x < 2^64 keeps the product below 2^128.
        unchecked {
            x -= (x >> 1) & 0x5555555555555555;
            x = (x & 0x3333333333333333) + ((x >> 2) & 0x3333333333333333);
            x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0f;
            return ((x * 0x0101010101010101) >> 56) & 0xff;
        }
    }

    /**
     * @dev {_inclusionRoot} typed as `pure`, so the verifiers can be `pure` as the interface
     * promises. Solidity types any assembly `staticcall` as a state read; this one calls the
     * SHA-256 precompile, which reads no state, so the function is pure in fact (the built-in
     * `sha256`, which the compiler accepts in pure functions, makes the same call). Only the
     * mutability in the function pointer's type changes; the code it points to is the same.
     */
    function _inclusionRootAsPure()
        private
        pure
        returns (function(bytes32, uint256, uint256, bytes32[] calldata) pure returns (bytes32) pureFn)
    {
        function(bytes32, uint256, uint256, bytes32[] calldata) view returns (bytes32) viewFn = _inclusionRoot;
        assembly ("memory-safe") {
            pureFn := viewFn
        }
    }

    /// @dev {_consistencyRoots} typed as `pure`, for the reason given at {_inclusionRootAsPure}.
    function _consistencyRootsAsPure()
        private
        pure
        returns (function(uint256, uint256, bytes32, bytes32[] calldata) pure returns (bytes32, bytes32) pureFn)
    {
        function(uint256, uint256, bytes32, bytes32[] calldata) view returns (bytes32, bytes32) viewFn = _consistencyRoots;
        assembly ("memory-safe") {
            pureFn := viewFn
        }
    }
}
