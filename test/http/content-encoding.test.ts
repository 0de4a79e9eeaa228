/**
 * Request bodies are never compressed: any Content-Encoding other than
 * identity is a 415 problem+json with `Accept-Encoding: identity` (RFC 7694),
 * whether the body is really compressed or only claims to be, and nothing is
 * recorded. And no error of reading a body reaches a 500.
 */
import { request as httpRequest, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import { expect } from "chai";
import request from "supertest";
import { listTokens } from "../../service/auth/tokens";
import { toProblem } from "../../service/http/problem";
import { MemoryStore } from "../../service/store/memory";
import { createWorld, expectProblem, newKey, programmeBody, type Holder, type World } from "./helpers";

const ROUTES: readonly { readonly path: string; readonly as: Holder; readonly body: () => unknown; readonly idempotent: boolean }[] = [
  { path: "/v1/programmes", as: "admin", body: () => programmeBody(), idempotent: true },
  { path: "/v1/batch", as: "admin", body: () => ({ records: [{ kind: "programme", body: programmeBody() }] }), idempotent: true },
  { path: "/v1/admin/tokens", as: "admin", body: () => ({ official: "clerk.new", agency: "市工信局", role: "clerk" }), idempotent: false },
];

const ENCODINGS: readonly { readonly header: string; readonly compress: (b: Buffer) => Buffer }[] = [
  { header: "gzip", compress: (b) => gzipSync(b) },
  { header: "deflate", compress: (b) => deflateSync(b) },
  { header: "br", compress: (b) => brotliCompressSync(b) },
  { header: "GZIP", compress: (b) => gzipSync(b) },
  { header: "x-gzip", compress: (b) => gzipSync(b) },
  { header: "zstd", compress: (b) => b },
  { header: "compress", compress: (b) => b },
  { header: "x-unknown-coding", compress: (b) => b },
  { header: "gzip, identity", compress: (b) => gzipSync(b) },
];

interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

/**
 * POSTs `payload` byte for byte. (supertest would serialise a Buffer as JSON
 * when the Content-Type is JSON, so a compressed body would never be sent.)
 */
function postRaw(server: Server, path: string, headers: Record<string, string>, payload: Buffer): Promise<RawResponse> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, method: "POST", path, headers: { ...headers, "Content-Length": String(payload.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(payload);
  });
}

function send(w: World, route: (typeof ROUTES)[number], encoding: string | null, payload: Buffer): Promise<RawResponse> {
  const headers: Record<string, string> = { Authorization: `Bearer ${w.tokens[route.as]}`, "Content-Type": "application/json" };
  if (route.idempotent) headers["Idempotency-Key"] = newKey();
  if (encoding !== null) headers["Content-Encoding"] = encoding;
  return postRaw(w.server, route.path, headers, payload);
}

describe("HTTP API, Content-Encoding of request bodies", () => {
  let w: World;
  before(async () => {
    w = await createWorld();
    await new Promise<void>((resolve) => w.server.listen(0, "127.0.0.1", resolve));
  });
  after(async () => {
    await new Promise<void>((resolve) => w.server.close(() => resolve()));
  });

  /** Runs `act` and checks that it appended, committed and logged as an error nothing, and created no token. */
  async function expectNothingRecorded(act: () => Promise<void>): Promise<void> {
    const store = w.store as MemoryStore;
    const size = w.ledger.size;
    const commits = store.commits;
    const tokens = (await listTokens(store)).length;
    const lines = w.logLines.length;
    await act();
    expect(w.ledger.size, "tree size").to.equal(size);
    expect(store.commits, "commits").to.equal(commits);
    expect((await listTokens(store)).length, "tokens").to.equal(tokens);
    const errors = w.logLines.slice(lines).filter((l) => (JSON.parse(l) as { level: number }).level >= 50);
    expect(errors, "error log lines").to.deep.equal([]);
  }

  for (const route of ROUTES) {
    describe(`on POST ${route.path}`, () => {
      for (const enc of ENCODINGS) {
        for (const real of [true, false]) {
          describe(`with Content-Encoding: ${enc.header} and a ${real ? "really compressed" : "plain (falsely labelled)"} body`, () => {
            it("answers 415 problem+json with Accept-Encoding: identity, and records nothing", async () => {
              await expectNothingRecorded(async () => {
                const plain = Buffer.from(JSON.stringify(route.body()));
                const res = await send(w, route, enc.header, real ? enc.compress(plain) : plain);
                const problem = expectProblem(res, 415);
                expect(problem["type"]).to.equal("urn:subsidy-ledger:problem:unsupported-content-encoding");
                expect(res.headers["accept-encoding"]).to.equal("identity");
              });
            });
          });
        }
      }

      describe("with Content-Encoding: identity", () => {
        it("reads the body as it is", async () => {
          const res = await send(w, route, "identity", Buffer.from(JSON.stringify(route.body())));
          expect(res.status, res.text).to.equal(201);
        });
      });
    });
  }

  describe("a body in another charset than UTF-8", () => {
    for (const charset of ["utf-16le", "utf-16", "utf-32", "iso-8859-1"]) {
      it(`answers 415 for charset=${charset} and records nothing`, async () => {
        await expectNothingRecorded(async () => {
          const res = await request(w.server)
            .post("/v1/programmes")
            .set("Authorization", `Bearer ${w.tokens.admin}`)
            .set("Idempotency-Key", newKey())
            .set("Content-Type", `application/json; charset=${charset}`)
            .send(Buffer.from(JSON.stringify(programmeBody()), charset === "utf-16le" || charset === "utf-16" ? "utf16le" : "latin1"));
          expectProblem(res, 415);
        });
      });
    }

    it("reads charset=UTF-8 (any case, quoted or not)", async () => {
      for (const ct of ['application/json; charset="UTF-8"', "application/json;charset=utf-8"]) {
        const res = await request(w.server)
          .post("/v1/programmes")
          .set("Authorization", `Bearer ${w.tokens.admin}`)
          .set("Idempotency-Key", newKey())
          .set("Content-Type", ct)
          .send(JSON.stringify(programmeBody()));
        expect(res.status, `${ct}: ${res.text}`).to.equal(201);
      }
    });
  });

  describe("the error mapping", () => {
    it("maps a 4xx http-error without a body-parser type (a stream error body-parser wrapped) to a 4xx, not a 500", () => {
      const wrapped = Object.assign(new Error("incorrect header check"), { status: 400, statusCode: 400, expose: true, errno: -3, code: "Z_DATA_ERROR" });
      const { problem, unexpected } = toProblem(wrapped);
      expect(problem.status).to.equal(400);
      expect(unexpected).to.equal(false);
      expect(problem.detail).to.not.include("incorrect header check");
    });

    for (const [type, status] of [
      ["entity.parse.failed", 400],
      ["entity.too.large", 413],
      ["encoding.unsupported", 415],
      ["charset.unsupported", 415],
      ["request.aborted", 400],
      ["request.size.invalid", 400],
      ["stream.encoding.set", 400],
      ["stream.not.readable", 400],
      ["entity.verify.failed", 403],
      ["some.future.type", 400],
    ] as const) {
      it(`maps body-parser's ${type} to ${status}`, () => {
        const e = Object.assign(new Error("x"), { type, status: type === "some.future.type" ? 400 : status, expose: true });
        const { problem, unexpected } = toProblem(e);
        expect(problem.status).to.equal(status);
        expect(unexpected).to.equal(false);
      });
    }

    it("maps the router's URIError for a bad percent-encoding (status 400, no type) to 400", () => {
      const e = Object.assign(new URIError("Failed to decode param '%E0%A4%A'"), { status: 400, statusCode: 400 });
      expect(toProblem(e).problem.status).to.equal(400);
      expect(toProblem(e).problem.detail).to.not.include("%E0");
    });

    it("still maps an unknown error, or one with a 5xx status, to a bare 500", () => {
      const down = toProblem(Object.assign(new Error("db down"), { status: 503, expose: false }));
      expect(down.problem.status).to.equal(500);
      expect(down.unexpected).to.equal(true);
      expect(toProblem(new TypeError("bug")).unexpected).to.equal(true);
    });
  });

  describe("a path that is not valid percent-encoding", () => {
    it("answers a 4xx problem+json, not a 500", async () => {
      const res = await request(w.server).get("/v1/entries/%E0%A4%A");
      expect(res.status).to.be.within(400, 499);
      expectProblem(res, res.status);
    });
  });
});
