/**
 * LEDGER_DATABASE_URL selects the PostgreSQL store in the service: the
 * setting is validated without echoing it, the service records into the
 * database (not LevelDB) and keeps its entries across a restart, a second
 * service process on the same database runs as a replica that does not lead, and the
 * start-up banner never shows the URL's password.
 */
import { expect } from "chai";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { ConfigError, loadConfig } from "../../service/config";
import { runCli } from "../../scripts/admin";
import { startService, storeDescription } from "../../service/main";
import { loadSettings } from "../../service/settings";
import { StoreUnavailableError } from "../../service/store/store";
import { parseVerifierKey, verifyCheckpoint } from "../../service/log";
import { databaseName, startCluster, type TestCluster } from "../helpers/postgres";
import { Ledger } from "../../service/ledger/ledger";
import { PostgresStore } from "../../service/store/postgres";
import { ACTORS, applicationRequest, programmeRequest, submit } from "../helpers/ledger-fixtures";
import { recordProgramme } from "../helpers/service-http";

const silent = pino({ level: "silent" });

describe("LEDGER_DATABASE_URL", function () {
  this.timeout(120_000);

  describe("as a setting", function () {
    it("is unset by default, which keeps LevelDB", function () {
      expect(loadConfig({}).databaseUrl).to.equal(undefined);
    });

    it("takes a postgres:// or postgresql:// URL with a host or a socket directory", function () {
      for (const url of ["postgres://ledger:pw@db.example:5432/ledger", "postgresql://db/ledger", "postgres://ledger@localhost/ledger?host=/run/postgresql"])
        expect(loadConfig({ LEDGER_DATABASE_URL: url }).databaseUrl, url).to.equal(url);
    });

    it("refuses anything else, naming the setting but never repeating its value", function () {
      for (const bad of ["mysql://root:hunter2@db/ledger", "postgres:///hunter2", "hunter2", ""]) {
        let err: unknown;
        try {
          loadSettings({ LEDGER_DATABASE_URL: bad });
        } catch (e) {
          err = e;
        }
        expect(err, bad).to.be.instanceOf(ConfigError);
        expect((err as Error).message).to.include("LEDGER_DATABASE_URL");
        if (bad !== "") expect((err as Error).message).to.not.include("hunter2");
      }
    });

    it("is described in the banner by host and database, never with its password", function () {
      const config = loadConfig({ LEDGER_DATABASE_URL: "postgres://ledger:hunter2@db.example:5432/ledger", LEDGER_DATA_DIR: "/srv/ledger" });
      const d = storeDescription(config);
      expect(d).to.include("db.example:5432").and.include("ledger").and.include("/srv/ledger");
      expect(d).to.not.include("hunter2");
    });
  });

  describe("when the database cannot be reached", function () {
    it("fails to start with a StoreUnavailableError whose one line names no password", async function () {
      const dir = await mkdtemp(path.join(tmpdir(), "ledger-pg-main-"));
      try {
        const url = `postgres://ledger:hunter2@localhost:1/ledger?host=${encodeURIComponent(dir)}`;
        const config = loadConfig({ PORT: "0", LEDGER_DATA_DIR: dir, LOG_LEVEL: "silent", LEDGER_DATABASE_URL: url });
        let err: unknown;
        await startService(config, silent, { chain: false }).then(
          (s) => s.close(),
          (e: unknown) => (err = e),
        );
        expect(err).to.be.instanceOf(StoreUnavailableError);
        expect((err as Error).message).to.match(/unreachable/).and.not.include("hunter2");
        expect((err as Error).message).to.not.include("\n");
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });

  describe("when set, the service", function () {
    let cluster: TestCluster;
    let dir: string;

    before(async function () {
      cluster = await startCluster();
    });
    after(async function () {
      await cluster?.destroy();
    });
    beforeEach(async function () {
      dir = await mkdtemp(path.join(tmpdir(), "ledger-pg-main-"));
    });
    afterEach(async function () {
      await rm(dir, { recursive: true, force: true });
    });

    it("records into the database, not a LevelDB directory, and keeps its entries across a restart", async function () {
      const name = databaseName("service");
      const url = await cluster.createDatabase(name);
      const config = loadConfig({ PORT: "0", LEDGER_DATA_DIR: dir, LOG_LEVEL: "silent", LEDGER_DATABASE_URL: url });
      const first = await startService(config, silent, { chain: false });
      try {
        expect(first.firstAdminToken).to.match(/^sl_/);
        const res = await recordProgramme(first.url, first.firstAdminToken!);
        expect(res.status).to.equal(201);
      } finally {
        await first.close();
      }
      const { rows } = await cluster.sql("SELECT (SELECT count(*) FROM leaves)::int AS leaves, (SELECT count(*) FROM tokens)::int AS tokens", [], name);
      expect(rows[0]).to.deep.equal({ leaves: 1, tokens: 1 });
      // LevelDB would have written its CURRENT file into the data directory.
      expect(existsSync(path.join(dir, "CURRENT"))).to.equal(false);

      const again = await startService(config, silent, { chain: false });
      try {
        // A second service process on the same database runs as a replica that does not lead.
        const other = loadConfig({ PORT: "0", LEDGER_DATA_DIR: dir, LOG_LEVEL: "silent", LEDGER_DATABASE_URL: url });
        const replica = await startService(other, silent, { chain: false, leader: { leaseMs: 5000, replicaId: "second" } });
        try {
          expect(replica.leaderStatus()).to.deep.include({ leader: false, replicaId: "second" });
          expect(again.leaderStatus().leader).to.equal(true);
          const health = (await (await fetch(`${replica.url}/v1/health`)).json()) as { leader: { leader: boolean; leaderId: string } };
          expect(health.leader).to.deep.include({ leader: false, leaderId: again.leaderStatus().replicaId });
        } finally {
          await replica.close();
        }
        expect(again.firstAdminToken).to.equal(undefined);
        expect(again.ledger.size).to.equal(1);
        const note = await (await fetch(`${again.url}/v1/log/checkpoint`)).text();
        expect(verifyCheckpoint(note, parseVerifierKey(again.verifierKey), config.origin).size).to.equal(1);
      } finally {
        await again.close();
      }
    });

    it("is the store the admin CLI erases in: openings deleted, the erasure entry appended, in the database", async function () {
      const name = databaseName("erase");
      const url = await cluster.createDatabase(name);
      const store = await PostgresStore.open(url);
      let app: string;
      try {
        const ledger = await Ledger.open({ store });
        const prg = (await submit(ledger, ACTORS.admin, "programme", programmeRequest({ opensOn: "2000-01-01", closesOn: "2099-12-31" }))).body.id;
        app = (await submit(ledger, ACTORS.clerkA, "application", applicationRequest(prg))).body.id;
        await ledger.close();
      } finally {
        await store.close();
      }
      const saved = process.env.LEDGER_DATABASE_URL;
      process.env.LEDGER_DATABASE_URL = url;
      const [quiet, errors] = [process.stdout.write.bind(process.stdout), process.stderr.write.bind(process.stderr)];
      let code: number;
      try {
        process.stdout.write = (() => true) as typeof process.stdout.write;
        process.stderr.write = (() => true) as typeof process.stderr.write;
        code = await runCli(["--data-dir", dir, "erase", app, "--reason", "data-subject-request", "--official", "admin.zhao", "--agency", "110101-FIN"]);
      } finally {
        process.stdout.write = quiet;
        process.stderr.write = errors;
        if (saved === undefined) delete process.env.LEDGER_DATABASE_URL;
        else process.env.LEDGER_DATABASE_URL = saved;
      }
      expect(code).to.equal(0);
      const openings = await cluster.sql("SELECT count(*)::int AS n FROM openings WHERE entry_id = $1", [app], name);
      expect(openings.rows[0]).to.deep.equal({ n: 0 });
      const leaves = await cluster.sql("SELECT count(*)::int AS n FROM leaves", [], name);
      expect(leaves.rows[0]).to.deep.equal({ n: 3 });
      const idem = await cluster.sql("SELECT record->>'requestHash' AS h FROM idempotency WHERE record->'body'->>'id' = $1", [app], name);
      expect(idem.rows).to.deep.equal([{ h: "erased" }]);
      expect(existsSync(path.join(dir, "CURRENT")), "nothing written to LevelDB").to.equal(false);
    });

    it("is the store the admin CLI writes tokens to, beside a running service (the database serialises their writes)", async function () {
      const name = databaseName("admin");
      const url = await cluster.createDatabase(name);
      const saved = process.env.LEDGER_DATABASE_URL;
      process.env.LEDGER_DATABASE_URL = url;
      const [quiet, errors] = [process.stdout.write.bind(process.stdout), process.stderr.write.bind(process.stderr)];
      try {
        process.stdout.write = (() => true) as typeof process.stdout.write;
        process.stderr.write = (() => true) as typeof process.stderr.write;
        expect(await runCli(["--data-dir", dir, "token", "create", "--official", "o-1", "--agency", "110101", "--role", "clerk"])).to.equal(0);
        process.stdout.write = quiet;
        process.stderr.write = errors;
        const { rows } = await cluster.sql("SELECT count(*)::int AS tokens FROM tokens", [], name);
        expect(rows[0]).to.deep.equal({ tokens: 1 });
        expect(existsSync(path.join(dir, "CURRENT")), "nothing written to LevelDB").to.equal(false);

        const running = await startService(loadConfig({ PORT: "0", LEDGER_DATA_DIR: dir, LOG_LEVEL: "silent", LEDGER_DATABASE_URL: url }), silent, { chain: false });
        try {
          process.stdout.write = (() => true) as typeof process.stdout.write;
          try {
            expect(await runCli(["--data-dir", dir, "token", "list"]), "not refused while a replica runs").to.equal(0);
          } finally {
            process.stdout.write = quiet;
          }
        } finally {
          await running.close();
        }
      } finally {
        process.stdout.write = quiet;
        process.stderr.write = errors;
        if (saved === undefined) delete process.env.LEDGER_DATABASE_URL;
        else process.env.LEDGER_DATABASE_URL = saved;
      }
    });
  });
});
