/** The /tlog/ settings: its own rate limit and the static copy's directory, validated with the rest. */
import { expect } from "chai";
import path from "node:path";
import { ConfigError, loadConfig } from "../../service/config";
import { loadSettings } from "../../service/settings";

describe("the /tlog/ settings", function () {
  it("default to 6000 tile requests a minute and no static copy", function () {
    const c = loadConfig({});
    expect(c.rateLimit.tlogPerMinute).to.equal(6000);
    expect(c.tlogDir).to.equal(undefined);
  });

  it("read LEDGER_RATE_TLOG_PER_MINUTE and an absolute LEDGER_TLOG_DIR", function () {
    const c = loadSettings({ LEDGER_RATE_TLOG_PER_MINUTE: "50", LEDGER_TLOG_DIR: "pub" }).config;
    expect(c.rateLimit.tlogPerMinute).to.equal(50);
    expect(c.tlogDir).to.equal(path.resolve("pub"));
  });

  it("refuse a rate that is not a positive integer, and an empty directory", function () {
    expect(() => loadSettings({ LEDGER_RATE_TLOG_PER_MINUTE: "0" })).to.throw(ConfigError, /LEDGER_RATE_TLOG_PER_MINUTE/);
    expect(() => loadSettings({ LEDGER_TLOG_DIR: "" })).to.throw(ConfigError, /LEDGER_TLOG_DIR/);
  });
});
