/**
 * Starting replicas on one PostgreSQL database: a private local chain is
 * refused unless the operator opts into a one-replica trial, replicas
 * starting together on an empty database create one first admin token
 * between them, and the admin CLI works beside a running replica.
 */
import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { hashToken, type TokenInfo } from "../../service/auth/tokens";
import { loadChainConfig } from "../../service/chain/config";
import { ConfigError, loadConfig } from "../../service/config";
import { startService, type RunningService } from "../../service/main";
import { loadSettings } from "../../service/settings";
import { PostgresStore } from "../../service/store/postgres";
import { MemoryStore } from "../../service/store/memory";
import { ensureFirstAdminToken } from "../../service/startup/admin-token";
import { FIRST_TOKEN_PENDING } from "../../service/data-dir";
import { existsSync } from "node:fs";
import type { TokenRecord } from "../../service/store/store";
import { ACTORS, applicationRequest, programmeRequest, submit } from "../helpers/ledger-fixtures";
import { databaseName, startCluster, type TestCluster } from "../helpers/postgres";
import { runAdmin } from "../helpers/admin-cli";

const silent = pino({ level: "silent" });
const DB = "postgres://ledger@db.example/ledger";

function configError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).to.be.instanceOf(ConfigError);
    return (e as Error).message;
  }
  expect.fail("no ConfigError");
}

/** Runs the admin CLI with LEDGER_DATABASE_URL set to `url`, capturing stdout and stderr. */
const admin = (url: string, args: string[]) => runAdmin(args, { LEDGER_DATABASE_URL: url });

describe("replicas starting on one PostgreSQL database", function () {
  this.timeout(120_000);

  describe("with no LEDGER_RPC_URL (which would start a private local chain)", function () {
    it("refuses the settings with one line naming the shared-chain settings and the trial opt-in", function () {
      const m = configError(() => loadSettings({ LEDGER_DATABASE_URL: DB }));
      expect(m.split("\n")).to.have.length(1);
      for (const name of ["LEDGER_RPC_URL", "LEDGER_CHAIN_ID", "LEDGER_ANCHOR_ADDRESS", "LEDGER_LOCAL_CHAIN_SINGLE_REPLICA=1", "LEDGER_CHAIN=off"]) expect(m).to.include(name);
    });

    it("accepts a shared chain, the chain off, or the explicit one-replica trial", function () {
      const shared = loadSettings({ LEDGER_DATABASE_URL: DB, LEDGER_RPC_URL: "http://node:8545", LEDGER_CHAIN_ID: "1337", LEDGER_ANCHOR_ADDRESS: `0x${"11".repeat(20)}` });
      expect(shared.chain && shared.chain.remote?.chainId).to.equal(1337);
      expect(loadSettings({ LEDGER_DATABASE_URL: DB, LEDGER_CHAIN: "off" }).chain).to.equal(false);
      const trial = loadSettings({ LEDGER_DATABASE_URL: DB, LEDGER_LOCAL_CHAIN_SINGLE_REPLICA: "1" });
      expect(trial.chain && trial.chain.localChainSingleReplica).to.equal(true);
    });

    it("keeps LevelDB's local chain without any opt-in", function () {
      const level = loadSettings({});
      expect(level.chain && level.chain.remote).to.equal(undefined);
    });

    it("refuses the opt-in beside LEDGER_RPC_URL, and a value other than 0 or 1", function () {
      const remote = { LEDGER_RPC_URL: "http://node:8545", LEDGER_CHAIN_ID: "1337", LEDGER_ANCHOR_ADDRESS: `0x${"11".repeat(20)}` };
      expect(configError(() => loadSettings({ LEDGER_DATABASE_URL: DB, ...remote, LEDGER_LOCAL_CHAIN_SINGLE_REPLICA: "1" }))).to.include(
        "LEDGER_LOCAL_CHAIN_SINGLE_REPLICA: only for the local chain",
      );
      expect(configError(() => loadSettings({ LEDGER_DATABASE_URL: DB, LEDGER_LOCAL_CHAIN_SINGLE_REPLICA: "yes" }))).to.include("LEDGER_LOCAL_CHAIN_SINGLE_REPLICA");
    });

    it("is refused by startService too, before it binds or opens anything", async function () {
      const dir = await mkdtemp(path.join(tmpdir(), "ledger-local-chain-"));
      try {
        const config = loadConfig({ PORT: "0", LEDGER_DATA_DIR: path.join(dir, "data"), LOG_LEVEL: "silent", LEDGER_DATABASE_URL: DB });
        let err: unknown;
        await startService(config, silent, { chain: loadChainConfig({}, config.dataDir) }).catch((e: unknown) => (err = e));
        expect(err).to.be.instanceOf(ConfigError);
        expect((err as Error).message).to.include("LEDGER_RPC_URL");
        expect(existsSync(config.dataDir), "no data directory").to.equal(false);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });

  describe("the first admin token step", function () {
    /** A store in which another replica's first token wins between this one's look and its claim. */
    class Overtaken extends MemoryStore {
      override async putFirstToken(): Promise<boolean> {
        return false;
      }
    }

    it("when another replica's first token wins the claim, shows none, says so, and leaves no never-shown note", async function () {
      const dir = await mkdtemp(path.join(tmpdir(), "ledger-first-token-"));
      try {
        const lines: string[] = [];
        const logger = pino({ level: "info" }, { write: (l: string) => void lines.push(l) });
        const r = await ensureFirstAdminToken(new Overtaken(), dir, logger);
        expect(r).to.deep.equal({ firstAdminToken: undefined, adminTokenNeverShown: false });
        expect(lines.join("")).to.include("created by another replica");
        expect(existsSync(path.join(dir, FIRST_TOKEN_PENDING))).to.equal(false);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it("when it wins, returns the token and keeps the never-shown note until main prints it", async function () {
      const dir = await mkdtemp(path.join(tmpdir(), "ledger-first-token-"));
      try {
        const store = new MemoryStore();
        const r = await ensureFirstAdminToken(store, dir, silent);
        expect(r.firstAdminToken).to.match(/^sl_/);
        expect((await store.tokens()).map((t) => t.hash)).to.deep.equal([hashToken(r.firstAdminToken!)]);
        expect(existsSync(path.join(dir, FIRST_TOKEN_PENDING))).to.equal(true);
        expect(await ensureFirstAdminToken(store, dir, silent)).to.deep.equal({ firstAdminToken: undefined, adminTokenNeverShown: true });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });

  describe("against a database", function () {
    let cluster: TestCluster;
    let dirs: string[];
    let services: RunningService[];
    before(async function () {
      cluster = await startCluster();
    });
    after(async function () {
      await cluster?.destroy();
    });
    beforeEach(function () {
      dirs = [];
      services = [];
    });
    afterEach(async function () {
      for (const s of services) await s.close();
      for (const d of dirs) await rm(d, { recursive: true, force: true });
    });

    async function dataDir(): Promise<string> {
      const d = await mkdtemp(path.join(tmpdir(), "ledger-replica-"));
      dirs.push(d);
      return d;
    }
    /** A replica's settings: its own data directory, the key files in `keys`. */
    const config = (dir: string, keys: string, url: string) =>
      loadConfig({
        PORT: "0",
        LEDGER_DATA_DIR: dir,
        LOG_LEVEL: "silent",
        LEDGER_DATABASE_URL: url,
        LEDGER_LOG_KEY_FILE: path.join(keys, "log-signer.key"),
        LEDGER_ACCESS_CODE_KEY_FILE: path.join(keys, "access-code.key"),
      });

    describe("when it is empty and several replicas start at the same moment", function () {
      it("creates exactly one first admin token: one replica shows it, the others none, and it works on every replica", async function () {
        const url = await cluster.createDatabase(databaseName("first"));
        const keys = await dataDir();
        const three = [await dataDir(), await dataDir(), await dataDir()];
        const started = await Promise.allSettled(three.map((d, i) => startService(config(d, keys, url), silent, { chain: false, leader: { leaseMs: 5000, replicaId: `r${i}` } })));
        for (const s of started) if (s.status === "fulfilled") services.push(s.value);
        expect(started.map((s) => s.status)).to.deep.equal(["fulfilled", "fulfilled", "fulfilled"]);
        const shown = services.map((s) => s.firstAdminToken).filter((t): t is string => t !== undefined);
        expect(shown).to.have.length(1);
        const store = await PostgresStore.open(url);
        try {
          const tokens = await store.tokens();
          expect(tokens).to.have.length(1);
          expect(tokens[0]!.hash).to.equal(hashToken(shown[0]!));
        } finally {
          await store.close();
        }
        for (const s of services) {
          const res = await fetch(`${s.url}/v1/admin/tokens`, { headers: { authorization: `Bearer ${shown[0]}` } });
          expect(res.status, s.url).to.equal(200);
        }
        // Only the replica that printed the token says it was shown; the others were never asked to.
        expect(services.map((s) => s.adminTokenNeverShown)).to.deep.equal([false, false, false]);
      });

      it("lets exactly one of many concurrent putFirstToken calls store its token", async function () {
        const url = await cluster.createDatabase(databaseName("first"));
        const stores = await Promise.all([...Array(6).keys()].map(() => PostgresStore.open(url)));
        try {
          const record = (i: number): TokenRecord => ({
            id: `tok_${i.toString(16).padStart(16, "0")}`,
            hash: hashToken(`first-${i}`),
            official: "admin",
            agency: "local",
            role: "admin",
            createdAt: "2026-12-07T00:00:00.000Z",
            revokedAt: null,
          });
          const won = await Promise.all(stores.map((s, i) => s.putFirstToken(record(i))));
          expect(won.filter((w) => w)).to.have.length(1);
          const tokens = await stores[0]!.tokens();
          expect(tokens.map((t) => t.hash)).to.deep.equal([record(won.indexOf(true)).hash]);
        } finally {
          for (const s of stores) await s.close();
        }
      });
    });

    describe("the admin CLI, while a replica runs on it", function () {
      let url: string;
      let service: RunningService;
      let dir: string;
      beforeEach(async function () {
        url = await cluster.createDatabase(databaseName("cli"));
        dir = await dataDir();
        service = await startService(config(dir, path.join(dir, "keys"), url), silent, { chain: false });
        services.push(service);
      });

      it("creates a token the running replica accepts at once, and revokes it so the replica refuses it", async function () {
        const created = await admin(url, ["--data-dir", dir, "token", "create", "--official", "ops-1", "--agency", "110101", "--role", "admin"]);
        expect(created.code, created.err).to.equal(0);
        const token = created.out.trim();
        const listed = await fetch(`${service.url}/v1/admin/tokens`, { headers: { authorization: `Bearer ${token}` } });
        expect(listed.status).to.equal(200);
        const { tokens } = (await listed.json()) as { tokens: TokenInfo[] };
        const id = tokens.find((t) => t.official === "ops-1")!.id;

        const list = await admin(url, ["--data-dir", dir, "token", "list"]);
        expect(list.code, list.err).to.equal(0);
        expect(list.out).to.include(id);

        const revoked = await admin(url, ["--data-dir", dir, "token", "revoke", id]);
        expect(revoked.code, revoked.err).to.equal(0);
        const refused = await fetch(`${service.url}/v1/admin/tokens`, { headers: { authorization: `Bearer ${token}` } });
        expect(refused.status).to.equal(401);
      });

      it("erases an entry through the sequencing path: the replica then appends after the erasure, on one tree", async function () {
        const ledger = service.ledger;
        const prg = (await submit(ledger, ACTORS.admin, "programme", programmeRequest({ opensOn: "2000-01-01", closesOn: "2099-12-31" }))).body.id;
        const app = (await submit(ledger, ACTORS.clerkA, "application", applicationRequest(prg))).body.id;
        const erased = await admin(url, ["--data-dir", dir, "erase", app, "--reason", "consent-withdrawn", "--official", "dpo-1", "--agency", "110101"]);
        expect(erased.code, erased.err).to.equal(0);
        expect(erased.out).to.match(/^era_[0-9a-f]{24}\n$/);
        // The replica learns of the CLI's commit by the head check and appends after it.
        const next = await submit(ledger, ACTORS.admin, "programme", programmeRequest({ code: "P-AFTER" }));
        const store = await PostgresStore.open(url);
        try {
          expect((await store.head()).size).to.equal(4);
          expect(ledger.size).to.equal(4);
          expect(await store.openings(app)).to.equal(undefined);
          const leaf2 = JSON.parse(new TextDecoder().decode((await store.leaf(2))!.bytes)) as { id: string };
          const leaf3 = JSON.parse(new TextDecoder().decode((await store.leaf(3))!.bytes)) as { id: string };
          expect(leaf2.id).to.equal(erased.out.trim());
          expect(leaf3.id).to.equal(next.body.id);
        } finally {
          await store.close();
        }
      });

      it("refuses a second command that needs the database alone while one holds it", async function () {
        const holder = await PostgresStore.open(url, { exclusive: true });
        try {
          const r = await admin(url, ["--data-dir", dir, "rebuild-from-mirror", "--from", dir, "--log-key", service.verifierKey]);
          expect(r.code).to.equal(1);
          expect(r.err).to.include("needs the database alone");
        } finally {
          await holder.close();
        }
      });
    });
  });
});
