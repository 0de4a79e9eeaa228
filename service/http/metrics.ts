/**
 * `GET /metrics`: the operators' metrics (service/metrics) in Prometheus's
 * text format, and the middleware that counts every request by its route.
 *
 * Protection (LEDGER_METRICS_*, service/metrics/config.ts), one of:
 * - its own bearer token, on the public port: a scrape without it is 401
 *   problem+json and shows nothing;
 * - a separate address (metricsOnlyApp), on which only /metrics is served:
 *   a firewall or the bind address keeps it private, and the token, if also
 *   set, is required there too.
 * With neither, /metrics is not served at all (404 on the public port):
 * process and error figures are for operators, and serving them unprotected
 * because a setting was forgotten is the failure to avoid.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import express, { type ErrorRequestHandler, type RequestHandler } from "express";
import { NO_ROUTE, type ServiceMetrics } from "../metrics/metrics";
import { HttpProblem, sendProblem, toProblem } from "./problem";

export const METRICS_PATH = "/metrics";

/**
 * Counts each request once its response is finished, labelled with the
 * pattern of the route that answered it (`/v1/entries/:id`), never the raw
 * path, so ids in URLs cannot grow the label set. Requests no route matched
 * (404s, the portal's static assets) share the label {@link NO_ROUTE}.
 */
export function countRequests(metrics: ServiceMetrics): RequestHandler {
  return (req, res, next) => {
    const started = performance.now();
    res.on("finish", () => {
      const path: unknown = (req.route as { path?: unknown } | undefined)?.path;
      const route = typeof path === "string" ? `${req.baseUrl}${path}` : NO_ROUTE;
      metrics.httpRequest(req.method, route, res.statusCode, (performance.now() - started) / 1000);
    });
    next();
  };
}

const digest = (s: string): Buffer => createHash("sha256").update(s, "utf8").digest();

/**
 * Requires `Authorization: Bearer <token>`. The comparison is of the two
 * SHA-256 digests in constant time, so neither the token's characters nor
 * its length leak through timing.
 */
function requireMetricsToken(token: string): RequestHandler {
  const want = digest(token);
  return (req, _res, next) => {
    const m = /^Bearer ([\x21-\x7e]+)$/.exec(req.get("authorization") ?? "");
    if (m === null || !timingSafeEqual(digest(m[1]!), want))
      throw new HttpProblem(401, "unauthorized", "Unauthorized", "scraping the metrics needs the metrics token: Authorization: Bearer <LEDGER_METRICS_TOKEN>", {
        headers: { "WWW-Authenticate": 'Bearer realm="metrics"' },
      });
    next();
  };
}

export interface MetricsRouteDeps {
  readonly metrics: ServiceMetrics;
  /** Required as a bearer token when set. */
  readonly token?: string;
  readonly limiter?: RequestHandler;
}

/** The router serving GET /metrics. */
export function metricsRouter(deps: MetricsRouteDeps): express.Router {
  const router = express.Router({ caseSensitive: true, strict: true });
  const guards: RequestHandler[] = [...(deps.limiter ? [deps.limiter] : []), ...(deps.token !== undefined ? [requireMetricsToken(deps.token)] : [])];
  router.get(METRICS_PATH, ...guards, async (_req, res) => {
    const text = await deps.metrics.text();
    res.setHeader("Cache-Control", "no-store");
    res.setHeader("Content-Type", deps.metrics.contentType);
    res.send(text);
  });
  return router;
}

/**
 * The app for LEDGER_METRICS_ADDRESS: GET /metrics and nothing else (any
 * other path is 404 problem+json), so the metrics port exposes no API.
 */
export function metricsOnlyApp(deps: Omit<MetricsRouteDeps, "limiter">): express.Express {
  const app = express();
  app.set("x-powered-by", false);
  app.use(metricsRouter(deps));
  app.use((req, _res, next) => next(new HttpProblem(404, "not-found", "Not found", `only ${METRICS_PATH} is served on this address`)));
  const errors: ErrorRequestHandler = (err: unknown, _req, res, _next) => {
    const { problem, headers } = toProblem(err);
    if (res.headersSent) {
      res.end();
      return;
    }
    sendProblem(res, problem, headers);
  };
  app.use(errors);
  return app;
}
