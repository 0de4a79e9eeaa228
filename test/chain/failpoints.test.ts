/**
 * Failpoints (service/chain/failpoints.ts): LEDGER_FAILPOINTS is parsed and
 * validated with the other chain settings, is inert when unset, and the
 * anchorer reaches each named point exactly where its documentation says,
 * once per anchor. (The crash itself, a real SIGKILL, is in crash.test.ts.)
 * Also the race the anchoring benchmark found between those steps: a
 * transaction mined between the anchorer's receipt read and its nonce read.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { ConfigError } from "../../service/config";
import { ANCHORER_FAILPOINTS, type AnchorerFailpoint } from "../../service/chain/anchorer";
import { loadChainConfig } from "../../service/chain/config";
import { crashingFailpoint, parseFailpoints } from "../../service/chain/failpoints";
import { MemoryAnchorStateStore } from "../../service/chain/state";
import { createAnchorerWorld, createLogWorld, deployed, within } from "./helpers";

describe("failpoints", function () {
  describe("LEDGER_FAILPOINTS", function () {
    it("is empty, and the hook absent, when unset or blank", function () {
      expect(loadChainConfig({}, "/srv/ledger").failpoints.size).to.equal(0);
      expect(parseFailpoints("  ").failpoints.size).to.equal(0);
      expect(crashingFailpoint(new Map())).to.equal(undefined);
    });

    it("reads names with an optional hit number", function () {
      const c = loadChainConfig({ LEDGER_FAILPOINTS: "anchor.before-send, anchor.after-receipt@3" }, "/srv/ledger");
      expect([...c.failpoints]).to.deep.equal([
        ["anchor.before-send", 1],
        ["anchor.after-receipt", 3],
      ]);
    });

    for (const bad of ["anchor.before-sned", "anchor.after-send@0", "anchor.after-send@x", "anchor.after-send@", "anchor.after-send,,"]) {
      it(`refuses ${JSON.stringify(bad)} with a ConfigError naming the variable on one line`, function () {
        let error: unknown;
        try {
          loadChainConfig({ LEDGER_FAILPOINTS: bad }, "/srv/ledger");
        } catch (e) {
          error = e;
        }
        expect(error).to.be.instanceOf(ConfigError);
        expect((error as Error).message).to.include("LEDGER_FAILPOINTS").and.not.include("\n");
      });
    }

    it("the hook ignores points it was not given", function () {
      const hook = crashingFailpoint(new Map([["anchor.after-receipt", 2]]));
      expect(hook).to.be.a("function");
      // Neither an unselected point nor the first hit of the selected one kills the process (this test would not finish).
      hook!("anchor.before-send");
      hook!("anchor.after-receipt");
    });
  });

  describe("the anchorer", function () {

    it("reaches before-send, after-send and after-receipt in that order, once per anchor, where documented", async function () {
      const fx = await loadFixture(deployed);
      const log = await createLogWorld();
      const w = createAnchorerWorld(log, network.provider, fx.address, fx.chainId);
      const store = new MemoryAnchorStateStore();
      const seen: { name: AnchorerFailpoint; pending: number | null; anchored: number | null; sent: number }[] = [];
      const failpoint = (name: AnchorerFailpoint) => {
        const s = store.peek();
        seen.push({ name, pending: s?.pending?.size ?? null, anchored: s?.anchored?.size ?? null, sent: w.transport.count("eth_sendRawTransaction") });
      };
      try {
        const a = w.start(store, { everyEntries: 5, everyMs: 3_600_000, failpoint });
        await log.add(5);
        await within(a.whenAnchored(5));
        await log.add(5);
        await within(a.whenAnchored(10));
      } finally {
        await w.stopAll();
      }
      expect(seen).to.deep.equal([
        // Durable pending, nothing broadcast yet.
        { name: "anchor.before-send", pending: 5, anchored: null, sent: 0 },
        { name: "anchor.after-send", pending: 5, anchored: null, sent: 1 },
        // Receipt seen, `anchored` not written yet.
        { name: "anchor.after-receipt", pending: 5, anchored: null, sent: 1 },
        { name: "anchor.before-send", pending: 10, anchored: 5, sent: 1 },
        { name: "anchor.after-send", pending: 10, anchored: 5, sent: 2 },
        { name: "anchor.after-receipt", pending: 10, anchored: 5, sent: 2 },
      ]);
      expect(new Set(seen.map((s) => s.name))).to.deep.equal(new Set(ANCHORER_FAILPOINTS));
    });

    describe("when its transaction is mined between the receipt read and the nonce read", function () {
      afterEach(async function () {
        await network.provider.request({ method: "evm_setAutomine", params: [true] });
      });

      it("finds the receipt on a second look instead of reporting the nonce as taken", async function () {
        const fx = await loadFixture(deployed);
        const log = await createLogWorld();
        const w = createAnchorerWorld(log, network.provider, fx.address, fx.chainId);
        await network.provider.request({ method: "evm_setAutomine", params: [false] });
        let sent = false;
        let mined = false;
        w.transport.after = (method) => {
          if (method === "eth_sendRawTransaction") sent = true;
        };
        // The first nonce read after the send: the node mines the transaction just before answering.
        w.transport.before = async (method, params) => {
          if (sent && !mined && method === "eth_getTransactionCount" && params[1] === "latest") {
            mined = true;
            await network.provider.request({ method: "evm_mine", params: [] });
          }
        };
        try {
          const a = w.start(new MemoryAnchorStateStore(), { everyEntries: 3, everyMs: 3_600_000 });
          await log.add(3);
          expect((await within(a.whenAnchored(3))).size).to.equal(3);
          expect(mined, "the race was staged").to.equal(true);
          expect((await a.status()).lastError).to.equal(null);
          expect(w.lines.filter((l) => l.includes("anchoring failed"))).to.deep.equal([]);
        } finally {
          await w.stopAll();
        }
      });
    });
  });
});
