// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ILedgerAnchor} from "../ILedgerAnchor.sol";
import {IPayoutEscrow} from "./IPayoutEscrow.sol";

/**
 * @title PayoutEscrow
 * @notice Holds ether for subsidy payouts and pays each deposit only when its payout record is
 * included in a checkpoint anchored on {LedgerAnchor} and no correction of it was shown during the
 * challenge period. An example, kept small: see {IPayoutEscrow} for what it does and does not
 * prove, and contracts/examples/README.md.
 *
 * The contract reads four fields of entries itself, from the very bytes whose hash it checked:
 * the top-level `kind` and `id` strings, a payout's `body.amountFen` (a string of decimal digits)
 * and a correction's `body.targetId`. The entries are RFC 8785 canonical JSON without whitespace,
 * written by the ledger's encoder; the reader below walks the bytes once, tracking string and
 * nesting state, so a field name inside a string value or in a nested object is never taken for
 * the field sought. It does not validate the whole JSON text: it trusts the log's encoding for
 * that, which the auditor (`npm run verify`) checks by re-encoding every entry. It takes the first
 * occurrence of a field; canonical JSON has no duplicate names.
 */
contract PayoutEscrow is IPayoutEscrow {
    /// @dev The anchoring contract whose checkpoints entries must be included in.
    ILedgerAnchor private immutable _ledger;

    /// @dev Seconds between a claim and the earliest release.
    uint64 private immutable _challengePeriod;

    /// @dev An order for one payout record; `beneficiary` is zero when there is none, and
    /// `releasableAt` zero until it is claimed.
    struct Order {
        address payable beneficiary;
        uint64 releasableAt;
        bool released;
        bool cancelled;
        address payable funder;
        uint256 amountFen;
        uint256 value;
    }

    /// @dev Orders by keccak256 of the payout record's id.
    mapping(bytes32 payoutKey => Order order) private _orders;

    /**
     * @param ledger The {LedgerAnchor} of the ledger whose payouts this escrow pays.
     * @param challengePeriod_ Seconds a claimed payout waits for a challenge before it can be paid:
     * longer than the ledger's anchoring delay plus the time a watcher needs to react.
     */
    constructor(ILedgerAnchor ledger, uint64 challengePeriod_) {
        _ledger = ledger;
        _challengePeriod = challengePeriod_;
    }

    /// @inheritdoc IPayoutEscrow
    function fund(string calldata payoutId, uint256 amountFen, address payable beneficiary) external payable {
        if (beneficiary == address(0) || amountFen == 0 || msg.value == 0) {
            revert PayoutEscrowInvalidOrder(beneficiary, amountFen, msg.value);
        }
        bytes32 key = keccak256(bytes(payoutId));
        if (_orders[key].beneficiary != address(0)) revert PayoutEscrowAlreadyFunded(key);
        _orders[key] = Order({
            beneficiary: beneficiary,
            releasableAt: 0,
            released: false,
            cancelled: false,
            funder: payable(msg.sender),
            amountFen: amountFen,
            value: msg.value
        });
        emit PayoutFunded(key, payoutId, beneficiary, amountFen, msg.value);
    }

    /// @inheritdoc IPayoutEscrow
    function claim(bytes calldata entry, uint64 leafIndex, uint64 treeSize, bytes32[] calldata proof) external {
        bytes32 leafHash = _requireAnchored(entry, leafIndex, treeSize, proof);
        if (!_kindIs(entry, leafHash, "payout")) revert PayoutEscrowNotAPayout(leafHash);
        bytes32 key = keccak256(_field(entry, leafHash, "", "id"));
        (bool isNumber, uint256 recorded) = _decimal(_field(entry, leafHash, "body", "amountFen"));
        if (!isNumber) revert PayoutEscrowMalformedEntry(leafHash);
        Order storage order = _openOrder(key);
        if (order.releasableAt != 0) revert PayoutEscrowAlreadyClaimed(key);
        if (order.amountFen != recorded) revert PayoutEscrowAmountMismatch(order.amountFen, recorded);
        uint64 releasableAt = _time() + _challengePeriod;
        order.releasableAt = releasableAt;
        emit PayoutClaimed(key, releasableAt);
    }

    /// @inheritdoc IPayoutEscrow
    function release(string calldata payoutId) external {
        bytes32 key = keccak256(bytes(payoutId));
        Order storage order = _openOrder(key);
        uint64 releasableAt = order.releasableAt;
        if (releasableAt == 0) revert PayoutEscrowNotClaimed(key);
        uint64 time = _time();
        if (time < releasableAt) revert PayoutEscrowChallengePeriod(key, releasableAt, time);
        order.released = true;
        address payable beneficiary = order.beneficiary;
        uint256 value = order.value;
        emit PayoutReleased(key, beneficiary, value);
        _send(beneficiary, value);
    }

    /// @inheritdoc IPayoutEscrow
    function challenge(bytes calldata entry, uint64 leafIndex, uint64 treeSize, bytes32[] calldata proof) external {
        bytes32 leafHash = _requireAnchored(entry, leafIndex, treeSize, proof);
        if (!_kindIs(entry, leafHash, "correction")) revert PayoutEscrowNotACorrection(leafHash);
        bytes32 key = keccak256(_field(entry, leafHash, "body", "targetId"));
        Order storage order = _openOrder(key);
        order.cancelled = true;
        address payable funder = order.funder;
        uint256 value = order.value;
        emit PayoutCancelled(key, leafHash, funder, value);
        _send(funder, value);
    }

    /// @inheritdoc IPayoutEscrow
    function challengePeriod() external view returns (uint64) {
        return _challengePeriod;
    }

    /**
     * @dev The time claims and releases are measured in. A harness may override it.
     * The cast cannot truncate before the year 584,942,417,355: block time is in seconds.
     */
    function _time() internal view virtual returns (uint64) {
        return uint64(block.timestamp);
    }

    /// @dev The leaf hash of `entry`; reverts unless it is the leaf at `leafIndex` of the anchored
    /// checkpoint of `treeSize` leaves.
    function _requireAnchored(
        bytes calldata entry,
        uint64 leafIndex,
        uint64 treeSize,
        bytes32[] calldata proof
    ) private view returns (bytes32 leafHash) {
        leafHash = sha256(abi.encodePacked(bytes1(0x00), entry));
        if (!_ledger.verifyAnchoredInclusion(leafHash, leafIndex, treeSize, proof)) {
            revert PayoutEscrowNotAnchored(leafHash, leafIndex, treeSize);
        }
    }

    /// @dev The order for `key`, which must exist and be neither cancelled nor released.
    function _openOrder(bytes32 key) private view returns (Order storage order) {
        order = _orders[key];
        if (order.beneficiary == address(0)) revert PayoutEscrowNoOrder(key);
        if (order.cancelled) revert PayoutEscrowCancelled(key);
        if (order.released) revert PayoutEscrowAlreadyReleased(key);
    }

    /// @dev Whether the top-level `kind` of `entry` is `kind`; reverts when it has none.
    function _kindIs(bytes calldata entry, bytes32 leafHash, bytes memory kind) private pure returns (bool) {
        return keccak256(_field(entry, leafHash, "", "kind")) == keccak256(kind);
    }

    /// @dev The string value of field `name` (of the top-level field `parent`'s object, if
    /// `parent` is not empty), escapes left as they are; reverts when missing.
    function _field(
        bytes calldata entry,
        bytes32 leafHash,
        bytes memory parent,
        bytes memory name
    ) private pure returns (bytes calldata) {
        (bool found, uint256 start, uint256 end) = _stringField(entry, parent, name);
        if (!found) revert PayoutEscrowMalformedEntry(leafHash);
        return entry[start:end];
    }

    /// @dev Sends `value` wei to `to`. Callers finish their state changes first, so a re-entering
    /// recipient finds the order released or cancelled.
    function _send(address payable to, uint256 value) private {
        (bool sent, ) = to.call{value: value}("");
        if (!sent) revert PayoutEscrowTransferFailed(to, value);
    }

    /**
     * @dev Where the string value of field `name` lies in `json` (from after its opening quote to
     * its closing quote, escapes left as they are): a field of the top-level object when `parent`
     * is empty, else of the object that is the value of the top-level field `parent`. Requires
     * `json` to be JSON without whitespace between tokens (RFC 8785 output) and returns false when
     * `json` is not an object, the field is missing, or its value is not a string.
     */
    function _stringField(
        bytes calldata json,
        bytes memory parent,
        bytes memory name
    ) private pure returns (bool found, uint256 start, uint256 end) {
        uint256 n = json.length;
        if (n == 0 || json[0] != "{") return (false, 0, 0);
        // The object whose fields are searched: depth 1 is the top level, depth 2 inside `parent`.
        uint256 target = parent.length == 0 ? 1 : 2;
        bool inParent = false;
        uint256 depth = 0;
        for (uint256 i = 0; i < n; ++i) {
            bytes1 c = json[i];
            if (c == "{" || c == "[") {
                ++depth;
            } else if (c == "}" || c == "]") {
                if (depth == 0) return (false, 0, 0);
                if (depth == 2) inParent = false;
                --depth;
            } else if (c == '"') {
                // A string right after "{" or "," is a field name (no whitespace in canonical
                // JSON), in an object: the top level and `parent` are objects, checked on entry.
                bool isName = i > 0 && (json[i - 1] == "{" || json[i - 1] == ",");
                if (isName && depth == 1 && target == 2) {
                    inParent = _startsWith(json, i + 1, parent, '":{');
                } else if (isName && depth == target && (target == 1 || inParent) && _startsWith(json, i + 1, name, '":"')) {
                    start = i + 1 + name.length + 3;
                    end = _stringEnd(json, start);
                    return (end < n, start, end);
                }
                i = _stringEnd(json, i + 1);
            }
        }
        return (false, 0, 0);
    }

    /// @dev Whether `json` holds `word` then `suffix` (3 bytes) from `at`.
    function _startsWith(bytes calldata json, uint256 at, bytes memory word, bytes3 suffix) private pure returns (bool) {
        uint256 wordEnd = at + word.length;
        if (wordEnd + 3 > json.length) return false;
        return keccak256(json[at:wordEnd]) == keccak256(word) && bytes3(json[wordEnd:wordEnd + 3]) == suffix;
    }

    /// @dev Index of the quote that closes the string whose contents start at `from`, skipping
    /// backslash escapes; `json.length` when it is not closed.
    function _stringEnd(bytes calldata json, uint256 from) private pure returns (uint256 i) {
        uint256 n = json.length;
        for (i = from; i < n; ++i) {
            bytes1 c = json[i];
            if (c == "\\") ++i;
            else if (c == '"') return i;
        }
        return n;
    }

    /// @dev The value of a string of 1 to 20 decimal digits; false for anything else.
    function _decimal(bytes calldata digits) private pure returns (bool ok, uint256 value) {
        if (digits.length == 0 || digits.length > 20) return (false, 0);
        for (uint256 i = 0; i < digits.length; ++i) {
            uint8 d = uint8(digits[i]);
            if (d < 0x30 || d > 0x39) return (false, 0);
            value = value * 10 + (d - 0x30);
        }
        return (true, value);
    }
}
