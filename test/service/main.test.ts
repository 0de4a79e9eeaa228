import { expect } from "chai";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { loadConfig, ConfigError } from "../../service/config";
import { startService, type RunningService } from "../../service/main";
import { StoreLockedError } from "../../service/store/store";
import { verifyCheckpoint, verifyReceipt, parseVerifierKey, toHex } from "../../service/log";
import { loadChainConfig } from "../../service/chain";
import { recordProgramme } from "../helpers/service-http";

const silent = pino({ level: "silent" });

/** Records a programme through the running service's API. */

describe("the service entry point", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "ledger-main-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe("configuration", () => {
    it("defaults to port 8080 and ./data", () => {
      const c = loadConfig({});
      expect(c.port).to.equal(8080);
      expect(c.dataDir).to.equal(path.resolve("./data"));
    });

    it("names every bad variable in one ConfigError", () => {
      expect(() => loadConfig({ PORT: "eighty", LEDGER_RATE_ADMIN_PER_MINUTE: "-1" }))
        .to.throw(ConfigError)
        .with.property("message")
        .that.matches(/PORT.*LEDGER_RATE_ADMIN_PER_MINUTE/);
    });

    it("takes a public RPC URL for the portal only if it is http(s)", () => {
      expect(loadConfig({}).publicRpcUrl).to.equal(undefined);
      expect(loadConfig({ LEDGER_PUBLIC_RPC_URL: "https://rpc.example.gov.cn/" }).publicRpcUrl).to.equal("https://rpc.example.gov.cn/");
      expect(() => loadConfig({ LEDGER_PUBLIC_RPC_URL: "javascript:alert(1)" })).to.throw(ConfigError, /LEDGER_PUBLIC_RPC_URL/);
    });

    it("trusts no proxy by default, and reads a hop count or a list of proxies", () => {
      expect(loadConfig({}).trustProxy).to.equal(false);
      expect(loadConfig({ LEDGER_TRUST_PROXY: "2" }).trustProxy).to.equal(2);
      expect(loadConfig({ LEDGER_TRUST_PROXY: "loopback, 10.0.0.0/8" }).trustProxy).to.equal("loopback, 10.0.0.0/8");
      for (const bad of ["true", "0", "10.0.0.1; rm -rf"])
        expect(() => loadConfig({ LEDGER_TRUST_PROXY: bad }), bad).to.throw(ConfigError, /LEDGER_TRUST_PROXY/);
    });
  });

  describe("startService", () => {
    it("creates a 0600 log key and a first admin token once, keeps entries across restarts, and refuses a second process", async () => {
      const config = loadConfig({ PORT: "0", LEDGER_DATA_DIR: dir, LOG_LEVEL: "silent" });
      const first = await startService(config, silent, { chain: false });
      let second;
      try {
        expect(first.firstAdminToken).to.match(/^sl_/);
        expect((await stat(config.logKeyFile)).mode & 0o777).to.equal(0o600);
        expect((await stat(config.accessCodeKeyFile)).mode & 0o777).to.equal(0o600);
        const res = await recordProgramme(first.url, first.firstAdminToken!);
        expect(res.status).to.equal(201);
        const note = await (await fetch(`${first.url}/v1/log/checkpoint`)).text();
        expect(verifyCheckpoint(note, parseVerifierKey(first.verifierKey), config.origin).size).to.equal(1);
        let locked: unknown;
        try {
          second = await startService(config, silent, { chain: false });
        } catch (e) {
          locked = e;
        }
        expect(locked).to.be.instanceOf(StoreLockedError);
      } finally {
        await first.close();
      }
      const again = await startService(config, silent, { chain: false });
      try {
        expect(again.firstAdminToken).to.equal(undefined);
        expect(again.ledger.size).to.equal(1);
        expect(again.verifierKey).to.equal(first.verifierKey);
      } finally {
        await again.close();
        await second?.close();
      }
    });
  });

  describe("with the default chain: a local anvil under the data directory", () => {
    it("deploys the contract once, anchors what is recorded, and keeps contract and anchors across a restart", async function () {
      this.timeout(120_000);
      const env = { PORT: "0", LEDGER_DATA_DIR: dir, LOG_LEVEL: "silent", LEDGER_ANCHOR_EVERY_MS: "200" };
      const config = loadConfig(env);
      const chainConfig = loadChainConfig(env, config.dataDir);
      const waitAnchored = async (url: string, size: number) => {
        for (let i = 0; i < 200; i++) {
          const h = (await (await fetch(`${url}/v1/health`)).json()) as { anchoring: { anchoredSize: number } };
          if (h.anchoring.anchoredSize >= size) return h;
          await new Promise((r) => setTimeout(r, 250));
        }
        throw new Error(`not anchored to ${size}`);
      };
      /** Offline against the published key, then the one contract read. */
      const checkReceipt = async (url: string, client: NonNullable<RunningService["chain"]>["client"], r: unknown) => {
        const key = parseVerifierKey((await (await fetch(`${url}/v1/log/key`)).text()).trim());
        const { chainClaim } = verifyReceipt(r, { verifiers: key });
        expect(chainClaim.contract).to.equal(client.address);
        const onChain = await client.checkpointAt(chainClaim.checkpointIndex);
        expect({ size: Number(onChain.treeSize), root: onChain.rootHex }).to.deep.equal({ size: chainClaim.size, root: chainClaim.rootHex });
      };
      let receipt: unknown;
      const first = await startService(config, silent, { chain: chainConfig });
      let contract: string;
      try {
        expect(first.chain?.local, "a local chain was started").to.not.equal(undefined);
        contract = first.chain!.client.address;
        const res = await recordProgramme(first.url, first.firstAdminToken!);
        expect(res.status).to.equal(201);
        const health = await waitAnchored(first.url, 1);
        expect(health).to.have.property("ok", true);
        expect(await first.chain!.client.isAnchored(1, "0x" + toHex(first.ledger.root()))).to.equal(true);
        receipt = await (await fetch(`${first.url}/v1/entries/${((await res.json()) as { id: string }).id}/receipt`)).json();
        await checkReceipt(first.url, first.chain!.client, receipt);
      } finally {
        await first.close();
      }
      const again = await startService(config, silent, { chain: chainConfig });
      try {
        expect(again.chain!.client.address).to.equal(contract);
        expect(await again.chain!.client.isAnchored(1, "0x" + toHex(again.ledger.root()))).to.equal(true);
        // The receipt issued before the restart still verifies against the key and the chain.
        await checkReceipt(again.url, again.chain!.client, receipt);
      } finally {
        await again.close();
      }
    });
  });
});
