/**
 * The HTTP service: `createApp(deps)` builds the Express app from its
 * dependencies and never listens (only main.ts does).
 *
 * Layers, outermost first: request id and access log → helmet → admin
 * routes (admin rate limit, bearer token, role) and public routes (public
 * rate limit) → 404 → the error handler, which turns every error into RFC
 * 9457 problem+json without a stack trace.
 *
 * The access log records method, URL, status, duration, request id and the
 * token's public id. It never records headers (so never Authorization) or
 * bodies (so never private values or a created token).
 */
import { randomUUID } from "node:crypto";
import express, { type ErrorRequestHandler, type RequestHandler } from "express";
import { rateLimit } from "express-rate-limit";
import helmet from "helmet";
import type pino from "pino";
import type { Ledger } from "../ledger/ledger";
import type { TokenRecord, Tokens } from "./tokens";
import type { Queries } from "../queries/queries";
import { adminRouter } from "./admin";
import { openApiDocument } from "./openapi";
import { requireIdentityEncoding } from "./middleware";
import { HttpProblem, sendProblem, toProblem } from "./problem";
import { publicRouter } from "./public";
import { receiptRouter, type AnchoringInfo } from "./receipts";
import { portalRouter, type PortalOptions } from "./portal";
import { tlogRouter, type TlogRouteDeps } from "./tlog";
import type { AccessCodes } from "../auth/access-codes";
import type { ServiceMetrics } from "../metrics/metrics";
import { countRequests, metricsRouter } from "./metrics";
import { feedRouter } from "./feed";
import { parseVerifierKey } from "../log";
import { SharedRateLimitStore } from "./rate-limit-store";
import type { RateLimitCounters } from "../rate-limits";

export interface AppConfig {
  /** Largest accepted JSON body, in body-parser's syntax ("64kb"). Default "64kb". */
  readonly bodyLimit?: string;
  readonly rateLimit: {
    /** Requests per minute per client IP on public routes. */
    readonly publicPerMinute: number;
    /** Requests per minute per client IP on admin routes. */
    readonly adminPerMinute: number;
    /** Requests per minute per client IP under /tlog/ (tiles, bundles, checkpoint). Default: publicPerMinute. */
    readonly tlogPerMinute?: number;
  };
  /**
   * Which reverse proxies to believe about the client's address (Express's
   * "trust proxy"): a hop count, or a comma-separated list of addresses,
   * CIDR subnets or the names loopback / linklocal / uniquelocal. Default:
   * none, so rate limits key on the connecting address. Never "trust all",
   * which would let any client pick its own rate-limit key with X-Forwarded-For.
   */
  readonly trustProxy?: number | string | false;
}

export interface AppDeps {
  /** The sequencer: every recording route submits to it. */
  readonly ledger: Ledger;
  /** The read model: every route that shows something asks it. */
  readonly queries: Queries;
  /** Authentication and the admin's token management. */
  readonly tokens: Tokens;
  readonly logger: pino.Logger;
  /** The latest signed C2SP checkpoint, as note text. */
  readonly signedCheckpoint: () => Promise<string>;
  /** Health report; `ok: false` answers 503. Default: ok with the tree size. */
  readonly health?: () => Promise<Record<string, unknown> & { ok: boolean }>;
  readonly config: AppConfig;
  /** The log's C2SP verifier key, published at /v1/log/key and in receipts. */
  readonly logKey: string;
  /** Derives and checks enterprise access codes. */
  readonly accessCodes: AccessCodes;
  /** Where the log is anchored; absent when the service runs without a chain. */
  readonly anchoring?: AnchoringInfo;
  /** The transparency portal at `/` (service/http/portal.ts); absent: not served. */
  readonly portal?: PortalOptions;
  /** The published log, served as C2SP tlog-tiles under /tlog/ (service/http/tlog.ts); absent: not served. */
  readonly tiles?: TlogRouteDeps["tiles"];
  /** The operators' metrics: requests and rate-limit refusals are counted into them. Absent: nothing is counted. */
  readonly metrics?: ServiceMetrics;
  /**
   * Serve GET /metrics here, to scrapers that send this bearer token (service/http/metrics.ts).
   * Absent: /metrics is not served by this app (it is on LEDGER_METRICS_ADDRESS, or off).
   */
  readonly metricsToken?: string;
  /** Counters shared by every replica, for the rate limits (service/http/rate-limit-store.ts); absent: this process's memory. */
  readonly rateLimitCounters?: RateLimitCounters;
}

/** Thrown by createApp for a configuration it cannot run with. */
export class AppConfigError extends Error {
  override readonly name = "AppConfigError";
}

const BODY_LIMIT = /^[1-9][0-9]*(b|kb|mb)$/;

function checkConfig(config: AppConfig): Required<AppConfig> {
  const bodyLimit = config.bodyLimit ?? "64kb";
  if (!BODY_LIMIT.test(bodyLimit)) throw new AppConfigError(`bodyLimit ${JSON.stringify(bodyLimit)} is not a size like "64kb"`);
  for (const [k, v] of Object.entries(config.rateLimit))
    if (!Number.isSafeInteger(v) || v < 1) throw new AppConfigError(`rateLimit.${k} must be a positive integer, got ${String(v)}`);
  const trustProxy = config.trustProxy ?? false;
  if (typeof trustProxy === "number" && !(Number.isSafeInteger(trustProxy) && trustProxy >= 1))
    throw new AppConfigError(`trustProxy must be a positive hop count, got ${trustProxy}`);
  if (typeof trustProxy === "string" && !/^[0-9A-Za-z.:/]+(\s*,\s*[0-9A-Za-z.:/]+)*$/.test(trustProxy))
    throw new AppConfigError(`trustProxy ${JSON.stringify(trustProxy)} is not a list of addresses, subnets or loopback/linklocal/uniquelocal`);
  if (trustProxy === (true as unknown)) throw new AppConfigError("trustProxy may not be true (trust every proxy): name the proxies or give a hop count");
  return { bodyLimit, rateLimit: config.rateLimit, trustProxy };
}

/** Replaces anything that looks like a token in a URL, in case a client put one in a query string. */
export function redactUrl(url: string): string {
  const cut = url.length > 2048 ? `${url.slice(0, 2048)}…` : url;
  return cut.replace(/sl_[A-Za-z0-9_-]+/g, "sl_[redacted]").replace(/ac_[A-Za-z0-9_-]+/g, "ac_[redacted]");
}

export function createApp(deps: AppDeps): express.Express {
  const config = checkConfig(deps.config);
  const log = deps.logger.child({ component: "http" });

  const limiter = (perMinute: number, scope: "public" | "admin" | "/tlog/"): RequestHandler =>
    rateLimit({
      windowMs: 60_000,
      limit: perMinute,
      ...(deps.rateLimitCounters !== undefined ? { store: new SharedRateLimitStore(deps.rateLimitCounters, scope) } : {}),
      standardHeaders: "draft-7",
      legacyHeaders: false,
      logger: {
        error: (e: unknown, message?: string) => log.error({ err: errorSummary(e) }, message ?? "rate limiter error"),
        warn: (e: unknown, message?: string) => log.warn({ err: errorSummary(e) }, message ?? "rate limiter warning"),
      },
      handler: (_req, _res, next) => {
        deps.metrics?.rateLimited(scope === "/tlog/" ? "tlog" : scope);
        next(new HttpProblem(429, "rate-limited", "Too many requests", `the ${scope} rate limit is ${perMinute} requests per minute; retry after the Retry-After seconds`));
      },
    });
  const publicLimit = limiter(config.rateLimit.publicPerMinute, "public");
  const adminLimit = limiter(config.rateLimit.adminPerMinute, "admin");
  const tlogLimit = limiter(config.rateLimit.tlogPerMinute ?? config.rateLimit.publicPerMinute, "/tlog/");

  const app = express();
  app.set("query parser", "simple");
  app.set("x-powered-by", false);
  app.set("trust proxy", config.trustProxy);

  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    const requestId = randomUUID();
    res.locals["requestId"] = requestId;
    res.setHeader("X-Request-Id", requestId);
    res.on("finish", () => {
      const token = res.locals["token"] as TokenRecord | undefined;
      // Mirrors, CDNs and portals poll the published log in bulk; its successful reads are counted in /metrics, not logged one by one.
      const quiet = req.path.startsWith("/tlog/") && res.statusCode < 400;
      log[quiet ? "debug" : "info"](
        {
          requestId,
          method: req.method,
          url: redactUrl(req.originalUrl),
          status: res.statusCode,
          ms: Number(process.hrtime.bigint() - started) / 1e6,
          ...(token ? { tokenId: token.id, role: token.role } : {}),
          ...(typeof res.locals["problemType"] === "string" ? { problem: res.locals["problemType"] } : {}),
        },
        "request",
      );
    });
    next();
  });
  if (deps.metrics) app.use(countRequests(deps.metrics));
  app.use(helmet());
  // Another replica may have grown the log: an API read sees every entry acknowledged before it arrived
  // (one head read per request, a no-op when this process is the store's only writer).
  app.use((req, _res, next) => {
    if ((req.method === "GET" || req.method === "HEAD") && req.path.startsWith("/v1/")) deps.ledger.sync().then(() => next(), next);
    else next();
  });

  // Compressed bodies are refused (see requireIdentityEncoding); `inflate: false` makes body-parser refuse them too, should a route ever reach it another way.
  const parseJson = express.json({ limit: config.bodyLimit, strict: true, type: "application/json", inflate: false });
  const jsonBody: RequestHandler = (req, res, next) => requireIdentityEncoding(req, res, () => parseJson(req, res, next));
  app.use(adminRouter({ ledger: deps.ledger, queries: deps.queries, tokens: deps.tokens, limiter: adminLimit, jsonBody, accessCodes: deps.accessCodes }));
  app.use(
    receiptRouter({
      queries: deps.queries,
      tokens: deps.tokens,
      publicLimiter: publicLimit,
      adminLimiter: adminLimit,
      logKey: deps.logKey,
      accessCodes: deps.accessCodes,
      ...(deps.anchoring ? { anchoring: deps.anchoring } : {}),
    }),
  );
  app.use(
    publicRouter({
      queries: deps.queries,
      limiter: publicLimit,
      signedCheckpoint: deps.signedCheckpoint,
      ...(deps.health ? { health: deps.health } : {}),
      openApi: openApiDocument,
    }),
  );

  // The log key names the log's origin; read when a feed is first asked for.
  let origin: string | undefined;
  app.use(feedRouter({ queries: deps.queries, limiter: publicLimit, origin: () => (origin ??= parseVerifierKey(deps.logKey).name) }));
  if (deps.metrics && deps.metricsToken !== undefined) app.use(metricsRouter({ metrics: deps.metrics, token: deps.metricsToken, limiter: adminLimit }));

  // The portal's page and assets are outside the API's rate limit: they are small static files (the page is
  // held in memory, the assets are immutable and cached by browsers for a year), and a visitor must get the
  // page even while someone else at the same address (an auditor paging the log, say) has used up the API's
  // budget. The API calls the page then makes still count against that budget.
  if (deps.portal) app.use(portalRouter(deps.portal));
  if (deps.tiles) app.use(tlogRouter({ tiles: deps.tiles, limiter: tlogLimit }));

  app.use(publicLimit, (req, _res, next) => {
    next(new HttpProblem(404, "not-found", "Not found", `no route ${req.method} ${redactUrl(req.path)}`));
  });

  const errorHandler: ErrorRequestHandler = (err: unknown, _req, res, _next) => {
    const requestId = String(res.locals["requestId"] ?? "");
    const { problem, headers, unexpected } = toProblem(err);
    if (unexpected) log.error({ requestId, err: errorSummary(err) }, "request failed");
    if (res.headersSent) {
      res.end();
      return;
    }
    res.locals["problemType"] = problem.type;
    sendProblem(res, { ...problem, ...(requestId ? { instance: `urn:uuid:${requestId}` } : {}) }, headers);
  };
  app.use(errorHandler);

  return app;
}

/** What the log keeps of an unexpected error: its class, message and stack, never other properties (which may hold request data). */
function errorSummary(e: unknown): { type: string; message: string; stack?: string } {
  if (e instanceof Error) return { type: e.name, message: e.message, ...(e.stack ? { stack: e.stack } : {}) };
  return { type: typeof e, message: "non-Error thrown" };
}
