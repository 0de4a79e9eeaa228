/**
 * Rate limits (public and admin counted apart), the body size limit, and
 * the configuration createApp refuses to run with.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { AccessCodes } from "../../service/auth/access-codes";
import { expect } from "chai";
import pino from "pino";
import request from "supertest";
import { createToken } from "../../service/auth/tokens";
import { AppConfigError, createApp } from "../../service/http/app";
import { Ledger } from "../../service/ledger/ledger";
import { Tokens } from "../../service/http/tokens";
import { Queries } from "../../service/queries/queries";
import { MemoryStore } from "../../service/store/memory";
import { createWorld, expectProblem, get, post, programmeBody } from "./helpers";

describe("HTTP API, limits", () => {
  describe("when a client exceeds the public rate limit", () => {
    it("answers 429 problem+json with Retry-After, while admin routes still answer", async () => {
      const w = await createWorld({ config: { rateLimit: { publicPerMinute: 3, adminPerMinute: 100 } } });
      for (let i = 0; i < 3; i++) expect((await get(w, "/v1/programmes")).status).to.equal(200);
      const res = await get(w, "/v1/log/entries");
      const problem = expectProblem(res, 429);
      expect(problem["type"]).to.equal("urn:subsidy-ledger:problem:rate-limited");
      expect(Number(res.headers["retry-after"])).to.be.greaterThan(0);
      expectProblem(await get(w, "/v1/nope"), 429);
      expect((await get(w, "/v1/admin/tokens", w.tokens.admin)).status).to.equal(200);
      expect((await post(w, "/v1/programmes", w.tokens.admin, programmeBody())).status).to.equal(201);
    });
  });

  describe("when a client at the same address has used up the public rate limit", () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(path.join(tmpdir(), "portal-"));
      mkdirSync(path.join(dir, "assets"));
      writeFileSync(path.join(dir, "index.html"), '<!doctype html><meta name="ledger-rpc-url" content=""><script src="/assets/main-ABC123.js"></script>');
      writeFileSync(path.join(dir, "assets", "main-ABC123.js"), "console.log(1);");
      writeFileSync(path.join(dir, "assets", "main-ABC123.css"), "body{}");
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("still serves the portal's page and assets, which do not count against the API's budget", async () => {
      const w = await createWorld({ config: { rateLimit: { publicPerMinute: 2, adminPerMinute: 100 } }, portal: { dir } });
      for (let i = 0; i < 5; i++) for (const p of ["/", "/index.html", "/assets/main-ABC123.js", "/assets/main-ABC123.css"]) expect((await get(w, p)).status, p).to.equal(200);
      // The portal's requests above took nothing from the budget: the API still answers twice.
      for (let i = 0; i < 2; i++) expect((await get(w, "/v1/log/entries")).status).to.equal(200);
      const limited = await get(w, "/v1/log/entries?start=0");
      expectProblem(limited, 429);
      expect(Number(limited.headers["retry-after"])).to.be.within(1, 60);
      const page = await get(w, "/");
      expect(page.status).to.equal(200);
      expect(page.headers["content-type"]).to.match(/^text\/html/);
      expect((await get(w, "/assets/main-ABC123.js")).status).to.equal(200);
    });
  });

  describe("behind a reverse proxy", () => {
    const from = (w: Awaited<ReturnType<typeof createWorld>>, client: string) => get(w, "/v1/programmes").set("X-Forwarded-For", client);

    it("keys the limit on the forwarded client when the proxy is trusted", async () => {
      const w = await createWorld({ config: { rateLimit: { publicPerMinute: 2, adminPerMinute: 100 }, trustProxy: "loopback" } });
      for (let i = 0; i < 2; i++) expect((await from(w, "203.0.113.7")).status).to.equal(200);
      expectProblem(await from(w, "203.0.113.7"), 429);
      expect((await from(w, "198.51.100.9")).status, "another client behind the same proxy").to.equal(200);
    });

    it("ignores X-Forwarded-For by default, so a client cannot pick its own key", async () => {
      const w = await createWorld({ config: { rateLimit: { publicPerMinute: 2, adminPerMinute: 100 } } });
      expect((await from(w, "203.0.113.1")).status).to.equal(200);
      expect((await from(w, "203.0.113.2")).status).to.equal(200);
      expectProblem(await from(w, "203.0.113.3"), 429);
    });
  });

  describe("when a client exceeds the admin rate limit", () => {
    it("answers 429 before authentication, while public routes still answer", async () => {
      const w = await createWorld({ config: { rateLimit: { publicPerMinute: 100, adminPerMinute: 2 } } });
      expectProblem(await get(w, "/v1/admin/tokens", "sl_guess"), 401);
      expect((await get(w, "/v1/admin/tokens", w.tokens.admin)).status).to.equal(200);
      const size = w.ledger.size;
      expectProblem(await post(w, "/v1/programmes", w.tokens.admin, programmeBody()), 429);
      expect(w.ledger.size).to.equal(size);
      expect((await get(w, "/v1/programmes")).status).to.equal(200);
    });
  });

  describe("when the body limit is configured", () => {
    it("answers 413 above it and records below it", async () => {
      const w = await createWorld({ config: { bodyLimit: "1kb" } });
      expectProblem(await post(w, "/v1/programmes", w.tokens.admin, programmeBody({ name: "长".repeat(400) })), 413);
      expect((await post(w, "/v1/programmes", w.tokens.admin, programmeBody())).status).to.equal(201);
    });
  });

  describe("when createApp gets a bad configuration", () => {
    const noReceipts = { logKey: "", accessCodes: new AccessCodes(new Uint8Array(32)) };
    const build = async (config: Parameters<typeof createApp>[0]["config"]) => {
      const store = new MemoryStore();
      const ledger = await Ledger.open({ store });
      return () =>
        createApp({ ledger, queries: new Queries({ store, size: () => ledger.size }), tokens: new Tokens(store, ledger.clock), logger: pino({ level: "silent" }), signedCheckpoint: async () => "", config, ...noReceipts });
    };
    for (const [desc, config] of [
      ["a zero public rate", { rateLimit: { publicPerMinute: 0, adminPerMinute: 10 } }],
      ["a fractional admin rate", { rateLimit: { publicPerMinute: 10, adminPerMinute: 1.5 } }],
      ["a body limit without a unit", { bodyLimit: "64", rateLimit: { publicPerMinute: 10, adminPerMinute: 10 } }],
      ["a negative body limit", { bodyLimit: "-1kb", rateLimit: { publicPerMinute: 10, adminPerMinute: 10 } }],
      ["a zero proxy hop count", { trustProxy: 0, rateLimit: { publicPerMinute: 10, adminPerMinute: 10 } }],
      ["trusting every proxy", { trustProxy: true as unknown as string, rateLimit: { publicPerMinute: 10, adminPerMinute: 10 } }],
      ["a proxy list with a space-separated junk entry", { trustProxy: "10.0.0.0/8; rm", rateLimit: { publicPerMinute: 10, adminPerMinute: 10 } }],
    ] as const) {
      it(`throws AppConfigError for ${desc}`, async () => {
        expect(await build(config)).to.throw(AppConfigError);
      });
    }

    it("defaults the body limit to 64kb", async () => {
      const store = new MemoryStore();
      const ledger = await Ledger.open({ store });
      const app = createApp({
        ledger,
        queries: new Queries({ store, size: () => ledger.size }),
        tokens: new Tokens(store, ledger.clock),
        logger: pino({ level: "silent" }),
        signedCheckpoint: async () => "",
        config: { rateLimit: { publicPerMinute: 10, adminPerMinute: 10 } },
        ...noReceipts,
      });
      const { token } = await createToken(store, ledger.clock, { official: "a", agency: "b", role: "admin" });
      const send = (bytes: number) =>
        request(app)
          .post("/v1/programmes")
          .set("Authorization", `Bearer ${token}`)
          .set("Idempotency-Key", `k${bytes}`)
          .set("Content-Type", "application/json")
          .send(JSON.stringify(programmeBody({ agency: "x".repeat(bytes) })));
      expectProblem(await send(66 * 1024), 413);
      // Just under the limit the body is read, and refused by the schema instead (agency is at most 200 characters).
      expectProblem(await send(63 * 1024), 400);
    });
  });
});
