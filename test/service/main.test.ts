import { expect } from "chai";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { loadConfig, ConfigError } from "../../service/config";
import { startService } from "../../service/main";
import { StoreLockedError } from "../../service/store/store";
import { verifyCheckpoint, parseVerifierKey } from "../../service/log";

const silent = pino({ level: "silent" });

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
  });

  describe("startService", () => {
    it("creates a 0600 log key and a first admin token once, keeps entries across restarts, and refuses a second process", async () => {
      const config = loadConfig({ PORT: "0", LEDGER_DATA_DIR: dir, LOG_LEVEL: "silent" });
      const first = await startService(config, silent);
      let second;
      try {
        expect(first.firstAdminToken).to.match(/^sl_/);
        expect((await stat(config.logKeyFile)).mode & 0o777).to.equal(0o600);
        const res = await fetch(`${first.url}/v1/programmes`, {
          method: "POST",
          headers: { authorization: `Bearer ${first.firstAdminToken}`, "idempotency-key": "p1", "content-type": "application/json" },
          body: JSON.stringify({
            code: "P1",
            name: "Programme",
            agency: "Agency",
            budgetFen: "100",
            currency: "CNY",
            policyDocument: { sha256: "a".repeat(64), url: "https://example.gov.cn/p.pdf" },
            opensOn: "2020-01-01",
            closesOn: "2099-12-31",
            fourEyesThresholdFen: "50",
          }),
        });
        expect(res.status).to.equal(201);
        const note = await (await fetch(`${first.url}/v1/log/checkpoint`)).text();
        expect(verifyCheckpoint(note, parseVerifierKey(first.verifierKey), config.origin).size).to.equal(1);
        let locked: unknown;
        try {
          second = await startService(config, silent);
        } catch (e) {
          locked = e;
        }
        expect(locked).to.be.instanceOf(StoreLockedError);
      } finally {
        await first.close();
      }
      const again = await startService(config, silent);
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
});
