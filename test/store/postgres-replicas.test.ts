/**
 * Several replicas on one PostgreSQL database (issue 17 §2, the writers):
 * sequencers on separate connection pools race for the head and the
 * business rules still hold in the one order the database keeps; service
 * replicas accept writes side by side and each serves the other's entries
 * with proofs that verify against a reference recomputation of the tree;
 * rate limits count across replicas; and a replica with other keys than
 * the ones the database records for the log is refused.
 */
import { expect } from "chai";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { AccessCodes } from "../../service/auth/access-codes";
import { loadConfig } from "../../service/config";
import { KeyFileError } from "../../service/keys";
import { Ledger } from "../../service/ledger/ledger";
import { fromHex, verifyInclusion } from "../../service/log";
import { startService, type RunningService } from "../../service/main";
import { RuleViolation } from "../../service/records/rules";
import { PostgresStore, TURN_WAIT_MS } from "../../service/store/postgres";
import { StoreUnavailableError } from "../../service/store/store";
import { ACTORS, applicationRequest, decisionRequest, FakeClock, programmeRequest, rejection, submit } from "../helpers/ledger-fixtures";
import { databaseName, startCluster, type TestCluster } from "../helpers/postgres";
import { hex, leafHash, mth } from "../../scripts/lib/rfc6962-reference";
import { recordProgramme } from "../helpers/service-http";

const silent = pino({ level: "silent" });

describe("Several replicas on one PostgreSQL database", function () {
  this.timeout(180_000);
  let cluster: TestCluster;

  before(async function () {
    cluster = await startCluster();
  });
  after(async function () {
    await cluster?.destroy();
  });

  describe("two sequencers, each on its own connections", function () {
    let stores: PostgresStore[];
    let ledgers: Ledger[];

    beforeEach(async function () {
      const url = await cluster.createDatabase(databaseName("seq"));
      stores = [await PostgresStore.open(url), await PostgresStore.open(url)];
      const clock = new FakeClock();
      ledgers = [await Ledger.open({ store: stores[0]!, clock }), await Ledger.open({ store: stores[1]!, clock })];
    });
    afterEach(async function () {
      for (const l of ledgers) await l.close();
      for (const s of stores) await s.close();
    });

    it("never exceed a budget that only one of two decisions raced through them fits", async function () {
      const rounds = 25;
      let approved = 0;
      for (let round = 0; round < rounds; round++) {
        const [a, b] = ledgers as [Ledger, Ledger];
        const prg = (await submit(a, ACTORS.admin, "programme", programmeRequest({ budgetFen: "100000" }))).body.id;
        // Each application made on one replica and known to the other only through the database.
        const app1 = (await submit(a, ACTORS.clerkA, "application", applicationRequest(prg, { requestedFen: "60000" }))).body.id;
        const app2 = (await submit(b, ACTORS.clerkB, "application", applicationRequest(prg, { requestedFen: "60000" }))).body.id;
        const outcomes = await Promise.allSettled([
          submit(round % 2 === 0 ? a : b, ACTORS.approverC, "decision", decisionRequest(app1, { approvedFen: "60000" })),
          submit(round % 2 === 0 ? b : a, ACTORS.approverD, "decision", decisionRequest(app2, { approvedFen: "60000" })),
        ]);
        const won = outcomes.filter((o) => o.status === "fulfilled");
        const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
        expect(won, `round ${round}`).to.have.length(1);
        expect(lost[0]!.reason, `round ${round}`).to.be.instanceOf(RuleViolation).with.property("rule", "budget-not-exceeded");
        approved += won.length;
      }
      expect(approved).to.equal(rounds);
      // One log: both sequencers see the same head, whose leaves are contiguous and each stored once.
      await Promise.all(ledgers.map((l) => l.sync()));
      const head = await stores[0]!.head();
      expect(ledgers[0]!.size).to.equal(head.size);
      expect(ledgers[1]!.size).to.equal(head.size);
      expect(head.size).to.equal(rounds * 4);
      const leaves = await stores[1]!.leaves(0, head.size);
      expect(leaves.map((l) => l.index)).to.deep.equal([...Array(head.size).keys()]);
      expect(hex(ledgers[1]!.root())).to.equal(hex(mth(leaves.map((l) => l.bytes))));
    });

    it("record an Idempotency-Key used on both at once once, and answer both with that entry", async function () {
      for (let round = 0; round < 10; round++) {
        const body = programmeRequest();
        const key = `same-key-${round}`;
        const [r1, r2] = await Promise.all([
          submit(ledgers[0]!, ACTORS.admin, "programme", body, key),
          submit(ledgers[1]!, ACTORS.admin, "programme", body, key),
        ]);
        expect(r1.body.id, `round ${round}`).to.equal(r2.body.id);
        expect([r1.replayed, r2.replayed].filter(Boolean), `round ${round}`).to.have.length(1);
      }
      const head = await stores[0]!.head();
      expect(head.size).to.equal(10);
    });

    it("answer every request when both are loaded at once, in one log with no gap", async function () {
      const n = 60;
      const results = await Promise.all(
        [...Array(n).keys()].map((i) => submit(ledgers[i % 2]!, ACTORS.admin, "programme", programmeRequest())),
      );
      const indexes = results.map((r) => r.body.leafIndex).sort((x, y) => x - y);
      expect(indexes).to.deep.equal([...Array(n).keys()]);
      const leaves = await stores[0]!.leaves(0, n);
      expect(leaves.map((l) => l.id).sort()).to.deep.equal(results.map((r) => r.body.id).sort());
    });

    it("refuse, not record, a request a rule refuses on the head another replica moved", async function () {
      const [a, b] = ledgers as [Ledger, Ledger];
      const prg = (await submit(a, ACTORS.admin, "programme", programmeRequest({ budgetFen: "100000" }))).body.id;
      const app1 = (await submit(a, ACTORS.clerkA, "application", applicationRequest(prg, { requestedFen: "60000" }))).body.id;
      const app2 = (await submit(a, ACTORS.clerkA, "application", applicationRequest(prg, { requestedFen: "60000" }))).body.id;
      await submit(a, ACTORS.approverC, "decision", decisionRequest(app1, { approvedFen: "60000" }));
      // b has not synced: its tip is behind, yet it refuses on the true state.
      const e = await rejection(submit(b, ACTORS.approverD, "decision", decisionRequest(app2, { approvedFen: "60000" })));
      expect(e).to.be.instanceOf(RuleViolation).with.property("rule", "budget-not-exceeded");
      expect((await stores[1]!.head()).size).to.equal(4);
    });
  });

  describe("two service replicas", function () {
    let dirs: string[];
    let services: RunningService[];
    let url: string;
    /** A replica's settings: its own data directory, the first replica's key files unless `env` says otherwise. */
    const config = (dir: string, env: Record<string, string> = {}) =>
      loadConfig({
        PORT: "0",
        LEDGER_DATA_DIR: dir,
        LOG_LEVEL: "silent",
        LEDGER_DATABASE_URL: url,
        LEDGER_LOG_KEY_FILE: path.join(dirs[0]!, "keys", "log-signer.key"),
        LEDGER_ACCESS_CODE_KEY_FILE: path.join(dirs[0]!, "keys", "access-code.key"),
        ...env,
      });

    beforeEach(async function () {
      url = await cluster.createDatabase(databaseName("svc"));
      dirs = [await mkdtemp(path.join(tmpdir(), "ledger-replica-")), await mkdtemp(path.join(tmpdir(), "ledger-replica-"))];
      services = [await startService(config(dirs[0]!), silent, { chain: false })];
      services.push(await startService(config(dirs[1]!), silent, { chain: false }));
    });
    afterEach(async function () {
      for (const s of services ?? []) await s.close();
      for (const d of dirs ?? []) await rm(d, { recursive: true, force: true });
    });

    it("both accept writes, and each serves the other's entries with inclusion proofs of one tree", async function () {
      const token = services[0]!.firstAdminToken!;
      expect(services[1]!.firstAdminToken, "the second replica finds the first's token").to.equal(undefined);
      const n = 24;
      const written = await Promise.all(
        [...Array(n).keys()].map(async (i) => {
          const res = await recordProgramme(services[i % 2]!.url, token, `P${i}`);
          expect(res.status, `write ${i}`).to.equal(201);
          return { by: i % 2, body: (await res.json()) as { id: string; leafIndex: number } };
        }),
      );
      for (const { by, body } of written) {
        const other = services[1 - by]!.url;
        const entry = await fetch(`${other}/v1/entries/${body.id}`);
        expect(entry.status, `replica ${1 - by} serves ${body.id}`).to.equal(200);
        const proof = await fetch(`${other}/v1/log/proof/inclusion?index=${body.leafIndex}`);
        expect(proof.status).to.equal(200);
        const p = (await proof.json()) as { size: number; leafHash: string; rootHash: string; proof: string[] };
        expect(p.size).to.equal(n);
        verifyInclusion(fromHex(p.leafHash), body.leafIndex, p.size, fromHex(p.rootHash), p.proof.map(fromHex));
      }
      const log = (await (await fetch(`${services[1]!.url}/v1/log/entries?start=0&end=${n}`)).json()) as { entries: { leaf: string }[] };
      const leaves = log.entries.map((e) => new TextEncoder().encode(e.leaf));
      expect(leaves).to.have.length(n);
      const root = hex(mth(leaves));
      for (const s of services) {
        const p = (await (await fetch(`${s.url}/v1/log/proof/inclusion?index=0`)).json()) as { rootHash: string; leafHash: string };
        expect(p.rootHash).to.equal(root);
        expect(p.leafHash).to.equal(hex(leafHash(leaves[0]!)));
      }
    });

    it("replay on one replica a request made with the same Idempotency-Key on the other", async function () {
      const token = services[0]!.firstAdminToken!;
      const first = await recordProgramme(services[0]!.url, token, "KEYED");
      expect(first.status).to.equal(201);
      const again = await recordProgramme(services[1]!.url, token, "KEYED");
      expect(again.status).to.equal(201);
      expect(((await again.json()) as { id: string }).id).to.equal(((await first.json()) as { id: string }).id);
      expect(services[1]!.ledger.size).to.equal(1);
    });

    it("share tokens: one created on one replica works on the other, and its revocation there takes effect at once", async function () {
      const [a, b] = services as [RunningService, RunningService];
      const admin = a.firstAdminToken!;
      const auth = (t: string) => ({ authorization: `Bearer ${t}`, "content-type": "application/json" });
      const created = await fetch(`${a.url}/v1/admin/tokens`, { method: "POST", headers: auth(admin), body: JSON.stringify({ official: "second.admin", agency: "110101-FIN", role: "admin" }) });
      expect(created.status).to.equal(201);
      const { token, id } = (await created.json()) as { token: string; id: string };
      expect((await fetch(`${b.url}/v1/admin/tokens`, { headers: auth(token) })).status).to.equal(200);
      expect((await fetch(`${a.url}/v1/admin/tokens/${id}`, { method: "DELETE", headers: auth(admin) })).status).to.equal(200);
      expect((await fetch(`${b.url}/v1/admin/tokens`, { headers: auth(token) })).status).to.equal(401);
    });

    it("hold a rate limit of N requests per minute to N across both, not 2N", async function () {
      // Windows are whole minutes on the database's clock: start well inside one.
      const { rows } = await cluster.sql("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint % 60000 AS ms");
      const into = Number((rows[0] as { ms: string }).ms);
      if (into > 50_000) await new Promise((r) => setTimeout(r, 60_000 - into + 200));
      const limited: RunningService[] = [];
      for (const dir of dirs) {
        const s = await startService(config(dir, { LEDGER_RATE_PUBLIC_PER_MINUTE: "12" }), silent, { chain: false });
        services.push(s);
        limited.push(s);
      }
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) statuses.push((await fetch(`${limited[i % 2]!.url}/v1/log/checkpoint`)).status);
      expect(statuses.filter((s) => s === 200)).to.have.length(12);
      expect(statuses.slice(12).every((s) => s === 429)).to.equal(true);
    });

    it("refuse a third replica whose log key is not the log's, with one line naming the setting and no secret", async function () {
      const dir = await mkdtemp(path.join(tmpdir(), "ledger-replica-"));
      dirs.push(dir);
      const other = path.join(dir, "keys", "other-log-signer.key");
      const err = await rejection(startService(config(dir, { LEDGER_LOG_KEY_FILE: other }), silent, { chain: false }));
      expect(err).to.be.instanceOf(KeyFileError);
      const message = (err as Error).message;
      expect(message).to.include("LEDGER_LOG_KEY_FILE").and.include(services[0]!.verifierKey);
      expect(message).to.not.include("\n");
      const secret = (await readFile(other, "utf8")).trim();
      // PRIVATE+KEY+<name>+<hash>+<key data>: the key data may itself hold "+".
      const keyData = secret.split("+").slice(4).join("+");
      expect(keyData.length).to.be.greaterThan(20);
      expect(message).to.not.include(secret).and.not.include(keyData);
    });

    it("refuse a third replica whose access-code key is not the log's, naming the setting, never the key", async function () {
      const dir = await mkdtemp(path.join(tmpdir(), "ledger-replica-"));
      dirs.push(dir);
      const other = path.join(dir, "keys", "other-access-code.key");
      const err = await rejection(startService(config(dir, { LEDGER_ACCESS_CODE_KEY_FILE: other }), silent, { chain: false }));
      expect(err).to.be.instanceOf(KeyFileError);
      const message = (err as Error).message;
      expect(message).to.include("LEDGER_ACCESS_CODE_KEY_FILE");
      expect(message).to.not.include("\n");
      expect(message).to.not.include((await readFile(other, "utf8")).trim());
    });
  });

  describe("sequencing turns", function () {
    let stores: PostgresStore[];

    beforeEach(async function () {
      const url = await cluster.createDatabase(databaseName("turn"));
      stores = [await PostgresStore.open(url), await PostgresStore.open(url)];
    });
    afterEach(async function () {
      for (const s of stores) await s.close();
    });

    it("are held by one store at a time; the holder sees the other waiting, and the other gets the turn once it is given up", async function () {
      const [a, b] = stores as [PostgresStore, PostgresStore];
      const first = await a.turn();
      expect(first).to.not.equal(undefined);
      expect(await first!.othersWaiting()).to.equal(false);
      let settled = false;
      const waiting = b.turn().finally(() => (settled = true));
      for (let i = 0; !(await first!.othersWaiting()); i++) {
        expect(i, "the second store waits within 5 s").to.be.below(100);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(settled).to.equal(false);
      await first!.release();
      const second = await waiting;
      expect(second).to.not.equal(undefined);
      expect(await second!.othersWaiting()).to.equal(false);
      await second!.release();
    });

    it(`are given up waiting for after ${TURN_WAIT_MS} ms, holding nothing, and the store keeps working`, async function () {
      const [a, b] = stores as [PostgresStore, PostgresStore];
      const held = await a.turn();
      const started = Date.now();
      expect(await b.turn()).to.equal(undefined);
      expect(Date.now() - started).to.be.at.least(TURN_WAIT_MS - 100);
      // The connection that waited is back in the pool without the transaction's lock timeout.
      expect((await b.head()).size).to.equal(0);
      await held!.release();
      const again = await b.turn();
      expect(again).to.not.equal(undefined);
      await again!.release();
    });
  });

  describe("shared rate-limit counters", function () {
    let stores: PostgresStore[];

    beforeEach(async function () {
      const url = await cluster.createDatabase(databaseName("rate"));
      stores = [await PostgresStore.open(url), await PostgresStore.open(url)];
    });
    afterEach(async function () {
      for (const s of stores) await s.close();
    });

    it("count hits from every store into one window per limiter and key, and take one back", async function () {
      const [a, b] = stores as [PostgresStore, PostgresStore];
      const hits = await Promise.all([...Array(20).keys()].map((i) => (i % 2 === 0 ? a : b).hit("public", "10.0.0.1", 60_000)));
      expect(hits.map((h) => h.hits).sort((x, y) => x - y)).to.deep.equal([...Array(20).keys()].map((i) => i + 1));
      expect(new Set(hits.map((h) => h.resetAt)).size).to.equal(1);
      expect((await b.hit("admin", "10.0.0.1", 60_000)).hits, "another limiter counts apart").to.equal(1);
      await a.unhit("public", "10.0.0.1", 60_000);
      expect((await b.peek("public", "10.0.0.1", 60_000))?.hits).to.equal(19);
      await b.resetRate("public", "10.0.0.1");
      expect(await a.peek("public", "10.0.0.1", 60_000)).to.equal(undefined);
    });

    it("delete ended windows, and keep the current ones", async function () {
      const [a] = stores as [PostgresStore];
      await a.hit("short", "k", 1);
      await a.hit("long", "k", 3_600_000);
      await new Promise((r) => setTimeout(r, 5));
      expect(await a.expireRates()).to.equal(1);
      expect((await a.peek("long", "k", 3_600_000))?.hits).to.equal(1);
    });

    it("refuse, storing nothing, a key PostgreSQL text cannot hold", async function () {
      const e = await rejection(stores[0]!.hit("public", "a\u0000b", 60_000));
      expect(e).to.be.instanceOf(StoreUnavailableError);
    });

    it("limit wrong access codes per application across replicas", async function () {
      const key = new Uint8Array(32).fill(7);
      const [a, b] = stores.map((s) => new AccessCodes(key, { failureCounters: s, maxFailures: 3 })) as [AccessCodes, AccessCodes];
      const app = "app_0123456789abcdef01234567";
      const wrong = "ac_AAAAAAAAAAAAAAAAAAAAAA";
      expect(await a.verify(wrong, app)).to.equal("invalid");
      expect(await b.verify(wrong, app)).to.equal("invalid");
      expect(await a.verify(wrong, app)).to.equal("invalid");
      expect(await b.verify(a.codeFor(app), app), "the fourth try, even right, waits for the window").to.equal("rate-limited");
      expect(await a.verify(a.codeFor("app_other"), "app_other")).to.equal("valid");
      expect(a.fingerprint()).to.equal(b.fingerprint()).and.match(/^[0-9a-f]{64}$/);
      expect(new AccessCodes(new Uint8Array(32).fill(8)).fingerprint()).to.not.equal(a.fingerprint());
    });
  });
});
