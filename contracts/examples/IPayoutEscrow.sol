// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/**
 * @title IPayoutEscrow
 * @notice An example of an on-chain program that relies on the subsidy ledger: it holds ether for
 * a payout and pays it only once the payout record is included in a checkpoint anchored on
 * {LedgerAnchor}, and no correction of it has been shown during a challenge period.
 *
 * What a claim proves: the given bytes are the leaf at the given index of an anchored checkpoint,
 * so the record exists in the log exactly as given, and its top-level `kind`, `id` and
 * `body.amountFen` are the ones the contract read from those bytes. What it cannot prove: that
 * the payout was never corrected (clawed back, revoked) by a later `correction` entry. A Merkle
 * log proves inclusion, not absence. So the escrow waits `challengePeriod` seconds after a claim,
 * during which anyone may cancel the order with an anchored correction entry that targets the
 * payout. That guard is sound only if someone who watches the log challenges within the period;
 * see contracts/examples/README.md.
 */
interface IPayoutEscrow {
    /**
     * @notice Emitted when `value` wei are deposited for the payout record `payoutId`, to be paid
     * to `beneficiary` once the record, of `amountFen`, is anchored.
     */
    event PayoutFunded(bytes32 indexed payoutKey, string payoutId, address beneficiary, uint256 amountFen, uint256 value);

    /// @notice Emitted when the anchored payout for `payoutKey` is claimed; it is payable from `releasableAt`.
    event PayoutClaimed(bytes32 indexed payoutKey, uint64 releasableAt);

    /// @notice Emitted when the deposit for `payoutKey` is paid to `beneficiary`.
    event PayoutReleased(bytes32 indexed payoutKey, address beneficiary, uint256 value);

    /// @notice Emitted when the anchored correction with leaf hash `correction` cancels the order for
    /// `payoutKey`, and its `value` goes back to `funder`.
    event PayoutCancelled(bytes32 indexed payoutKey, bytes32 correction, address funder, uint256 value);

    /// @dev An order for this payout id (`payoutKey` = keccak256 of the id) already exists.
    error PayoutEscrowAlreadyFunded(bytes32 payoutKey);

    /// @dev A deposit needs a beneficiary, a non-zero amount in fen and a non-zero value.
    error PayoutEscrowInvalidOrder(address beneficiary, uint256 amountFen, uint256 value);

    /// @dev The entry is not the leaf at `leafIndex` of an anchored checkpoint of `treeSize` leaves.
    error PayoutEscrowNotAnchored(bytes32 leafHash, uint64 leafIndex, uint64 treeSize);

    /// @dev The anchored entry lacks a field the contract reads, or the field is not of the expected form.
    error PayoutEscrowMalformedEntry(bytes32 leafHash);

    /// @dev The anchored entry is not a payout record (its top-level `kind` is not "payout").
    error PayoutEscrowNotAPayout(bytes32 leafHash);

    /// @dev The anchored entry is not a correction record (its top-level `kind` is not "correction").
    error PayoutEscrowNotACorrection(bytes32 leafHash);

    /// @dev No order was funded for this payout id (`payoutKey` = keccak256 of the id).
    error PayoutEscrowNoOrder(bytes32 payoutKey);

    /// @dev The anchored payout's `body.amountFen` is `recorded`, but the order was for `ordered`.
    error PayoutEscrowAmountMismatch(uint256 ordered, uint256 recorded);

    /// @dev The order for `payoutKey` has already been claimed.
    error PayoutEscrowAlreadyClaimed(bytes32 payoutKey);

    /// @dev The order for `payoutKey` has not been claimed.
    error PayoutEscrowNotClaimed(bytes32 payoutKey);

    /// @dev The order for `payoutKey` is payable from `releasableAt`; it is `time` now.
    error PayoutEscrowChallengePeriod(bytes32 payoutKey, uint64 releasableAt, uint64 time);

    /// @dev The order for `payoutKey` has already been paid.
    error PayoutEscrowAlreadyReleased(bytes32 payoutKey);

    /// @dev The order for `payoutKey` was cancelled by a correction.
    error PayoutEscrowCancelled(bytes32 payoutKey);

    /// @dev Sending `value` wei to `to` failed.
    error PayoutEscrowTransferFailed(address to, uint256 value);

    /**
     * @notice Deposits `msg.value` wei for the payout record `payoutId` (for example
     * "pay_3d5f0fd838606f1f7c5b2a7c"), to be paid to `beneficiary` once that record, for exactly
     * `amountFen` fen, is anchored and the challenge period has passed.
     * @dev Reverts with {PayoutEscrowInvalidOrder} or {PayoutEscrowAlreadyFunded}. Emits {PayoutFunded}.
     */
    function fund(string calldata payoutId, uint256 amountFen, address payable beneficiary) external payable;

    /**
     * @notice Claims the order for the anchored payout record `entry`, starting its challenge period.
     * @dev Anyone may call. Checks, in order: that SHA-256(0x00 ‖ `entry`) is the leaf at
     * `leafIndex` of the anchored checkpoint of `treeSize` leaves ({PayoutEscrowNotAnchored}); that
     * the entry has the fields read ({PayoutEscrowMalformedEntry}); that it is a payout
     * ({PayoutEscrowNotAPayout}); that an order exists for its id ({PayoutEscrowNoOrder}), is not
     * cancelled ({PayoutEscrowCancelled}), released ({PayoutEscrowAlreadyReleased}) or claimed
     * ({PayoutEscrowAlreadyClaimed}), and is for its amount ({PayoutEscrowAmountMismatch}).
     * Emits {PayoutClaimed}.
     * @param entry The leaf data: the RFC 8785 canonical JSON of the public payout entry, as in a
     * receipt's `entry` or the log's tiles.
     * @param leafIndex Its index in the log.
     * @param treeSize The size of an anchored checkpoint that includes it.
     * @param proof The RFC 9162 inclusion proof of the leaf in that checkpoint.
     */
    function claim(bytes calldata entry, uint64 leafIndex, uint64 treeSize, bytes32[] calldata proof) external;

    /**
     * @notice Pays the claimed order for `payoutId` to its beneficiary, once its challenge period is over.
     * @dev Anyone may call; the money goes only to the order's beneficiary. Reverts with
     * {PayoutEscrowNoOrder}, {PayoutEscrowCancelled}, {PayoutEscrowAlreadyReleased},
     * {PayoutEscrowNotClaimed} or {PayoutEscrowChallengePeriod}. Emits {PayoutReleased}.
     */
    function release(string calldata payoutId) external;

    /**
     * @notice Cancels the order for a payout that an anchored correction entry targets, and returns
     * the deposit to its funder.
     * @dev Anyone may call, before the order is released. Checks that `entry` is anchored as for
     * {claim}, that it is a correction ({PayoutEscrowNotACorrection}) with a `body.targetId`
     * ({PayoutEscrowMalformedEntry}) naming an order ({PayoutEscrowNoOrder}) that is neither
     * released ({PayoutEscrowAlreadyReleased}) nor cancelled ({PayoutEscrowCancelled}). Any reason
     * code counts: a corrected payout waits for a person to look at it. Emits {PayoutCancelled}.
     */
    function challenge(bytes calldata entry, uint64 leafIndex, uint64 treeSize, bytes32[] calldata proof) external;

    /// @notice Seconds between a claim and the earliest release.
    function challengePeriod() external view returns (uint64);
}
