// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/**
 * @title ILedgerAnchor
 * @notice Anchors the checkpoints of an append-only RFC 6962 / RFC 9162 Merkle log on chain.
 *
 * A checkpoint is a (tree size, root hash) pair. The contract accepts a new checkpoint only
 * when a consistency proof shows that the last anchored tree is a prefix of the new one, so
 * the anchored history can grow but never be rewritten. Anyone can then check, without
 * trusting the log operator, that a record is included in an anchored tree.
 *
 * Hashing is RFC 6962 §2.1 with SHA-256: leaf = SHA-256(0x00 ‖ data),
 * node = SHA-256(0x01 ‖ left ‖ right), and the empty tree's root is SHA-256("").
 */
interface ILedgerAnchor {
    /**
     * @notice An anchored checkpoint of the log.
     * @param treeSize Number of leaves in the tree; strictly increasing from one checkpoint to the next.
     * @param timestamp Block time (seconds since the Unix epoch) at which the checkpoint was anchored.
     * @param rootHash RFC 6962 root hash (MTH) of the first `treeSize` leaves.
     */
    struct Checkpoint {
        uint64 treeSize;
        uint64 timestamp;
        bytes32 rootHash;
    }

    /**
     * @notice Emitted when a checkpoint is anchored.
     * @param index Position of the checkpoint, 0 for the first.
     * @param treeSize Number of leaves in the anchored tree.
     * @param rootHash Root hash of the anchored tree.
     */
    event CheckpointAnchored(uint256 indexed index, uint64 treeSize, bytes32 rootHash);

    /**
     * @notice Emitted when `account` pauses anchoring. The same event as OpenZeppelin Pausable's.
     */
    event Paused(address account);

    /**
     * @notice Emitted when `account` resumes anchoring. The same event as OpenZeppelin Pausable's.
     */
    event Unpaused(address account);

    /**
     * @dev Anchoring is paused, or {pause} was called while already paused. The same error as
     * OpenZeppelin Pausable's, so clients that know that contract decode it.
     */
    error EnforcedPause();

    /**
     * @dev {unpause} was called while not paused. The same error as OpenZeppelin Pausable's.
     */
    error ExpectedPause();

    /**
     * @dev The proposed tree is not larger than the last anchored one. Before the first
     * checkpoint the anchored size is 0, so a first checkpoint of size 0 is refused with
     * this error as well.
     */
    error LedgerAnchorNotExtending(uint64 anchoredSize, uint64 proposedSize);

    /**
     * @dev The consistency proof has `length` hashes but the sizes imply `expected`
     * (0 for the first checkpoint, which needs no proof).
     */
    error LedgerAnchorInvalidProofLength(uint256 length, uint256 expected);

    /**
     * @dev The consistency proof does not show that the anchored tree (`anchoredSize`, `anchoredRoot`)
     * is a prefix of the proposed tree (`proposedSize`, `proposedRoot`).
     */
    error LedgerAnchorInconsistent(uint64 anchoredSize, bytes32 anchoredRoot, uint64 proposedSize, bytes32 proposedRoot);

    /**
     * @dev `index` is not the position of an anchored checkpoint; `count` checkpoints are anchored.
     */
    error LedgerAnchorCheckpointOutOfRange(uint256 index, uint256 count);

    /**
     * @notice Anchors the checkpoint (`treeSize`, `rootHash`).
     * @dev Requires the caller to hold the recorder role, and then the contract not to be paused
     * ({EnforcedPause}).
     * Reverts with {LedgerAnchorNotExtending} unless `treeSize` is greater than the last anchored
     * size (0 before the first checkpoint, so size 0 is never anchored). For the first checkpoint
     * `consistencyProof` must be empty, else {LedgerAnchorInvalidProofLength}. For later ones it must
     * be the RFC 9162 §2.1.4 consistency proof from the last anchored checkpoint to the new one:
     * {LedgerAnchorInvalidProofLength} if it has the wrong number of hashes, and
     * {LedgerAnchorInconsistent} if it does not reproduce both roots.
     * Emits {CheckpointAnchored}.
     * @param treeSize Number of leaves in the new tree.
     * @param rootHash Root hash of the new tree.
     * @param consistencyProof Consistency proof from the last anchored checkpoint to the new one.
     */
    function anchor(uint64 treeSize, bytes32 rootHash, bytes32[] calldata consistencyProof) external;

    /**
     * @notice Stops anchoring until {unpause}. Requires the pauser role.
     * @dev Emits {Paused}. Reverts with {EnforcedPause} if already paused.
     */
    function pause() external;

    /**
     * @notice Resumes anchoring. Requires the pauser role.
     * @dev Emits {Unpaused}. Reverts with {ExpectedPause} if not paused.
     */
    function unpause() external;

    /**
     * @notice Number of anchored checkpoints.
     */
    function checkpointCount() external view returns (uint256);

    /**
     * @notice The checkpoint at position `index`, 0 being the first.
     * @dev Reverts with {LedgerAnchorCheckpointOutOfRange} unless `index` < {checkpointCount}.
     */
    function checkpointAt(uint256 index) external view returns (Checkpoint memory);

    /**
     * @notice The most recent checkpoint.
     * @dev Returns the zero checkpoint (tree size 0, timestamp 0, root 0) when nothing is anchored
     * yet. Size 0 is never anchored, so a tree size of 0 means "no checkpoint" without ambiguity,
     * and an anchoring client can read this view unconditionally.
     */
    function latestCheckpoint() external view returns (Checkpoint memory);

    /**
     * @notice Whether the checkpoint (`treeSize`, `rootHash`) has been anchored.
     * @dev O(log n) binary search over the checkpoints, whose sizes strictly increase.
     */
    function isAnchored(uint64 treeSize, bytes32 rootHash) external view returns (bool);

    /**
     * @notice Checks an RFC 9162 §2.1.3.2 inclusion proof: that `leafHash` is the leaf at
     * `leafIndex` in the tree of `treeSize` leaves whose root is `rootHash`.
     * @dev Requires 0 ≤ `leafIndex` < `treeSize` and a proof of exactly the length those imply.
     * Returns false, never reverts, when any of that fails or the proof does not reproduce `rootHash`.
     * @param leafHash RFC 6962 leaf hash, SHA-256(0x00 ‖ entry).
     * @param leafIndex Zero-based index of the leaf.
     * @param treeSize Number of leaves in the tree.
     * @param rootHash Root hash of the tree.
     * @param proof Audit path, leaf end first.
     */
    function verifyInclusion(
        bytes32 leafHash,
        uint64 leafIndex,
        uint64 treeSize,
        bytes32 rootHash,
        bytes32[] calldata proof
    ) external pure returns (bool);

    /**
     * @notice Checks an RFC 9162 §2.1.4.2 consistency proof: that the tree of `size2` leaves with
     * root `root2` extends the tree of `size1` leaves with root `root1`.
     * @dev Requires 0 ≤ `size1` ≤ `size2` and a proof of exactly the length the sizes imply.
     * Equal sizes need an empty proof and equal roots. `size1` = 0 needs an empty proof and `root1`
     * must be the empty tree's root SHA-256("") (stricter than implementations that ignore `root1`
     * there), so two empty trees need both roots to be SHA-256(""). This matches the project's
     * TypeScript verifier. Returns false, never reverts, on any failure.
     * @param size1 Number of leaves in the older tree.
     * @param size2 Number of leaves in the newer tree.
     * @param root1 Root hash of the older tree.
     * @param root2 Root hash of the newer tree.
     * @param proof Consistency proof.
     */
    function verifyConsistency(
        uint64 size1,
        uint64 size2,
        bytes32 root1,
        bytes32 root2,
        bytes32[] calldata proof
    ) external pure returns (bool);

    /**
     * @notice Checks that `leafHash` is the leaf at `leafIndex` in the anchored checkpoint of
     * exactly `treeSize` leaves.
     * @dev Returns false, never reverts, when no checkpoint of that size is anchored or when
     * {verifyInclusion} against its root would return false.
     * @param leafHash RFC 6962 leaf hash, SHA-256(0x00 ‖ entry).
     * @param leafIndex Zero-based index of the leaf.
     * @param treeSize Size of an anchored checkpoint.
     * @param proof Audit path, leaf end first.
     */
    function verifyAnchoredInclusion(
        bytes32 leafHash,
        uint64 leafIndex,
        uint64 treeSize,
        bytes32[] calldata proof
    ) external view returns (bool);
}
