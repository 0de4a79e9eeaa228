/**
 * The public transparency portal: serves the assets scripts/build-web.ts
 * builds from service/web/ (into .cache/web/) at `/`.
 *
 * - `GET /` (and `/index.html`): the page, with the chain RPC URL the portal
 *   reads checkpoints from (if any) in a meta tag; `Cache-Control: no-cache`.
 * - `GET /assets/<name>-<hash>.<ext>`: scripts and styles, content-hashed,
 *   cached for a year.
 * - `GET /portal/trust`: the keys the portal's verification trusts, as a
 *   C2SP tlog-policy text: the log's key (`log`) and, when the service has a
 *   witness policy, its witnesses, groups and quorum (`quorum none` without).
 *   The page checks signatures and cosignatures against these keys, not
 *   against whatever the API says, and shows them.
 *
 * Content-Security-Policy for these responses allows exactly what the portal
 * uses: its own scripts and styles (no inline code: the charts set styles through the
 * CSSOM, which CSP does not restrict), fetches to this origin and to the
 * configured RPC URL's origin, and nothing else (no frames, objects, fonts,
 * form posts elsewhere, or embedding by other sites).
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import express from "express";
import type { WitnessPolicy } from "../format";
import { HttpProblem } from "./problem";

export interface PortalOptions {
  /** The built portal (index.html and assets/). Default: `.cache/web` under the working directory. */
  readonly dir?: string;
  /**
   * A chain JSON-RPC URL the visitor's browser can reach: the portal then reads
   * anchored checkpoints from the chain itself. Absent: it shows the service's
   * word for the chain, and says so.
   */
  readonly rpcUrl?: string;
  /** The log's verifier key (signed-note vkey), pinned for the page. */
  readonly logKey?: string;
  /** The service's witness policy, pinned for the page; absent or null: no witnesses. */
  readonly witnessPolicy?: WitnessPolicy<unknown, unknown> | null;
}

/**
 * The trust policy the portal serves: the log key, then the witness policy's
 * witnesses, groups and quorum, in the tlog-policy text format (each group
 * names only earlier lines, as the format requires, because the parsed policy
 * kept their order).
 */
export function portalTrustPolicy(logKey: string, policy: WitnessPolicy<unknown, unknown> | null): string {
  const lines = [`log ${logKey}`];
  for (const l of policy?.logs ?? []) if (l.vkey !== logKey) lines.push(`log ${l.vkey}${l.url ? ` ${l.url}` : ""}`);
  for (const w of policy?.witnesses ?? []) lines.push(`witness ${w.name} ${w.vkey}${w.url ? ` ${w.url}` : ""}`);
  for (const g of policy?.groups ?? []) lines.push(`group ${g.name} ${g.threshold} ${g.members.join(" ")}`);
  lines.push(`quorum ${policy?.quorum ?? "none"}`);
  return `${lines.join("\n")}\n`;
}

/** Thrown by portalRouter for an RPC URL that is not a plain http(s) URL. */
export class PortalConfigError extends Error {
  override readonly name = "PortalConfigError";
}

function escapeAttribute(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** The Content-Security-Policy of the portal's responses. */
export function portalCsp(rpcOrigin: string | undefined): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    `connect-src 'self'${rpcOrigin ? ` ${rpcOrigin}` : ""}`,
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/**
 * `limiter`: a rate limit in front of the page and the assets (default: none). createApp passes none: the
 * API's public bucket must not refuse the portal to a visitor who shares an address with a busy API client.
 */
export function portalRouter(options: PortalOptions = {}, limiter: express.RequestHandler = (_req, _res, next) => next()): express.Router {
  const dir = path.resolve(options.dir ?? path.join(".cache", "web"));
  let rpcOrigin: string | undefined;
  if (options.rpcUrl !== undefined) {
    let u: URL;
    try {
      u = new URL(options.rpcUrl);
    } catch {
      throw new PortalConfigError("the portal's RPC URL is not a URL");
    }
    if ((u.protocol !== "http:" && u.protocol !== "https:") || u.username !== "" || u.password !== "")
      throw new PortalConfigError("the portal's RPC URL must be http(s) without credentials (it is shown to every visitor)");
    rpcOrigin = u.origin;
  }
  const csp = portalCsp(rpcOrigin);
  const router = express.Router({ caseSensitive: true, strict: true });

  let page: string | undefined;
  const indexFile = path.join(dir, "index.html");
  const loadPage = (): string | undefined => {
    if (page !== undefined) return page;
    if (!existsSync(indexFile)) return undefined;
    page = readFileSync(indexFile, "utf8").replace(
      '<meta name="ledger-rpc-url" content="">',
      `<meta name="ledger-rpc-url" content="${escapeAttribute(options.rpcUrl ?? "")}">`,
    );
    return page;
  };

  const sendPage: express.RequestHandler = (_req, res) => {
    const html = loadPage();
    if (html === undefined) throw new HttpProblem(503, "portal-not-built", "Portal not built", "the portal's assets are missing: run npm run build:web");
    res.setHeader("Content-Security-Policy", csp);
    res.setHeader("Cache-Control", "no-cache");
    res.type("text/html; charset=utf-8").send(html);
  };
  router.get("/", limiter, sendPage);
  const trust = options.logKey === undefined ? undefined : portalTrustPolicy(options.logKey, options.witnessPolicy ?? null);
  router.get("/portal/trust", limiter, (_req, res) => {
    if (trust === undefined) throw new HttpProblem(404, "not-found", "Not found", "the portal has no pinned keys");
    res.setHeader("Cache-Control", "no-cache");
    res.type("text/plain; charset=utf-8").send(trust);
  });
  router.get("/index.html", limiter, sendPage);
  // Browsers ask for it on their own; there is none, and a 404 would only clutter their consoles.
  router.get("/favicon.ico", (_req, res) => {
    res.setHeader("Cache-Control", "max-age=86400");
    res.status(204).end();
  });

  router.use(
    "/assets",
    limiter,
    (_req, res, next) => {
      res.setHeader("Content-Security-Policy", csp);
      next();
    },
    express.static(path.join(dir, "assets"), { index: false, immutable: true, maxAge: "365d", fallthrough: true, redirect: false }),
  );
  return router;
}
