/**
 * `npm run admin -- migrate --from <data dir> --to <postgres url>`: a LevelDB
 * ledger with every record kind, an erasure, tokens and a revoked access code
 * is copied into PostgreSQL, and the service started on the copy serves what
 * the service on LevelDB served; a non-empty target, a damaged source, a held
 * data directory and bad arguments are refused with a message and an exit
 * code, writing nothing.
 */
import { expect } from "chai";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { Level } from "level";
import { runAdmin } from "../helpers/admin-cli";
import { loadOrCreateAccessCodes } from "../../service/auth/access-codes";
import { loadConfig } from "../../service/config";
import { Ledger } from "../../service/ledger/ledger";
import { startService } from "../../service/main";
import { LevelStore } from "../../service/store/level";
import { leafKey } from "../../service/store/level-keys";
import { PostgresStore } from "../../service/store/postgres";
import { LEDGER_TABLES } from "../../service/store/postgres-import";
import { FileAnchorStateStore, parseAnchorState, type AnchorState } from "../../service/chain/state";
import { contractKey } from "../../service/store/postgres-anchoring";
import { ACTORS, applicationRequest, confirmationRequest, correctionRequest, creditCode, decisionRequest, FakeClock, payoutRequest, programmeRequest, submit } from "../helpers/ledger-fixtures";
import { databaseName, startCluster, type TestCluster } from "../helpers/postgres";

const silent = pino({ level: "silent" });

/** Runs the CLI with stdout and stderr captured. */
const run = (args: string[]) => runAdmin(args);

interface Built {
  readonly ids: string[];
  readonly erased: string;
  readonly application: string;
}

/** A stopped data directory holding every record kind, two applications (one erased later by the CLI) and a few idempotency records. */
async function buildLedger(dir: string): Promise<Built> {
  const store = await LevelStore.open(dir);
  try {
    const ledger = await Ledger.open({ store, clock: new FakeClock() });
    const rec = async (actor: (typeof ACTORS)[keyof typeof ACTORS], kind: Parameters<typeof submit>[2], body: unknown): Promise<string> => {
      const a = await submit(ledger, actor, kind, body);
      expect(a.status, JSON.stringify(a.body)).to.equal(201);
      return a.body.id;
    };
    const prg = await rec(ACTORS.admin, "programme", programmeRequest({ fourEyesThresholdFen: "1000000" }));
    const app = await rec(ACTORS.clerkA, "application", applicationRequest(prg));
    const other = await rec(ACTORS.clerkB, "application", applicationRequest(prg, { creditCode: creditCode(7), private: { contactPerson: "待删除的联系人", phone: "+86 139 0000 2222", bankAccount: "6222000099998888" } }));
    const dec = await rec(ACTORS.approverC, "decision", decisionRequest(app));
    const pay = await rec(ACTORS.payerE, "payout", payoutRequest(dec, { amountFen: "1500000" }));
    const cnf = await rec(ACTORS.approverD, "confirmation", confirmationRequest(pay));
    const cor = await rec(ACTORS.approverD, "correction", correctionRequest(app, "data-entry-error", { replacement: { enterpriseName: "更正后名称" } }));
    await ledger.close();
    return { ids: [prg, app, other, dec, pay, cnf, cor], erased: other, application: app };
  } finally {
    await store.close();
  }
}

/** What a service serves of a ledger, to compare the service on LevelDB with the one on the copy. */
async function served(url: string, adminToken: string, ids: readonly string[]): Promise<unknown> {
  const get = async (route: string, token?: string): Promise<unknown> => {
    const res = await fetch(`${url}${route}`, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
    const text = await res.text();
    return { status: res.status, body: res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text };
  };
  const note = (await (await fetch(`${url}/v1/log/checkpoint`)).text()).split("\n");
  const size = Number(note[1]);
  const out: Record<string, unknown> = { checkpoint: note.slice(0, 3), entries: await get(`/v1/log/entries?start=0&end=${size}`) };
  for (const id of ids) {
    out[`entry ${id}`] = await get(`/v1/entries/${id}`);
    out[`private ${id}`] = await get(`/v1/entries/${id}/private`, adminToken);
  }
  for (let i = 0; i < size; i++) out[`inclusion ${i}`] = await get(`/v1/log/proof/inclusion?index=${i}&size=${size}`);
  for (let from = 1; from < size; from += 3) out[`consistency ${from}`] = await get(`/v1/log/proof/consistency?from=${from}&to=${size}`);
  out.tokens = await get("/v1/admin/tokens", adminToken);
  out.programmes = await get("/v1/programmes");
  return out;
}

describe("npm run admin -- migrate", function () {
  this.timeout(180_000);
  let cluster: TestCluster;
  let dir: string;

  before(async function () {
    cluster = await startCluster();
  });
  after(async function () {
    await cluster?.destroy();
  });
  beforeEach(async function () {
    dir = await mkdtemp(path.join(tmpdir(), "ledger-migrate-"));
  });
  afterEach(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  const rowsIn = async (name: string): Promise<Record<string, number>> => {
    const { rows } = await cluster.sql(`SELECT (SELECT size FROM log_head)::int AS size, ${LEDGER_TABLES.map((t) => `(SELECT count(*) FROM ${t})::int AS ${t}`).join(", ")}`, [], name);
    return rows[0] as Record<string, number>;
  };

  describe("for a ledger with every record kind, an erasure, tokens and a revoked access code", function () {
    it("copies it so that the service on PostgreSQL serves the same root, entries, proofs, openings and tokens", async function () {
      const built = await buildLedger(dir);
      const admin = await run(["--data-dir", dir, "token", "create", "--official", "ops", "--agency", "local", "--role", "admin"]);
      expect(admin.code, admin.err).to.equal(0);
      const adminToken = admin.out.trim();
      const clerk = await run(["--data-dir", dir, "token", "create", "--official", "clerk.x", "--agency", "110101", "--role", "clerk"]);
      expect(clerk.code, clerk.err).to.equal(0);
      const erase = await run(["--data-dir", dir, "erase", built.erased, "--reason", "data-subject-request", "--official", "admin.zhao", "--agency", "110101-FIN"]);
      expect(erase.code, erase.err).to.equal(0);
      const erasureId = erase.out.trim();
      const revoked = await run(["--data-dir", dir, "access-code", "revoke", built.application]);
      expect(revoked.code, revoked.err).to.equal(0);
      const newCode = revoked.out.trim();
      const ids = [...built.ids, erasureId];

      const env = { PORT: "0", LEDGER_DATA_DIR: dir, LOG_LEVEL: "silent" };
      const onLevel = await startService(loadConfig(env), silent, { chain: false });
      let before: unknown;
      try {
        before = await served(onLevel.url, adminToken, ids);
      } finally {
        await onLevel.close();
      }

      const name = databaseName("migrate");
      const url = await cluster.createDatabase(name);
      const r = await run(["migrate", "--from", dir, "--to", url]);
      expect(r.code, r.err).to.equal(0);
      expect(r.err).to.include("LEDGER_DATABASE_URL").and.include(`LEDGER_DATA_DIR=${dir}`).and.include("equal in source and target");
      const root = r.out.trim();
      expect(root).to.match(/^[0-9a-f]{64}$/);

      // What is compared is served, not refused: entries, openings and the token list.
      const seen = before as Record<string, { status: number; body: unknown }>;
      for (const id of ids) expect([id, seen[`entry ${id}`]!.status, seen[`private ${id}`]!.status]).to.deep.equal([id, 200, 200]);
      expect(JSON.stringify(seen[`private ${built.application}`]!.body)).to.include("bankAccount");
      expect((seen.tokens!.body as { tokens: unknown[] }).tokens).to.have.length(2);

      const onPostgres = await startService(loadConfig({ ...env, LEDGER_DATABASE_URL: url }), silent, { chain: false });
      try {
        expect(onPostgres.firstAdminToken, "the copied tokens exist, so no first admin token is made").to.equal(undefined);
        const after = await served(onPostgres.url, adminToken, ids);
        expect(after).to.deep.equal(before);
        const checkpoint = (after as { checkpoint: string[] }).checkpoint;
        expect(checkpoint[1]).to.equal(String(ids.length));
        expect(Buffer.from(checkpoint[2]!, "base64").toString("hex")).to.equal(root);
        // The erased entry's private values stay erased in the copy.
        const priv = (after as Record<string, { status: number; body: unknown }>)[`private ${built.erased}`]!;
        expect(JSON.stringify(priv.body)).to.not.include("待删除的联系人");
      } finally {
        await onPostgres.close();
      }
      const { rows } = await cluster.sql("SELECT count(*)::int AS n FROM openings WHERE entry_id = $1", [built.erased], name);
      expect(rows[0]).to.deep.equal({ n: 0 });
      const scrubbed = await cluster.sql("SELECT record->>'requestHash' AS h FROM idempotency WHERE record->'body'->>'id' = $1", [built.erased], name);
      expect(scrubbed.rows).to.deep.equal([{ h: "erased" }]);

      // The revoked access code stays revoked: its generation was copied.
      const store = await PostgresStore.open(url);
      try {
        const { codes } = await loadOrCreateAccessCodes(path.join(dir, "keys", "access-code.key"), { generations: store });
        expect(await codes.verify(newCode, built.application)).to.equal("valid");
        expect(await store.accessCodeGeneration(built.application)).to.equal(1);
      } finally {
        await store.close();
      }
    });
  });

  describe("for a ledger whose service anchored on a chain", function () {
    const H = (c: string) => `0x${c.repeat(64)}`;
    const STATE: AnchorState = {
      contract: { chainId: 31337, address: "0x5FbDB2315678afecb367f032d93F642f64180aa3" },
      pending: null,
      anchored: { size: 3, rootHex: H("f"), checkpointIndex: 0, txHash: H("1"), blockNumber: 4, signedCheckpoint: "origin\n3\nroot\n\n— origin sig\n", anchoredAt: "2026-03-10T01:59:00.000Z" },
    };

    it("copies the anchoring state into the database, where the replicas' leader resumes from it", async function () {
      await buildLedger(dir);
      await new FileAnchorStateStore(path.join(dir, "chain", "anchor-state.json")).save(STATE);
      const name = databaseName("anchored");
      const url = await cluster.createDatabase(name);
      const r = await run(["migrate", "--from", dir, "--to", url]);
      expect(r.code, r.err).to.equal(0);
      expect(r.err).to.include("and the anchoring state");
      const { rows } = await cluster.sql("SELECT contract, epoch::int AS epoch, state FROM anchor_state", [], name);
      expect(rows).to.have.length(1);
      expect(rows[0]).to.deep.include({ contract: contractKey(STATE.contract), epoch: 0 });
      expect(parseAnchorState((rows[0] as { state: unknown }).state)).to.deep.equal(STATE);
    });

    it("exits 1 for an anchoring state file it cannot read, and writes nothing", async function () {
      await buildLedger(dir);
      await mkdir(path.join(dir, "chain"), { recursive: true, mode: 0o700 });
      await writeFile(path.join(dir, "chain", "anchor-state.json"), "{ not json");
      const name = databaseName("badstate");
      const url = await cluster.createDatabase(name);
      const r = await run(["migrate", "--from", dir, "--to", url]);
      expect(r.code).to.equal(1);
      expect(r.err).to.include("anchor-state.json").and.include("nothing was written");
      const { rows } = await cluster.sql("SELECT to_regclass('log_head') IS NULL AS untouched", [], name);
      expect(rows[0], "not even the schema was created").to.deep.equal({ untouched: true });
    });
  });

  describe("into a database that already holds a ledger", function () {
    it("exits 1 saying so, and writes nothing", async function () {
      await buildLedger(dir);
      const name = databaseName("nonempty");
      const url = await cluster.createDatabase(name);
      const store = await PostgresStore.open(url);
      await store.putToken({ id: "tok_0000000000000001", hash: "ab".repeat(32), official: "o", agency: "a", role: "admin", createdAt: "2026-01-01T00:00:00Z", revokedAt: null });
      await store.close();
      const before = await rowsIn(name);
      const r = await run(["migrate", "--from", dir, "--to", url]);
      expect(r.code).to.equal(1);
      expect(r.err).to.include("not empty").and.include("1 tokens").and.include("nothing was written");
      expect(await rowsIn(name)).to.deep.equal(before);
    });
  });

  describe("from a data directory whose leaves do not hash to its head", function () {
    it("exits 1 with the roots it found, and writes nothing", async function () {
      await buildLedger(dir);
      const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: "view", valueEncoding: "view" });
      const raw = await db.get(leafKey(2));
      const damaged = new Uint8Array(raw!);
      damaged[damaged.length - 2] = damaged[damaged.length - 2]! ^ 1;
      await db.put(leafKey(2), damaged);
      await db.close();
      const name = databaseName("damaged");
      const url = await cluster.createDatabase(name);
      const r = await run(["migrate", "--from", dir, "--to", url]);
      expect(r.code).to.equal(1);
      expect(r.err).to.include("SOURCE_INCONSISTENT").and.match(/hash to root [0-9a-f]{64}, but its head is size 7 with root [0-9a-f]{64}/);
      expect(r.out).to.equal("");
      const rows = await rowsIn(name);
      expect(Object.values(rows).every((n) => n === 0), JSON.stringify(rows)).to.equal(true);
    });
  });

  describe("from a data directory a running service holds", function () {
    it("exits 1 telling the operator to stop the service", async function () {
      await buildLedger(dir);
      const held = await LevelStore.open(dir);
      try {
        const r = await run(["migrate", "--from", dir, "--to", cluster.url(databaseName("held"))]);
        expect(r.code).to.equal(1);
        expect(r.err).to.include("in use").and.include("Stop the service");
      } finally {
        await held.close();
      }
    });
  });

  describe("with bad arguments", function () {
    it("exits 2 for a --to that is not a postgres URL, without repeating it", async function () {
      await buildLedger(dir);
      const r = await run(["migrate", "--from", dir, "--to", "mysql://root:hunter2@db/ledger"]);
      expect(r.code).to.equal(2);
      expect(r.err).to.include("--to").and.include("?host=").and.not.include("hunter2");
    });

    it("exits 2 for a --from that holds no ledger, creating nothing there", async function () {
      const missing = path.join(dir, "nowhere");
      const r = await run(["migrate", "--from", missing, "--to", cluster.url(databaseName("x"))]);
      expect(r.code).to.equal(2);
      expect(r.err).to.include("not a ledger data directory");
      const { existsSync } = await import("node:fs");
      expect(existsSync(missing)).to.equal(false);
    });

    it("exits 2 for a database that cannot be reached, naming no password", async function () {
      await buildLedger(dir);
      const r = await run(["migrate", "--from", dir, "--to", `postgres://ledger:hunter2@localhost:1/ledger?host=${encodeURIComponent(dir)}`]);
      expect(r.code, r.err).to.equal(2);
      expect(r.err).to.include("unreachable").and.not.include("hunter2");
    });
  });
});
