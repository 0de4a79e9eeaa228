/**
 * /metrics as the started service serves it: on its own address, behind its
 * token on the public port, or not at all; the settings that choose; and,
 * with the local anvil, the anchoring lag a scrape shows.
 */
import { expect } from "chai";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { loadConfig } from "../../service/config";
import { startService } from "../../service/main";
import { loadSettings } from "../../service/settings";
import { loadMetricsConfig, readMetricsToken } from "../../service/metrics/config";
import { loadChainConfig } from "../../service/chain";
import { ConfigError } from "../../service/config";
import { SecretFileError } from "../../service/secret-file";
import { recordProgramme } from "../helpers/service-http";
import { METRICS_TOKEN, sample } from "./helpers";
import { execFile } from "node:child_process";
import { readdir } from "node:fs/promises";
import { serviceBundle } from "../chain/service-process";

const silent = pino({ level: "silent" });

describe("the service's /metrics", function () {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "ledger-metrics-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const config = () => loadConfig({ PORT: "0", LEDGER_DATA_DIR: path.join(dir, "data"), LOG_LEVEL: "silent" });

  describe("on a separate address (LEDGER_METRICS_ADDRESS)", function () {
    it("is served there, and only there: the public port answers 404, the metrics port serves nothing else", async function () {
      const s = await startService(config(), silent, { chain: false, metrics: { token: undefined, address: { host: "127.0.0.1", port: 0 } } });
      try {
        expect(s.metricsUrl).to.match(/^http:\/\/127\.0\.0\.1:[0-9]+\/metrics$/);
        expect(s.metricsUrl).to.not.equal(`${s.url}/metrics`);
        const scrape = await fetch(s.metricsUrl!);
        expect(scrape.status).to.equal(200);
        const text = await scrape.text();
        expect(sample(text, "ledger_tree_size")).to.equal(0);
        // Without a chain there is no anchoring to report: no misleading zero lag.
        expect(text).to.not.contain("ledger_anchoring_lag");

        const pub = await fetch(`${s.url}/metrics`);
        expect(pub.status).to.equal(404);
        expect(pub.headers.get("content-type")).to.match(/^application\/problem\+json/);
        for (const p of ["/v1/health", "/", "/metrics/", "/tlog/checkpoint"]) {
          const other = await fetch(new URL(p, s.metricsUrl).toString());
          expect(other.status, p).to.equal(404);
          expect(other.headers.get("content-type"), p).to.match(/^application\/problem\+json/);
        }
      } finally {
        await s.close();
      }
    });

    it("requires the token there too when one is set", async function () {
      const s = await startService(config(), silent, { chain: false, metrics: { token: METRICS_TOKEN, address: { host: "127.0.0.1", port: 0 } } });
      try {
        const refused = await fetch(s.metricsUrl!);
        expect(refused.status).to.equal(401);
        expect(await refused.text()).to.not.contain("ledger_");
        expect((await fetch(s.metricsUrl!, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status).to.equal(200);
        expect((await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status).to.equal(404);
      } finally {
        await s.close();
      }
    });
  });

  describe("on the public port, behind LEDGER_METRICS_TOKEN", function () {
    it("counts the service's own requests and refuses a scrape without the token", async function () {
      const s = await startService(config(), silent, { chain: false, metrics: { token: METRICS_TOKEN, address: undefined } });
      try {
        expect(s.metricsUrl).to.equal(`${s.url}/metrics`);
        expect((await recordProgramme(s.url, s.firstAdminToken!)).status).to.equal(201);
        expect((await fetch(s.metricsUrl!)).status).to.equal(401);
        const text = await (await fetch(s.metricsUrl!, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
        expect(sample(text, "ledger_tree_size")).to.equal(1);
        expect(sample(text, "ledger_batch_entries_count")).to.equal(1);
        expect(sample(text, "ledger_http_requests_total", { method: "POST", route: "/v1/programmes", status: "201" })).to.equal(1);
      } finally {
        await s.close();
      }
    });
  });

  describe("with neither set", function () {
    it("is not served: 404, and the service reports no metrics URL", async function () {
      const s = await startService(config(), silent, { chain: false });
      try {
        expect(s.metricsUrl).to.equal(undefined);
        expect((await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status).to.equal(404);
      } finally {
        await s.close();
      }
    });
  });

  describe("settings", function () {
    it("are known to the settings check, and read an address and a token", function () {
      const s = loadSettings({ LEDGER_METRICS_TOKEN: METRICS_TOKEN, LEDGER_METRICS_ADDRESS: "[::1]:9464" });
      expect(s.metrics).to.deep.equal({ token: METRICS_TOKEN, tokenFile: undefined, address: { host: "::1", port: 9464 } });
      expect(loadMetricsConfig({ LEDGER_METRICS_ADDRESS: "0.0.0.0:9464" }).address).to.deep.equal({ host: "0.0.0.0", port: 9464 });
      expect(loadMetricsConfig({})).to.deep.equal({ token: undefined, tokenFile: undefined, address: undefined });
    });

    it("refuse a short or spaced token, a bad address, and a token given twice", function () {
      for (const env of [
        { LEDGER_METRICS_TOKEN: "short" },
        { LEDGER_METRICS_TOKEN: `${"a".repeat(20)} ${"b".repeat(20)}` },
        { LEDGER_METRICS_ADDRESS: "9464" },
        { LEDGER_METRICS_ADDRESS: "localhost:99999" },
        { LEDGER_METRICS_ADDRESS: "http://localhost:9464" },
        { LEDGER_METRICS_TOKEN: METRICS_TOKEN, LEDGER_METRICS_TOKEN_FILE: "/tmp/t" },
      ])
        expect(() => loadSettings(env), JSON.stringify(env)).to.throw(ConfigError, /LEDGER_METRICS_/);
    });

    it("read the token file only when private to its owner and holding a valid token", async function () {
      const file = path.join(dir, "metrics.token");
      await writeFile(file, `${METRICS_TOKEN}\n`, { mode: 0o600 });
      expect(await readMetricsToken(loadMetricsConfig({ LEDGER_METRICS_TOKEN_FILE: file }))).to.equal(METRICS_TOKEN);
      await chmod(file, 0o644);
      await expectRejected(readMetricsToken(loadMetricsConfig({ LEDGER_METRICS_TOKEN_FILE: file })), /accessible to others/);
      await writeFile(path.join(dir, "short.token"), "short", { mode: 0o600 });
      await expectRejected(readMetricsToken(loadMetricsConfig({ LEDGER_METRICS_TOKEN_FILE: path.join(dir, "short.token") })), /at least 32/);
      await expectRejected(readMetricsToken(loadMetricsConfig({ LEDGER_METRICS_TOKEN_FILE: path.join(dir, "missing") })), /does not exist/);
    });
  });

  describe("the service process", function () {
    it("stops with one line and exit 2, binding and creating nothing, when the metrics token file is readable by others", async function () {
      this.timeout(60_000);
      const file = path.join(dir, "metrics.token");
      await writeFile(file, METRICS_TOKEN, { mode: 0o644 });
      await chmod(file, 0o644);
      const dataDir = path.join(dir, "data");
      const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        void serviceBundle().then((bundle) =>
          execFile(
            process.execPath,
            [bundle],
            { cwd: dir, env: { PATH: process.env.PATH ?? "", HOME: dir, PORT: "0", LEDGER_DATA_DIR: dataDir, LEDGER_CHAIN: "off", LEDGER_METRICS_TOKEN_FILE: file }, timeout: 30_000 },
            (e, _out, err) => resolve({ code: e === null ? 0 : typeof e.code === "number" ? e.code : null, stderr: err }),
          ),
        );
      });
      expect(code).to.equal(2);
      expect(stderr).to.match(/^subsidy-ledger: metrics token file [^\n]+ is accessible to others[^\n]*\n$/);
      expect(await readdir(dir)).to.deep.equal(["metrics.token"]);
    });
  });

  describe("with the local anvil", function () {
    it("shows the anchoring lag after a write, and 0 once the entry is anchored", async function () {
      this.timeout(120_000);
      // Anchoring waits 4 s for more entries (a hundred would send at once), so the lag is visible first.
      const env = { PORT: "0", LEDGER_DATA_DIR: path.join(dir, "data"), LOG_LEVEL: "silent", LEDGER_ANCHOR_EVERY_MS: "4000", LEDGER_ANCHOR_EVERY_ENTRIES: "100" };
      const c = loadConfig(env);
      const s = await startService(c, silent, { chain: loadChainConfig(env, c.dataDir), metrics: { token: undefined, address: { host: "127.0.0.1", port: 0 } } });
      try {
        const scrape = async () => (await fetch(s.metricsUrl!)).text();
        expect((await recordProgramme(s.url, s.firstAdminToken!)).status).to.equal(201);
        const before = await scrape();
        expect(sample(before, "ledger_tree_size")).to.equal(1);
        expect(sample(before, "ledger_anchoring_lag_entries")).to.equal(1);
        expect(sample(before, "ledger_anchored_size")).to.equal(0);
        expect(sample(before, "ledger_checkpoint_age_seconds")).to.be.NaN;
        let after = before;
        for (let i = 0; i < 120 && sample(after, "ledger_anchoring_lag_entries") !== 0; i++) {
          await new Promise((r) => setTimeout(r, 250));
          after = await scrape();
        }
        expect(sample(after, "ledger_anchoring_lag_entries")).to.equal(0);
        expect(sample(after, "ledger_anchoring_lag_seconds")).to.equal(0);
        expect(sample(after, "ledger_anchored_size")).to.equal(1);
        expect(sample(after, "ledger_checkpoint_size")).to.equal(1);
        expect(sample(after, "ledger_checkpoint_age_seconds")).to.be.at.least(0).and.below(60);
        expect(sample(after, "ledger_anchoring_fatal")).to.equal(0);
      } finally {
        await s.close();
      }
    });
  });
});

async function expectRejected(p: Promise<unknown>, message: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(SecretFileError);
    expect((e as Error).message).to.match(message);
    return;
  }
  expect.fail("expected a rejection");
}
