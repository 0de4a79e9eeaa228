// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {LedgerAnchor} from "../LedgerAnchor.sol";

/**
 * @title LedgerAnchorHarness
 * @notice Test-only {LedgerAnchor} whose clock the test sets, so checkpoint timestamps are exact.
 * Never deploy it: anyone can set the time.
 */
contract LedgerAnchorHarness is LedgerAnchor {
    uint64 private _now;

    constructor(uint48 initialDelay, address initialAdmin) LedgerAnchor(initialDelay, initialAdmin) {}

    /// @notice Makes {_time} return `time` from now on.
    function setTime(uint64 time) external {
        _now = time;
    }

    function _time() internal view override returns (uint64) {
        return _now;
    }
}
