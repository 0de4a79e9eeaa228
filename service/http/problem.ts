/**
 * RFC 9457 problem details: the only shape of an error response.
 *
 * Routes throw {@link HttpProblem} (or let a typed core error through); the
 * error handler maps everything to a problem with {@link toProblem}. The
 * mapping builds each problem field by field from known error classes, so a
 * stack trace, an error's `cause` or an echoed request body can never reach a
 * response. Unknown errors become a bare 500 whose detail says nothing.
 */
import type { Response } from "express";
import { z } from "zod";
import { AuthError, TokenError, type TokenErrorKind } from "../auth/tokens";
import { BatchRecordRejected, IdempotencyConflict, LedgerHaltedError, SequencingContendedError, StoreUnavailableError } from "../ledger/ledger";
import { EncodingError, LogArgumentError } from "../log";
import { RuleViolation, type ViolationKind } from "../records/rules";

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

/** Problem `type` URIs: non-dereferenceable URNs naming the kind of problem (RFC 9457 §3.1.1). */
export const PROBLEM_TYPE_PREFIX = "urn:subsidy-ledger:problem:";
export const RULE_TYPE_PREFIX = "urn:subsidy-ledger:rule:";

/**
 * The status of a refused rule: 409 when the ledger's state conflicts (the
 * same request may succeed later), 422 when the request can never be valid
 * as sent, 403 when the actor may not make it.
 */
export const VIOLATION_STATUS: Readonly<Record<ViolationKind, 403 | 409 | 422>> = { conflict: 409, invalid: 422, forbidden: 403 };

/** The status of a refused token operation: 404 for an unknown token, 409 when the tokens' state refuses it (the last admin token). */
export const TOKEN_ERROR_STATUS: Readonly<Record<TokenErrorKind, 404 | 409>> = { "not-found": 404, conflict: 409 };

/** The title of each token refusal's problem. */
const TOKEN_ERROR_TITLE: Readonly<Record<TokenError["reason"], string>> = { "not-found": "Not found", "last-admin-token": "Last admin token" };

/** One validation issue: where (a JSON-pointer-like path) and what. */
export interface ValidationIssue {
  readonly path: string;
  readonly message: string;
  readonly code: string;
}

export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly instance?: string;
  /** For business-rule violations: the rule's name. */
  readonly rule?: string;
  /** For validation failures: every issue found. */
  readonly errors?: readonly ValidationIssue[];
  /** For a refused batch: the index of the record that was refused. */
  readonly record?: number;
}

/** An error a route throws to answer with a given problem. */
export class HttpProblem extends Error {
  override readonly name = "HttpProblem";
  constructor(
    readonly status: number,
    readonly slug: string,
    readonly title: string,
    readonly detail: string,
    readonly extra: { readonly errors?: readonly ValidationIssue[]; readonly headers?: Readonly<Record<string, string>> } = {},
  ) {
    super(detail);
  }
}

/** The zod issues of a failed parse, as client-safe issues: path, message and code only (never the input). */
export function issuesOf(error: z.ZodError, prefix = ""): ValidationIssue[] {
  return error.issues.map((i) => {
    const params = (i as { params?: { code?: unknown } }).params;
    const code = i.code === "custom" && typeof params?.code === "string" ? params.code : i.code;
    const keys = i.code === "unrecognized_keys" ? i.keys.map(String) : [];
    const message = keys.length > 0 ? `unknown field${keys.length > 1 ? "s" : ""}: ${keys.join(", ")}` : i.message;
    return { path: prefix + i.path.map((p) => `/${String(p)}`).join(""), message, code };
  });
}

/** A 400 problem for a request part (body, query, path) that failed its schema. */
export function validationProblem(where: "body" | "query" | "path", error: z.ZodError): HttpProblem {
  const errors = issuesOf(error, where === "body" ? "" : `${where}:`);
  const first = errors[0];
  return new HttpProblem(
    400,
    "validation-failed",
    "Request validation failed",
    `the request ${where} is invalid${first ? `: ${first.path || "/"} ${first.message}` : ""}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ""}`,
    { errors },
  );
}

/**
 * Errors from body-parser and Express's router, which say the client is at
 * fault with a 4xx `status` (and, from body-parser, usually a `type`). Not
 * every one has a `type`: body-parser wraps an error of the body stream (a
 * zlib error, say) as a bare 400, and the router marks a path that is not
 * valid percent-encoding as a URIError with status 400. So any error with a 4xx
 * `status` is a 4xx problem with a generic detail (its message may quote the
 * request), never a 500. Our own errors never carry a `status`, except the
 * classes toProblem maps before this.
 */
function bodyParserProblem(e: unknown): HttpProblem | undefined {
  if (typeof e !== "object" || e === null) return undefined;
  const { type, status } = e as { type?: unknown; status?: unknown };
  if (typeof status !== "number" || !Number.isInteger(status) || status < 400 || status > 499) return undefined;
  switch (type) {
    case "entity.parse.failed":
      return new HttpProblem(400, "malformed-json", "Malformed JSON", "the request body is not valid JSON (or not a JSON object)");
    case "entity.too.large":
      return new HttpProblem(413, "body-too-large", "Request body too large", "the request body exceeds the size limit");
    case "encoding.unsupported":
    case "charset.unsupported":
      return new HttpProblem(415, "unsupported-media-type", "Unsupported media type", "the request body must be UTF-8 JSON without content encoding");
    case "request.aborted":
    case "request.size.invalid":
    case "stream.encoding.set":
    case "stream.not.readable":
      return new HttpProblem(400, "bad-request", "Bad request", "the request body could not be read");
    default:
      return new HttpProblem(status, "bad-request", "Bad request", "the request could not be processed");
  }
}

/**
 * Retry-After of a recording-halted 503. A halt lasts until an operator (or
 * the anchorer's recovery) resumes recording, which no client can predict; 30
 * seconds keeps a retrying client polite without leaving it idle long after.
 */
export const HALTED_RETRY_AFTER_SECONDS = 30;

/** Maps any thrown value to a problem. `unexpected` is true when it is a 500 the server should log as a bug. */
export function toProblem(e: unknown): { problem: Omit<Problem, "instance">; headers: Record<string, string>; unexpected: boolean } {
  const p = (problem: Omit<Problem, "instance">, headers: Record<string, string> = {}) => ({ problem, headers, unexpected: false });
  if (e instanceof HttpProblem) {
    return p(
      { type: PROBLEM_TYPE_PREFIX + e.slug, title: e.title, status: e.status, detail: e.detail, ...(e.extra.errors ? { errors: e.extra.errors } : {}) },
      { ...e.extra.headers },
    );
  }
  if (e instanceof z.ZodError) {
    const v = validationProblem("body", e);
    return toProblem(v);
  }
  if (e instanceof LedgerHaltedError || (e instanceof BatchRecordRejected && e.cause instanceof LedgerHaltedError)) {
    // A halt refuses the whole request before any record is checked, so it names no record even if something wrapped it.
    const halted = e instanceof LedgerHaltedError ? e : (e.cause as LedgerHaltedError);
    return p(
      {
        type: PROBLEM_TYPE_PREFIX + "recording-halted",
        title: "Recording halted",
        status: 503,
        detail: `recording is halted, nothing was recorded: ${halted.message}`,
        rule: halted.rule,
      },
      { "Retry-After": String(HALTED_RETRY_AFTER_SECONDS) },
    );
  }
  if (e instanceof BatchRecordRejected) {
    // The refused record's own problem, saying which record it was.
    const inner = toProblem(e.cause);
    return {
      ...inner,
      problem: { ...inner.problem, detail: `record ${e.index}: ${inner.problem.detail}`, record: e.index },
    };
  }
  if (e instanceof RuleViolation) {
    return p({ type: RULE_TYPE_PREFIX + e.rule, title: "Business rule violated", status: VIOLATION_STATUS[e.kind], detail: e.message, rule: e.rule });
  }
  if (e instanceof IdempotencyConflict) {
    return p({ type: PROBLEM_TYPE_PREFIX + "idempotency-key-reused", title: "Idempotency-Key reused", status: 422, detail: e.message });
  }
  if (e instanceof AuthError) {
    return p(
      { type: PROBLEM_TYPE_PREFIX + "unauthenticated", title: "Authentication required", status: 401, detail: e.message },
      { "WWW-Authenticate": e.code === "TOKEN_MISSING" ? 'Bearer realm="subsidy-ledger"' : 'Bearer realm="subsidy-ledger", error="invalid_token"' },
    );
  }
  if (e instanceof TokenError) {
    return p({ type: PROBLEM_TYPE_PREFIX + e.reason, title: TOKEN_ERROR_TITLE[e.reason], status: TOKEN_ERROR_STATUS[e.kind], detail: e.message });
  }
  if (e instanceof SequencingContendedError) {
    return p({ type: PROBLEM_TYPE_PREFIX + "sequencing-contended", title: "Sequencing contended", status: 503, detail: e.message }, { "Retry-After": "1" });
  }
  if (e instanceof StoreUnavailableError) {
    return p(
      { type: PROBLEM_TYPE_PREFIX + "store-unavailable", title: "Storage unavailable", status: 503, detail: "the ledger could not write or read its store; nothing was recorded, retry later" },
      { "Retry-After": "5" },
    );
  }
  if (e instanceof LogArgumentError) {
    return p({ type: PROBLEM_TYPE_PREFIX + "bad-range", title: "Invalid range", status: 400, detail: e.message });
  }
  if (e instanceof EncodingError) {
    return p({ type: PROBLEM_TYPE_PREFIX + "unencodable-json", title: "JSON cannot be canonicalised", status: 400, detail: e.message });
  }
  const parser = bodyParserProblem(e);
  if (parser !== undefined) return toProblem(parser);
  return {
    problem: { type: PROBLEM_TYPE_PREFIX + "internal", title: "Internal server error", status: 500, detail: "the server failed to process the request" },
    headers: {},
    unexpected: true,
  };
}

/** Sends a problem response. */
export function sendProblem(res: Response, problem: Problem, headers: Record<string, string> = {}): void {
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
}
