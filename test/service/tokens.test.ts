/**
 * Token management within an admin's scope (service/auth/tokens.ts): an
 * agency admin lists, creates and revokes only its own agency's tokens, the
 * deployment-wide admin (scope null) all of them, and each refusal is a typed
 * error whose kind http/ maps to a status. Nothing is stored on a refusal.
 */
import { expect } from "chai";
import {
  adminScopeOf,
  createToken,
  LastAdminTokenError,
  listTokens,
  revokeToken,
  TokenError,
  TokenNotFoundError,
  type AdminScope,
  type TokenInfo,
} from "../../service/auth/tokens";
import { RuleViolation } from "../../service/records/rules";
import { MemoryStore } from "../../service/store/memory";
import { FakeClock, rejection } from "../helpers/ledger-fixtures";

const OWN = "130000-FGW";
const OTHER = "110000-JXJ";

async function world(): Promise<{ store: MemoryStore; clock: FakeClock; root: TokenInfo; own: TokenInfo; other: TokenInfo }> {
  const store = new MemoryStore();
  const clock = new FakeClock();
  const root = (await createToken(store, clock, { official: "root", agency: "local", role: "admin" })).info;
  clock.advance(1000);
  const own = (await createToken(store, clock, { official: "clerk.own", agency: OWN, role: "clerk" })).info;
  clock.advance(1000);
  const other = (await createToken(store, clock, { official: "clerk.other", agency: OTHER, role: "clerk" })).info;
  clock.advance(1000);
  return { store, clock, root, own, other };
}

function expectScopeRefusal(e: unknown): void {
  expect(e, String(e)).to.be.instanceOf(RuleViolation);
  expect((e as RuleViolation).rule).to.equal("agency-scope");
  expect((e as RuleViolation).kind).to.equal("forbidden");
}

describe("token management within an admin's scope", function () {
  describe("the scope of an admin", function () {
    it("is its agency once that agency is registered, and deployment-wide (null) otherwise", async function () {
      const registered = async (code: string) => code === OWN;
      expect(await adminScopeOf({ agency: OWN }, registered)).to.equal(OWN);
      expect(await adminScopeOf({ agency: "local" }, registered)).to.equal(null);
    });
  });

  describe("listing", function () {
    it("shows an agency admin only its agency's tokens, and the deployment-wide admin every one, oldest first", async function () {
      const { store, root, own, other } = await world();
      expect((await listTokens(store, OWN)).map((t) => t.id)).to.deep.equal([own.id]);
      expect((await listTokens(store, null)).map((t) => t.id)).to.deep.equal([root.id, own.id, other.id]);
      expect((await listTokens(store, "999999-XXX")).map((t) => t.id)).to.deep.equal([]);
    });
  });

  describe("creating", function () {
    it("lets an agency admin create a token of its own agency", async function () {
      const { store, clock } = await world();
      const { info } = await createToken(store, clock, { official: "clerk.new", agency: OWN, role: "clerk" }, OWN);
      expect((await listTokens(store, OWN)).map((t) => t.id)).to.include(info.id);
    });

    it("refuses an agency admin a token of another agency (agency-scope, forbidden), storing nothing", async function () {
      const { store, clock } = await world();
      const before = (await listTokens(store)).length;
      expectScopeRefusal(await rejection(createToken(store, clock, { official: "clerk.new", agency: OTHER, role: "clerk" }, OWN)));
      expect((await listTokens(store)).length).to.equal(before);
    });

    it("lets the deployment-wide admin create a token of any agency, registered or not", async function () {
      const { store, clock } = await world();
      for (const agency of [OWN, OTHER, "free text agency"]) await createToken(store, clock, { official: "clerk.x", agency, role: "clerk" }, null);
      expect((await listTokens(store)).length).to.equal(6);
    });
  });

  describe("revoking", function () {
    const scopes: AdminScope[] = [OWN, null];

    it("lets an agency admin revoke its own agency's token and the deployment-wide admin any", async function () {
      for (const scope of scopes) {
        const { store, clock, own } = await world();
        expect((await revokeToken(store, clock, own.id, scope)).revokedAt).to.not.equal(null);
      }
      const { store, clock, other } = await world();
      expect((await revokeToken(store, clock, other.id, null)).revokedAt).to.not.equal(null);
    });

    it("refuses an agency admin another agency's token (agency-scope, forbidden), revoking nothing", async function () {
      const { store, clock, other } = await world();
      expectScopeRefusal(await rejection(revokeToken(store, clock, other.id, OWN)));
      expect((await listTokens(store)).find((t) => t.id === other.id)?.revokedAt).to.equal(null);
    });

    it("refuses an agency admin another agency's token even when it is revoked already", async function () {
      const { store, clock, other } = await world();
      await revokeToken(store, clock, other.id, null);
      expectScopeRefusal(await rejection(revokeToken(store, clock, other.id, OWN)));
    });

    it("answers an unknown id with TokenNotFoundError (kind not-found) in any scope", async function () {
      for (const scope of scopes) {
        const { store, clock } = await world();
        const e = await rejection(revokeToken(store, clock, "tok_0000000000000000", scope));
        expect(e, String(e)).to.be.instanceOf(TokenNotFoundError);
        expect(e).to.be.instanceOf(TokenError);
        expect((e as TokenError).kind).to.equal("not-found");
        expect((e as TokenError).reason).to.equal("not-found");
      }
    });

    it("refuses the last active admin token with LastAdminTokenError (kind conflict), and allows it once another admin exists", async function () {
      const { store, clock, root } = await world();
      const e = await rejection(revokeToken(store, clock, root.id, null));
      expect(e, String(e)).to.be.instanceOf(LastAdminTokenError);
      expect((e as TokenError).kind).to.equal("conflict");
      expect((e as TokenError).reason).to.equal("last-admin-token");
      expect((await listTokens(store)).find((t) => t.id === root.id)?.revokedAt).to.equal(null);
      await createToken(store, clock, { official: "root2", agency: "local", role: "admin" }, null);
      expect((await revokeToken(store, clock, root.id, null)).revokedAt).to.not.equal(null);
    });

    it("checks the scope before the last-admin guard: another agency's last admin is a scope refusal", async function () {
      const store = new MemoryStore();
      const clock = new FakeClock();
      const { info } = await createToken(store, clock, { official: "admin.other", agency: OTHER, role: "admin" });
      expectScopeRefusal(await rejection(revokeToken(store, clock, info.id, OWN)));
    });
  });
});
