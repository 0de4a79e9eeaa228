/**
 * The HTTP server an Express app listens on, with requests and responses
 * born with the app's prototypes, Node's timeouts and a connection cap set
 * (see ServerLimits), and a server that can listen before its app exists.
 *
 * Why. Express's `app.handle` gives every request and response the app's
 * prototypes with `Object.setPrototypeOf`. On objects node:http has already
 * built, V8 pays for that change of prototype beyond the call itself: much
 * of the young generation then survives each scavenge, so scavenges copy and
 * promote more and pause the event loop longer, and those pauses set the
 * inclusion proofs' tail latency. When node:http constructs the request and
 * response from classes whose prototypes *are* `app.request` and
 * `app.response`, Express's `setPrototypeOf` finds the prototype already in
 * place and changes nothing. `npm run bench:api` measures the service;
 * `npm run bench:http-floor` runs the bare experiment beside plain Express.
 *
 * How. One subclass each of IncomingMessage and ServerResponse whose
 * prototype objects are spliced into Express's chains (`app.request` →
 * Express's request → IncomingMessage.prototype stays as it was, with the
 * subclass's prototype as the new `app.request`), made once per app.
 * Servers made otherwise (supertest's, `app.listen`) still work: Express
 * then sets the prototypes itself, as before.
 */
import { createServer, IncomingMessage, ServerResponse, type RequestListener, type Server } from "node:http";
import type { Express } from "express";
import { PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_PREFIX } from "./problem";

/**
 * How long a client may take, and how many may connect at once. Node's
 * defaults let a client that sends its request slowly hold a connection for
 * 5 minutes (requestTimeout) and accept connections without bound.
 */
export interface ServerLimits {
  /** The request's headers must arrive within this (Node's default: 60 s). */
  readonly headersTimeoutMs: number;
  /** The whole request must arrive within this (Node's default: 5 min); at least headersTimeoutMs. */
  readonly requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  readonly keepAliveTimeoutMs: number;
  /** Connections beyond this many are dropped as they arrive. */
  readonly maxConnections: number;
}

/**
 * The defaults (LEDGER_HTTP_*, service/config.ts). Every request of this API
 * is small (64 kB at most by default), so 10 s for the headers and 30 s for
 * the whole request are generous on a slow mobile link yet end a slowloris
 * connection quickly. 5 s keep-alive is Node's own default: it saves a
 * browser's handshakes between a page's requests without holding idle
 * sockets. 1,000 connections stays well below a default 1,024-descriptor
 * limit (LevelDB and anvil need some) while far above what one node serves.
 */
export const DEFAULT_SERVER_LIMITS: ServerLimits = { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000, maxConnections: 1000 };

type Classes = { Request: typeof IncomingMessage; Response: typeof ServerResponse };

function newClasses(): Classes {
  class Request extends IncomingMessage {}
  class Response<R extends IncomingMessage = IncomingMessage> extends ServerResponse<R> {}
  return { Request, Response };
}

/** Makes `app.request` and `app.response` the prototypes of `classes` (fresh ones by default), once per app. */
function bornWithPrototypes(app: Express, { Request, Response }: Classes = newClasses()): Classes {
  for (const [cls, proto] of [
    [Request, app.request],
    [Response, app.response],
  ] as const) {
    // app.request is Object.create(express.request, { app }); keep both: the
    // same parent, and the same `app` property, on the subclass's prototype.
    Object.setPrototypeOf(cls.prototype, Object.getPrototypeOf(proto) as object);
    Object.defineProperty(cls.prototype, "app", { configurable: true, enumerable: true, writable: true, value: app });
  }
  app.request = Request.prototype as unknown as Express["request"];
  app.response = Response.prototype as unknown as Express["response"];
  return { Request, Response };
}

const prepared = new WeakMap<Express, Classes>();

/** A node:http server with `limits` applied, its requests and responses made from `classes`. */
function limitedServer(classes: Classes, limits: ServerLimits, listener: RequestListener): Server {
  const server = createServer(
    {
      IncomingMessage: classes.Request,
      ServerResponse: classes.Response,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Node enforces the headers and request timeouts on this sweep (30 s by default), so a
      // timeout ends within a quarter of itself, never later than one second after it.
      connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 4))),
    },
    listener,
  );
  server.maxConnections = limits.maxConnections;
  return server;
}

/** An http.Server (not listening) that serves `app`, its requests and responses born with the app's prototypes. */
export function createAppServer(app: Express, limits: ServerLimits = DEFAULT_SERVER_LIMITS): Server {
  let classes = prepared.get(app);
  if (classes === undefined) {
    classes = bornWithPrototypes(app);
    prepared.set(app, classes);
  }
  return limitedServer(classes, limits, app);
}

/** A server that listens before its app exists; see {@link createStartingServer}. */
export interface StartingServer {
  readonly server: Server;
  /** From now on, `app` answers every request (its requests born with its prototypes, as createAppServer's). Once only, with an app no other server serves. */
  serve(app: Express): void;
}

/**
 * A server (not listening) that answers every request with 503
 * problem+json "starting" until `serve(app)` is called. The entry point
 * binds its port with it before it creates anything durable, so a taken
 * port fails the start before any key, chain or token exists.
 */
export function createStartingServer(limits: ServerLimits = DEFAULT_SERVER_LIMITS): StartingServer {
  const classes = newClasses();
  const starting: RequestListener = (_req, res) => {
    const body = JSON.stringify({
      type: PROBLEM_TYPE_PREFIX + "starting",
      title: "Service starting",
      status: 503,
      detail: "the service is starting; try again in a moment",
    });
    res.writeHead(503, { "content-type": PROBLEM_CONTENT_TYPE, "retry-after": "1", "cache-control": "no-store" }).end(body);
  };
  const server = limitedServer(classes, limits, starting);
  let served = false;
  return {
    server,
    serve(app) {
      if (served || prepared.has(app)) throw new Error("serve: this server already serves an app, or the app is already served by another server");
      served = true;
      prepared.set(app, bornWithPrototypes(app, classes));
      server.removeListener("request", starting);
      server.on("request", app);
    },
  };
}

/**
 * Stops `server` within about `graceMs`: it stops accepting at once and
 * closes idle keep-alive connections; requests in flight get `graceMs` to
 * finish, then every connection left is closed. Resolves once the server is
 * closed.
 */
export async function closeServer(server: Server, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), graceMs);
  try {
    await closed;
  } finally {
    clearTimeout(timer);
  }
}
