/**
 * Officials through the API: tokens are issued under the official's
 * canonical id, so "Dual-1" and "dual-1" are one official and cannot decide
 * what the other recorded; entries show the id and the display name.
 */
import { expect } from "chai";
import { actorOf, hashToken } from "../../service/auth/tokens";
import { applicationBody, createWorld, decisionBody, expectProblem, post, programmeBody, record, type World } from "./helpers";

describe("Officials through the API", () => {
  let w: World;
  beforeEach(async () => {
    w = await createWorld();
  });

  async function token(body: Record<string, unknown>): Promise<{ token: string; official: string; name?: string }> {
    const res = await post(w, "/v1/admin/tokens", w.tokens.admin, body, null);
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body as { token: string; official: string; name?: string };
  }

  describe("a token created for Dual-1", () => {
    it("is issued under the canonical id dual-1, with Dual-1 as its display name", async () => {
      const t = await token({ official: "Dual-1", agency: "市工信局", role: "approver" });
      expect({ official: t.official, name: t.name }).to.deep.equal({ official: "dual-1", name: "Dual-1" });
    });

    it("cannot decide an application recorded by dual-1: 422 decider-not-recorder", async () => {
      const clerk = await token({ official: "dual-1", agency: "市工信局", role: "clerk" });
      const approver = await token({ official: "Dual-1", agency: "市工信局", role: "approver" });
      const prg = await record(w, "/v1/programmes", "admin", programmeBody());
      const app = await post(w, "/v1/applications", clerk.token, applicationBody(prg));
      expect(app.status).to.equal(201);
      const res = await post(w, "/v1/decisions", approver.token, decisionBody(app.body.id));
      expect(expectProblem(res, 422)["rule"]).to.equal("decider-not-recorder");
    });

    it("records entries with the canonical id and the display name", async () => {
      const clerk = await token({ official: "Dual-1", name: "李明", agency: "市工信局", role: "clerk" });
      const prg = await record(w, "/v1/programmes", "admin", programmeBody());
      const app = await post(w, "/v1/applications", clerk.token, applicationBody(prg));
      expect(app.body.entry.actor).to.deep.equal({ official: "dual-1", name: "李明", agency: "市工信局", role: "clerk" });
    });
  });

  describe("a token stored before ids were canonical", () => {
    it("records as the canonical id", async () => {
      const secret = `sl_${"A".repeat(43)}`;
      await w.store.putToken({ id: "tok_00000000000000aa", hash: hashToken(secret), official: "Legacy.Clerk", agency: "市工信局", role: "clerk", createdAt: "2026-01-01T00:00:00Z", revokedAt: null });
      const prg = await record(w, "/v1/programmes", "admin", programmeBody());
      const app = await post(w, "/v1/applications", secret, applicationBody(prg));
      expect(app.status, JSON.stringify(app.body)).to.equal(201);
      expect(app.body.entry.actor.official).to.equal("legacy.clerk");
      expect(actorOf({ official: "Legacy.Clerk", agency: "a", role: "clerk" }).official).to.equal("legacy.clerk");
    });
  });
});
