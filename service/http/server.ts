/**
 * The HTTP server an Express app listens on, with requests and responses
 * born with the app's prototypes.
 *
 * Why. Express's `app.handle` gives every request and response the app's
 * prototypes with `Object.setPrototypeOf`. On objects node:http has already
 * built, V8 pays for that change of prototype beyond the call itself: with
 * it, about a fifth of the young generation survived each scavenge here
 * (Express 5, one GET route, one client), so each scavenge copied and
 * promoted megabytes and paused the event loop 2–4 ms, every hundred or so
 * requests; that pause was the inclusion proofs' p99. When node:http
 * constructs the request and response from classes whose prototypes *are*
 * `app.request` and `app.response`, Express's `setPrototypeOf` finds the
 * prototype already in place and changes nothing: 0 % survived, 0.3–0.5 ms
 * scavenges. Measure with `npm run bench:api`; the bare experiment is in
 * the README's Performance section.
 *
 * How. One subclass each of IncomingMessage and ServerResponse whose
 * prototype objects are spliced into Express's chains (`app.request` →
 * Express's request → IncomingMessage.prototype stays as it was, with the
 * subclass's prototype as the new `app.request`), made once per app.
 * Servers made otherwise (supertest's, `app.listen`) still work: Express
 * then sets the prototypes itself, as before.
 */
import { createServer, IncomingMessage, ServerResponse, type Server } from "node:http";
import type { Express } from "express";

/** Makes `app.request` and `app.response` the prototypes of the classes returned, once per app. */
function bornWithPrototypes(app: Express): { Request: typeof IncomingMessage; Response: typeof ServerResponse } {
  class Request extends IncomingMessage {}
  class Response<R extends IncomingMessage = IncomingMessage> extends ServerResponse<R> {}
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

const prepared = new WeakMap<Express, { Request: typeof IncomingMessage; Response: typeof ServerResponse }>();

/** An http.Server (not listening) that serves `app`, its requests and responses born with the app's prototypes. */
export function createAppServer(app: Express): Server {
  let classes = prepared.get(app);
  if (classes === undefined) {
    classes = bornWithPrototypes(app);
    prepared.set(app, classes);
  }
  return createServer({ IncomingMessage: classes.Request, ServerResponse: classes.Response }, app);
}
