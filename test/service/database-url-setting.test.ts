/**
 * A LEDGER_DATABASE_URL that is refused names the forms that are taken, so an
 * operator who wrote a libpq-style socket URL (an empty host, which a WHATWG
 * URL cannot hold) learns the one-line fix from the error alone.
 */
import { expect } from "chai";
import { ConfigError } from "../../service/config";
import { loadSettings } from "../../service/settings";

function refusal(url: string): string {
  try {
    loadSettings({ LEDGER_DATABASE_URL: url });
  } catch (e) {
    expect(e).to.be.instanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error(`${url} was accepted`);
}

describe("LEDGER_DATABASE_URL refused", function () {
  describe("when it names a Unix socket with an empty host (postgres://USER@/DATABASE?host=DIR)", function () {
    it("says which socket form is taken, and that form is accepted", function () {
      const message = refusal("postgres://postgres@/ledger?host=/tmp/sock");
      expect(message).to.include("LEDGER_DATABASE_URL").and.include("postgres://USER@localhost:PORT/DATABASE?host=/run/postgresql");
      expect(() => loadSettings({ LEDGER_DATABASE_URL: "postgres://postgres@localhost:55431/ledger?host=/tmp/sock", LEDGER_CHAIN: "off" })).to.not.throw();
    });
  });

  describe("when it holds a password", function () {
    it("still never repeats it", function () {
      expect(refusal("postgres://ledger:hunter2@/ledger?host=/tmp/sock")).to.not.include("hunter2");
    });
  });
});
