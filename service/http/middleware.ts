/**
 * Request plumbing shared by the routes: authentication and role checks,
 * the Idempotency-Key header, the JSON content-type gate, and access to what
 * earlier middleware left in `res.locals`.
 */
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { authenticate } from "../auth/tokens";
import type { Role } from "../records/schemas";
import type { LedgerStore, TokenRecord } from "../store/store";
import { HttpProblem } from "./problem";

/** RFC 9110 field value of printable ASCII; the draft-ietf-httpapi-idempotency-key-header limits are ours: 1–255 characters. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x20-\x7e]{1,255}$/;

/** Authenticates the bearer token and leaves its record in `res.locals.token`. */
export function authenticated(store: LedgerStore): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    res.locals["token"] = await authenticate(store, req.get("authorization"));
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

/** 415 unless the request carries a JSON body (`Content-Type: application/json`). */
export const requireJson: RequestHandler = (req, _res, next) => {
  if (req.is("application/json") !== "application/json")
    throw new HttpProblem(415, "unsupported-media-type", "Unsupported media type", "the request body must be JSON, sent with Content-Type: application/json");
  next();
};

/** Marks a response as not cacheable: admin responses carry tokens and private values. */
export const noStore: RequestHandler = (_req, res, next) => {
  res.setHeader("Cache-Control", "no-store");
  next();
};
