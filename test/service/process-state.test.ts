/**
 * Every test file runs in one mocha process, so a test that changes
 * process-wide state changes it for every test after it. The umask is one
 * such state: a suite that sets it (as main does) and does not restore it
 * makes later tests create files with other modes. This root-level hook runs
 * after the whole run and fails it if the umask it started with was changed.
 */
import { expect } from "chai";

function currentUmask(): number {
  const mask = process.umask(0o022);
  process.umask(mask);
  return mask;
}

const atStart = currentUmask();

after("no test leaves the process's umask changed", function () {
  expect(currentUmask().toString(8), "the umask after every test").to.equal(atStart.toString(8));
});

describe("the test process", function () {
  it("reads its umask without changing it", function () {
    const before = currentUmask();
    expect(currentUmask()).to.equal(before);
  });
});
