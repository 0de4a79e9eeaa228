/**
 * The router that serves the portal: the page with the configured RPC URL,
 * the Content-Security-Policy, hashed assets, and a clear answer when the
 * portal has not been built.
 */
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import express from "express";
import request from "supertest";
import { parseWitnessPolicy } from "../../service/format";
import { cosignerKeyOf, noteKeyFromSeed, parseSignerKey } from "../../service/log";
import { portalCsp, portalRouter, PortalConfigError } from "../../service/http/portal";

describe("the portal router", function () {
  let dir: string;
  before(async function () {
    dir = await mkdtemp(path.join(tmpdir(), "ledger-portal-router-"));
    await mkdir(path.join(dir, "assets"));
    await writeFile(path.join(dir, "index.html"), '<html><head><meta name="ledger-rpc-url" content=""></head><body></body></html>');
    await writeFile(path.join(dir, "assets", "main-ABC123.js"), "console.log(1)");
  });
  after(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  function app(options: Parameters<typeof portalRouter>[0]) {
    const a = express();
    a.use(portalRouter(options));
    a.use((_req, res) => void res.status(404).end());
    a.use(((err, _req, res, _next) => void res.status((err as { status?: number }).status ?? 500).json({ type: (err as { slug?: string }).slug })) as express.ErrorRequestHandler);
    return a;
  }

  it("puts the given rate limiter in front of the page and the assets", async function () {
    let seen = 0;
    const a = express();
    a.use(
      portalRouter({ dir }, (_req, res) => {
        seen += 1;
        res.status(429).end();
      }),
    );
    expect((await request(a).get("/")).status).to.equal(429);
    expect((await request(a).get("/assets/main-ABC123.js")).status).to.equal(429);
    expect(seen).to.equal(2);
  });

  it("serves the page with the RPC URL in its meta tag, and a CSP that allows only this origin and the RPC origin", async function () {
    const res = await request(app({ dir, rpcUrl: "http://127.0.0.1:8545" })).get("/");
    expect(res.status).to.equal(200);
    expect(res.text).to.include('<meta name="ledger-rpc-url" content="http://127.0.0.1:8545">');
    expect(res.headers["content-security-policy"]).to.equal(portalCsp("http://127.0.0.1:8545"));
    expect(res.headers["content-security-policy"]).to.include("connect-src 'self' http://127.0.0.1:8545;");
    expect(res.headers["content-security-policy"]).to.include("script-src 'self';");
    expect(res.headers["content-security-policy"]).not.to.include("unsafe");
    expect(res.headers["cache-control"]).to.equal("no-cache");
  });

  it("allows no other connection when no RPC URL is configured", async function () {
    const res = await request(app({ dir })).get("/");
    expect(res.headers["content-security-policy"]).to.include("connect-src 'self';");
    expect(res.text).to.include('<meta name="ledger-rpc-url" content="">');
  });

  it("serves hashed assets for a year, with the same CSP, and 404s unknown ones", async function () {
    const a = app({ dir });
    const res = await request(a).get("/assets/main-ABC123.js");
    expect(res.status).to.equal(200);
    expect(res.headers["cache-control"]).to.match(/max-age=31536000.*immutable/);
    expect(res.headers["content-security-policy"]).to.equal(portalCsp(undefined));
    expect((await request(a).get("/assets/nope.js")).status).to.equal(404);
  });

  it("answers 503 portal-not-built when the assets are missing", async function () {
    const res = await request(app({ dir: path.join(dir, "missing") })).get("/");
    expect(res.status).to.equal(503);
    expect(res.body.type).to.include("portal-not-built");
  });

  it("refuses an RPC URL with credentials or another scheme", function () {
    expect(() => portalRouter({ dir, rpcUrl: "https://user:secret@node.example" })).to.throw(PortalConfigError);
    expect(() => portalRouter({ dir, rpcUrl: "ws://node.example" })).to.throw(PortalConfigError);
    expect(() => portalRouter({ dir, rpcUrl: "not a url" })).to.throw(PortalConfigError);
  });

  describe("the keys the page trusts, at /portal/trust", function () {
    const logKey = noteKeyFromSeed("portal.example.gov/log", new Uint8Array(32).fill(7)).verifierKey;

    it("are the log key and the witness policy, in the tlog-policy format the page parses", async function () {
      const w = [1, 2, 3].map((i) => cosignerKeyOf(parseSignerKey(noteKeyFromSeed(`w${i}.example.org`, new Uint8Array(32).fill(90 + i)).signerKey)));
      const policy = parseWitnessPolicy(`witness w1 ${w[0]} http://127.0.0.1:1\nwitness w2 ${w[1]}\nwitness w3 ${w[2]}\ngroup two-of-three 2 w1 w2 w3\nquorum two-of-three\n`);
      const res = await request(app({ dir, logKey, witnessPolicy: policy })).get("/portal/trust");
      expect(res.status).to.equal(200);
      expect(res.headers["content-type"]).to.match(/^text\/plain/);
      const served = parseWitnessPolicy(res.text);
      expect(served.logs.map((l) => l.vkey)).to.deep.equal([logKey]);
      expect(served.witnesses.map((x) => [x.name, x.vkey])).to.deep.equal([
        ["w1", w[0]],
        ["w2", w[1]],
        ["w3", w[2]],
      ]);
      expect(served.groups).to.deep.equal([{ name: "two-of-three", threshold: 2, members: ["w1", "w2", "w3"] }]);
      expect(served.quorum).to.equal("two-of-three");
    });

    it("say quorum none when the service has no witnesses", async function () {
      const res = await request(app({ dir, logKey, witnessPolicy: null })).get("/portal/trust");
      expect(res.text).to.equal(`log ${logKey}\nquorum none\n`);
    });

    it("are not served when no log key was given", async function () {
      expect((await request(app({ dir })).get("/portal/trust")).status).to.equal(404);
    });
  });
});
