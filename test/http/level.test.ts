/**
 * The API over the LevelDB store, in a temp dir: what is recorded survives
 * a restart (new store, ledger and app over the same directory), proofs
 * verify, and a replayed Idempotency-Key still answers the stored response.
 */
import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fromHex, hashLeaf, verifyConsistency, verifyInclusion } from "../../service/log";
import { LevelStore } from "../../service/store/level";
import { applicationBody, createWorld, creditCode, get, post, programmeBody, record, type World } from "./helpers";

describe("HTTP API over the LevelDB store", () => {
  let dir: string;
  let store: LevelStore | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "ledger-http-"));
  });
  afterEach(async () => {
    await store?.close();
    store = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  describe("when the service restarts on the same directory", () => {
    it("serves what was recorded, with proofs that verify, and replays stored responses", async () => {
      store = await LevelStore.open(dir);
      let w: World = await createWorld({ store });
      const prg = await record(w, "/v1/programmes", "admin", programmeBody());
      const key = "level-app-1";
      const first = await post(w, "/v1/applications", w.tokens.clerk, applicationBody(prg), key);
      expect(first.status).to.equal(201);
      const clerkToken = w.tokens.clerk;
      await w.ledger.close();
      await store.close();

      store = await LevelStore.open(dir);
      // A new world re-issues tokens for the same officials; the old ones are still in the store.
      w = await createWorld({ store });
      expect(w.ledger.size).to.equal(2);
      const replay = await post(w, "/v1/applications", clerkToken, applicationBody(prg), key);
      expect(replay.status).to.equal(201);
      expect(replay.headers["idempotent-replayed"]).to.equal("true");
      expect(replay.body).to.deep.equal(first.body);

      const ent = await get(w, `/v1/enterprises/${creditCode(1)}`);
      expect(ent.body.applications.map((a: { id: string }) => a.id)).to.deep.equal([first.body.id]);
      const { body: log } = await get(w, "/v1/log/entries");
      const inc = await get(w, "/v1/log/proof/inclusion?index=1");
      verifyInclusion(hashLeaf(new TextEncoder().encode(log.entries[1].leaf)), 1, 2, fromHex(inc.body.rootHash), inc.body.proof.map(fromHex));
      await record(w, "/v1/applications", "clerk", applicationBody(prg, { creditCode: creditCode(2) }));
      const con = await get(w, "/v1/log/proof/consistency?from=2");
      expect(con.body.to).to.equal(3);
      verifyConsistency(2, 3, fromHex(con.body.fromRootHash), fromHex(con.body.toRootHash), con.body.proof.map(fromHex));
      await w.ledger.close();
    });
  });
});
