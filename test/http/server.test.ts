/**
 * createAppServer (service/http/server.ts): Express's per-request change of
 * prototype becomes a no-op, and the API answers exactly as through a plain
 * server.
 */
import { IncomingMessage, ServerResponse } from "node:http";
import { expect } from "chai";
import request from "supertest";
import { createAppServer } from "../../service/http/server";
import { createWorld, newKey, programmeBody, type World } from "./helpers";

/**
 * Runs `fn` while counting the Object.setPrototypeOf calls that give an HTTP
 * request or response a prototype other than the one it has.
 */
async function prototypeChanges(fn: () => Promise<unknown>): Promise<number> {
  const original = Object.setPrototypeOf;
  let changes = 0;
  Object.setPrototypeOf = function (o: object, proto: object | null) {
    if ((o instanceof IncomingMessage || o instanceof ServerResponse) && Object.getPrototypeOf(o) !== proto) changes++;
    return original(o, proto);
  } as typeof Object.setPrototypeOf;
  try {
    await fn();
  } finally {
    Object.setPrototypeOf = original;
  }
  return changes;
}

describe("createAppServer", () => {
  let w: World;

  before(async () => {
    w = await createWorld();
  });

  it("hands Express requests and responses that already have the app's prototypes", async () => {
    const through = await prototypeChanges(() => request(w.server).get("/v1/log/checkpoint").expect(200));
    expect(through).to.equal(0);
    // The same app behind a plain node:http server (what supertest builds from an app): Express
    // changes both objects' prototypes, which is what the counter is there to see.
    const plain = await prototypeChanges(() => request(w.app).get("/v1/log/checkpoint").expect(200));
    expect(plain).to.be.at.least(2);
  });

  it("answers a write and a read as a plain server does: headers, body, problem details", async () => {
    const key = newKey();
    const body = JSON.stringify(programmeBody());
    const postProgramme = (target: Parameters<typeof request>[0]) =>
      request(target)
        .post("/v1/programmes")
        .set("Content-Type", "application/json")
        .set("Authorization", `Bearer ${w.tokens.admin}`)
        .set("Idempotency-Key", key)
        .send(body)
        .expect(201);
    const created = await postProgramme(w.server);
    const id = (created.body as { id: string }).id;
    // The replay through the plain server is the same response.
    const replay = await postProgramme(w.app);
    expect(replay.body).to.deep.equal(created.body);

    const [viaServer, viaApp] = await Promise.all([request(w.server).get(`/v1/entries/${id}`), request(w.app).get(`/v1/entries/${id}`)]);
    expect(viaServer.status).to.equal(200);
    expect(viaServer.body).to.deep.equal(viaApp.body);
    for (const h of ["content-type", "content-security-policy", "x-content-type-options", "strict-transport-security", "ratelimit-policy"]) {
      expect(viaServer.headers[h], h).to.equal(viaApp.headers[h]);
    }

    const missing = await request(w.server).get("/v1/no-such-route").expect(404);
    expect(missing.headers["content-type"]).to.match(/^application\/problem\+json/);
    expect(missing.body).to.include({ status: 404 });
  });

  it("gives two servers of one app the same classes, and both serve", async () => {
    const second = createAppServer(w.app);
    const changes = await prototypeChanges(() => Promise.all([request(second).get("/v1/health").expect(200), request(w.server).get("/v1/health").expect(200)]));
    expect(changes).to.equal(0);
  });
});
