/**
 * Request plumbing shared by the routes: authentication and role checks,
 * the Idempotency-Key header, the JSON content-type gate, and access to what
 * earlier middleware left in `res.locals`.
 */
import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { TokenRecord, Tokens } from "./tokens";
import type { Role } from "../records/schemas";
import { HttpProblem } from "./problem";

/** RFC 9110 field value of printable ASCII; the draft-ietf-httpapi-idempotency-key-header limits are ours: 1–255 characters. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x20-\x7e]{1,255}$/;

/** Authenticates the bearer token and leaves its record in `res.locals.token`. */
export function authenticated(tokens: Pick<Tokens, "authenticate">): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    res.locals["token"] = await tokens.authenticate(req.get("authorization"));
    next();
  };
}

/** The token {@link authenticated} found. Throws if the route forgot to authenticate: a bug, not a 401. */
export function tokenOf(res: Response): TokenRecord {
  const token = res.locals["token"] as TokenRecord | undefined;
  if (token === undefined) throw new Error("route reads a token it never authenticated");
  return token;
}

/** Refuses (403) a token whose role is not in `roles`. */
export function allowRoles(roles: readonly Role[]): RequestHandler {
  return (_req, res, next) => {
    const token = tokenOf(res);
    if (!roles.includes(token.role))
      throw new HttpProblem(403, "forbidden", "Forbidden", `a ${token.role} token may not do this; it needs one of: ${roles.join(", ")}`);
    next();
  };
}

/** Requires a valid Idempotency-Key header and leaves it in `res.locals.idempotencyKey`. */
export const requireIdempotencyKey: RequestHandler = (req, res, next) => {
  const key = req.get("idempotency-key");
  if (key === undefined)
    throw new HttpProblem(400, "idempotency-key-missing", "Idempotency-Key required", "every POST that records an entry needs an Idempotency-Key header");
  if (!IDEMPOTENCY_KEY_PATTERN.test(key))
    throw new HttpProblem(400, "idempotency-key-invalid", "Invalid Idempotency-Key", "the Idempotency-Key must be 1 to 255 printable ASCII characters");
  res.locals["idempotencyKey"] = key;
  next();
};

export function idempotencyKeyOf(res: Response): string {
  const key = res.locals["idempotencyKey"];
  if (typeof key !== "string") throw new Error("route reads an Idempotency-Key it never checked");
  return key;
}

/**
 * 415 unless the request carries a JSON body (`Content-Type: application/json`)
 * in UTF-8: RFC 8259 §8.1 makes UTF-8 the only encoding of JSON exchanged
 * between systems, so a charset parameter other than utf-8 is refused rather
 * than decoded (body-parser would otherwise decode UTF-16 and UTF-32 too).
 */
export const requireJson: RequestHandler = (req, _res, next) => {
  if (req.is("application/json") !== "application/json")
    throw new HttpProblem(415, "unsupported-media-type", "Unsupported media type", "the request body must be JSON, sent with Content-Type: application/json");
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(req.get("content-type") ?? "")?.[1];
  if (charset !== undefined && charset.toLowerCase() !== "utf-8")
    throw new HttpProblem(415, "unsupported-media-type", "Unsupported media type", "the request body must be UTF-8 JSON (charset=utf-8 or no charset)");
  next();
};

/**
 * 415 for a request body sent with any Content-Encoding other than identity,
 * with `Accept-Encoding: identity` as RFC 7694 §3 asks.
 *
 * Chosen: compressed request bodies are not accepted at all. Record bodies are
 * small (the body limit is tens of kilobytes), so compression saves little,
 * while inflating costs a decompression stream per request, lets a few bytes
 * become the body limit's worth of work (a decompression bomb is bounded only
 * by that limit), and brings a second error path (corrupt or fake-compressed
 * data) to every recording route. Refusing before the body is read keeps all of
 * that out; nothing is parsed, so nothing can be recorded.
 */
export const requireIdentityEncoding: RequestHandler = (req, _res, next) => {
  const encoding = (req.get("content-encoding") ?? "").trim().toLowerCase();
  if (encoding !== "" && encoding !== "identity")
    throw new HttpProblem(
      415,
      "unsupported-content-encoding",
      "Unsupported content encoding",
      "request bodies must not be compressed: send them without Content-Encoding (identity)",
      { headers: { "Accept-Encoding": "identity" } },
    );
  next();
};

/** Marks a response as not cacheable: admin responses carry tokens and private values. */
export const noStore: RequestHandler = (_req, res, next) => {
  res.setHeader("Cache-Control", "no-store");
  next();
};
