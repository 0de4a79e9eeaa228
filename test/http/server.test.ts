/**
 * createAppServer (service/http/server.ts): Express's per-request change of
 * prototype becomes a no-op, and the API answers exactly as through a plain
 * server; its timeouts and connection cap hold against slow and numerous
 * clients; the starting server answers 503 until the app is served; and
 * closeServer ends keep-alive and stalled connections within its grace.
 */
import { IncomingMessage, ServerResponse, type Server } from "node:http";
import net from "node:net";
import { expect } from "chai";
import express from "express";
import request from "supertest";
import { closeServer, createAppServer, createStartingServer, DEFAULT_SERVER_LIMITS, type ServerLimits } from "../../service/http/server";
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

/** Listens on a free loopback port; resolves with the port. */
async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const address = server.address();
  if (address === null || typeof address !== "object") throw new Error("no address");
  return address.port;
}

/** A raw TCP client: what it received, and when the server closed it (ms after connecting), or undefined while open. */
interface RawClient {
  readonly socket: net.Socket;
  readonly received: () => string;
  readonly closedAfterMs: () => number | undefined;
  readonly closed: Promise<number>;
}

async function connect(port: number): Promise<RawClient> {
  const socket = net.connect(port, "127.0.0.1");
  const t0 = Date.now();
  let data = "";
  let closedAt: number | undefined;
  socket.setEncoding("utf8");
  socket.on("data", (d: string) => (data += d));
  socket.on("error", () => undefined);
  const closed = new Promise<number>((resolve) =>
    socket.once("close", () => {
      closedAt = Date.now() - t0;
      resolve(closedAt);
    }),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("error", reject);
  });
  return { socket, received: () => data, closedAfterMs: () => closedAt, closed };
}

function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

function okApp(): express.Express {
  const app = express();
  app.get("/", (_req, res) => res.type("text/plain").send("ok"));
  app.post("/slow", (_req, _res) => undefined); // never answers: a request in flight
  return app;
}

describe("the server's limits", () => {
  const servers: Server[] = [];
  const sockets: net.Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await Promise.all(servers.splice(0).map((s) => closeServer(s, 0)));
  });
  const serve = (limits: ServerLimits) => {
    const server = createAppServer(okApp(), limits);
    servers.push(server);
    return server;
  };

  it("are applied to the server, with defaults tighter than Node's", () => {
    const limits: ServerLimits = { headersTimeoutMs: 1234, requestTimeoutMs: 5678, keepAliveTimeoutMs: 910, maxConnections: 11 };
    const server = serve(limits);
    expect({
      headersTimeoutMs: server.headersTimeout,
      requestTimeoutMs: server.requestTimeout,
      keepAliveTimeoutMs: server.keepAliveTimeout,
      maxConnections: server.maxConnections,
    }).to.deep.equal(limits);
    const byDefault = createAppServer(okApp());
    expect(byDefault.headersTimeout).to.equal(DEFAULT_SERVER_LIMITS.headersTimeoutMs).and.be.at.most(10_000);
    expect(byDefault.requestTimeout).to.equal(DEFAULT_SERVER_LIMITS.requestTimeoutMs).and.be.at.most(30_000);
    expect(byDefault.maxConnections).to.equal(DEFAULT_SERVER_LIMITS.maxConnections);
  });

  describe("when a client sends its headers slowly (slowloris)", () => {
    it("disconnects it once the headers timeout has passed, long before the request timeout", async function () {
      this.timeout(10_000);
      const port = await listen(serve({ headersTimeoutMs: 300, requestTimeoutMs: 5000, keepAliveTimeoutMs: 5000, maxConnections: 100 }));
      const c = await connect(port);
      sockets.push(c.socket);
      c.socket.write("GET / HTTP/1.1\r\nHost: localhost\r\n");
      // One more header line every 100 ms, never the blank line that ends them.
      let n = 0;
      const drip = setInterval(() => c.socket.writable && c.socket.write(`X-Drip-${n++}: a\r\n`), 100);
      try {
        const after = await within(3000, c.closed, "the slow client's disconnection");
        expect(after).to.be.at.least(250).and.below(2000);
        expect(c.received()).to.match(/^HTTP\/1\.1 408 /);
      } finally {
        clearInterval(drip);
      }
    });
  });

  describe("when a client keeps a request's body coming slowly", () => {
    it("disconnects it once the request timeout has passed", async function () {
      this.timeout(10_000);
      const port = await listen(serve({ headersTimeoutMs: 200, requestTimeoutMs: 600, keepAliveTimeoutMs: 5000, maxConnections: 100 }));
      const c = await connect(port);
      sockets.push(c.socket);
      c.socket.write("POST /slow HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n");
      const drip = setInterval(() => c.socket.writable && c.socket.write("a"), 100);
      try {
        const after = await within(4000, c.closed, "the slow body's disconnection");
        expect(after).to.be.at.least(500).and.below(2500);
      } finally {
        clearInterval(drip);
      }
    });
  });

  describe("when more clients connect than the cap", () => {
    it("drops the connection beyond the cap, keeps the others, and accepts again once one leaves", async function () {
      this.timeout(10_000);
      const port = await listen(serve({ headersTimeoutMs: 5000, requestTimeoutMs: 5000, keepAliveTimeoutMs: 5000, maxConnections: 2 }));
      const first = await connect(port);
      const second = await connect(port);
      sockets.push(first.socket, second.socket);
      // Let the server accept both before the third arrives.
      await new Promise((r) => setTimeout(r, 100));
      const third = await connect(port);
      sockets.push(third.socket);
      third.socket.write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
      await within(2000, third.closed, "the connection beyond the cap being dropped");
      expect(third.received(), "nothing is served beyond the cap").to.equal("");
      expect(first.closedAfterMs()).to.equal(undefined);
      expect(second.closedAfterMs()).to.equal(undefined);
      first.socket.write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
      await within(2000, new Promise<void>((resolve) => first.socket.on("data", () => first.received().endsWith("ok") && resolve())), "an answer within the cap");
      second.socket.destroy();
      await new Promise((r) => setTimeout(r, 100));
      const fourth = await connect(port);
      sockets.push(fourth.socket);
      fourth.socket.write("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
      await within(2000, fourth.closed, "an answer once below the cap again");
      expect(fourth.received()).to.match(/^HTTP\/1\.1 200 [\s\S]*ok$/);
    });
  });
});

describe("createStartingServer", () => {
  it("answers 503 problem+json \"starting\" until the app is served, then the app answers on the same port", async () => {
    const starting = createStartingServer({ ...DEFAULT_SERVER_LIMITS });
    const port = await listen(starting.server);
    try {
      const before = await fetch(`http://127.0.0.1:${port}/`);
      expect(before.status).to.equal(503);
      expect(before.headers.get("content-type")).to.match(/^application\/problem\+json/);
      expect(before.headers.get("retry-after")).to.equal("1");
      expect(await before.json()).to.include({ status: 503, title: "Service starting" });
      const app = okApp();
      starting.serve(app);
      const after = await fetch(`http://127.0.0.1:${port}/`);
      expect(after.status).to.equal(200);
      expect(await after.text()).to.equal("ok");
      expect(() => starting.serve(okApp())).to.throw(/already/);
      // Requests are born with the app's prototypes, as createAppServer's are.
      expect(await prototypeChanges(() => request(starting.server).get("/").expect(200))).to.equal(0);
    } finally {
      await closeServer(starting.server, 0);
    }
  });
});

describe("closeServer", () => {
  it("ends idle keep-alive connections at once and a request still in flight after the grace", async function () {
    this.timeout(10_000);
    const server = createAppServer(okApp());
    const port = await listen(server);
    const idle = await connect(port);
    idle.socket.write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    await within(2000, new Promise<void>((resolve) => idle.socket.on("data", () => idle.received().endsWith("ok") && resolve())), "the keep-alive answer");
    const busy = await connect(port);
    busy.socket.write("POST /slow HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\nab");
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    await within(3000, closeServer(server, 500), "closeServer");
    expect(Date.now() - t0).to.be.at.least(400).and.below(2000);
    expect(await within(1000, idle.closed, "the idle connection")).to.be.a("number");
    expect(await within(1000, busy.closed, "the busy connection")).to.be.a("number");
  });
});
