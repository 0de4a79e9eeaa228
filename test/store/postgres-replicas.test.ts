/**
 * Several replicas on one PostgreSQL database (issue 17 §2, the writers):
 * sequencers on separate connection pools race for the head and the
 * business rules still hold in the one order the database keeps; service
 * replicas accept writes side by side and each serves the other's entries
 * with proofs that verify against a reference recomputation of the tree.
 */
import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { loadConfig } from "../../service/config";
import { Ledger } from "../../service/ledger/ledger";
import { fromHex, verifyInclusion } from "../../service/log";
import { startService, type RunningService } from "../../service/main";
import { RuleViolation } from "../../service/records/rules";
import { PostgresStore } from "../../service/store/postgres";
import { ACTORS, applicationRequest, decisionRequest, FakeClock, programmeRequest, rejection, submit } from "../helpers/ledger-fixtures";
import { databaseName, startCluster, type TestCluster } from "../helpers/postgres";
import { hex, leafHash, mth } from "../helpers/reference";
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

    beforeEach(async function () {
      const url = await cluster.createDatabase(databaseName("svc"));
      dirs = [await mkdtemp(path.join(tmpdir(), "ledger-replica-")), await mkdtemp(path.join(tmpdir(), "ledger-replica-"))];
      const keys = path.join(dirs[0]!, "keys");
      const config = (dir: string) =>
        loadConfig({
          PORT: "0",
          LEDGER_DATA_DIR: dir,
          LOG_LEVEL: "silent",
          LEDGER_DATABASE_URL: url,
          LEDGER_LOG_KEY_FILE: path.join(keys, "log-signer.key"),
          LEDGER_ACCESS_CODE_KEY_FILE: path.join(keys, "access-code.key"),
        });
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
  });
});
