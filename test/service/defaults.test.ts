/**
 * Defaults that more than one module applies are defined once, in the config
 * modules, and are the values the module READMEs document.
 */
import { expect } from "chai";
import { hostname } from "node:os";
import { ANCHOR_DEFAULTS, loadChainConfig } from "../../service/chain/config";
import { loadLeaderConfig } from "../../service/leader/config";

describe("defaults defined once", function () {
  it("the anchor settings default to ANCHOR_DEFAULTS, as service/chain/README.md documents them", function () {
    const c = loadChainConfig({}, "/srv/ledger");
    expect({ maxInFlight: c.maxInFlight, pollMs: c.pollMs, confirmations: c.confirmations, replaceAfterMs: c.replaceAfterMs }).to.deep.equal(ANCHOR_DEFAULTS);
    expect(ANCHOR_DEFAULTS).to.deep.equal({ maxInFlight: 8, pollMs: 250, confirmations: 1, replaceAfterMs: 60_000 });
  });

  it("leadership defaults to a 5 s lease and a <host>-<pid>-<random> replica id, as service/leader/README.md documents", function () {
    const a = loadLeaderConfig({});
    expect(a.leaseMs).to.equal(5000);
    expect(a.replicaId.startsWith(`${hostname()}-${process.pid}-`)).to.equal(true);
    expect(a.replicaId).to.match(/-[0-9a-f]{6}$/);
    expect(loadLeaderConfig({}).replicaId).to.not.equal(a.replicaId);
  });
});
