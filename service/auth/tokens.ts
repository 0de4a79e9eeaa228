/**
 * API tokens for officials: creation, listing, revocation and authentication.
 *
 * A token is `sl_` followed by the unpadded base64url encoding of 32 random
 * bytes (43 characters). Only its SHA-256 is stored ({@link TokenRecord}); the
 * token itself is returned once, by {@link createToken}, and never stored,
 * listed or logged. Authentication hashes the presented token and looks the
 * hash up, so the lookup never compares secrets and leaks nothing through
 * timing that an attacker could use.
 *
 * Every function takes the store (and the clock, where time is recorded);
 * nothing here holds state of its own.
 */
import { createHash, randomBytes as nodeRandomBytes } from "node:crypto";
import { z } from "zod";
import { officialId } from "../format/officials";
import { RuleViolation } from "../records/rules";
import type { Actor } from "../records/entry";
import { Role } from "../records/schemas";
import { PlainText } from "../records/zod-types";
import { rfc3339, type Clock } from "../clock";
import { CodedError } from "../log";
import type { TokenRecord, TokenStore } from "../store/store";

export const TOKEN_PREFIX = "sl_";

/** `sl_` and 43 base64url characters (32 bytes, unpadded). */
export const TOKEN_PATTERN = /^sl_[A-Za-z0-9_-]{43}$/;

/** Public token ids: `tok_` and 16 hex digits. */
export const TOKEN_ID_PATTERN = /^tok_[0-9a-f]{16}$/;

/** An official's and an agency's name are recorded in every entry they make (the actor), so they are free text like any record field. */
const Name = PlainText;

/** The body of a token-creation request. Strict: unknown fields are rejected. */
export const TokenRequest = z.strictObject({
  /** The official's id; stored and recorded in its canonical form (NFKC, case folded), so ids differing only in case or width are one official. */
  official: Name(100),
  /** The official's display name; defaults to the id as typed when that differs from the canonical id. */
  name: Name(100).optional(),
  agency: Name(200),
  role: Role,
});
export type TokenRequest = z.infer<typeof TokenRequest>;

export type AuthErrorCode = "TOKEN_MISSING" | "TOKEN_MALFORMED" | "TOKEN_UNKNOWN" | "TOKEN_REVOKED";

/** The caller did not present a usable token. The message never echoes the presented value. */
export class AuthError extends CodedError<AuthErrorCode> {
  override readonly name = "AuthError";
}

/** How a token operation was refused: http/ maps each kind to a status (404, 409). */
export type TokenErrorKind = "not-found" | "conflict";

/** A token operation refused, nothing changed; `kind` says how and `reason` names the refusal (stable, for a problem type). */
export abstract class TokenError extends Error {
  abstract readonly kind: TokenErrorKind;
  abstract readonly reason: "not-found" | "last-admin-token";
}

/** No token has the given id. */
export class TokenNotFoundError extends TokenError {
  override readonly name = "TokenNotFoundError";
  readonly kind = "not-found";
  readonly reason = "not-found";
}

/** Revoking the token would leave no active admin token, locking everyone out of token management. */
export class LastAdminTokenError extends TokenError {
  override readonly name = "LastAdminTokenError";
  readonly kind = "conflict";
  readonly reason = "last-admin-token";
}

/** What a token listing shows: everything but the hash. */
export interface TokenInfo {
  readonly id: string;
  readonly official: string;
  readonly name?: string;
  readonly agency: string;
  readonly role: TokenRecord["role"];
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

/**
 * Which tokens an admin manages: `null` for the deployment-wide admin (an
 * admin whose agency is not a registered agency; before any agency is
 * registered every admin is one), else the code of its own agency. The
 * operator's CLI, which holds the store itself, manages all (`null`).
 */
export type AdminScope = string | null;

/**
 * The scope of the admin holding `caller`: its agency when `isRegistered`
 * says that agency is registered, else deployment-wide (`null`).
 */
export async function adminScopeOf(caller: Pick<TokenRecord, "agency">, isRegistered: (agency: string) => Promise<boolean>): Promise<AdminScope> {
  return (await isRegistered(caller.agency)) ? caller.agency : null;
}

/**
 * Whether the admin of `scope` may create or revoke a token of `agency`.
 * An agency admin manages only its own agency's tokens (403 agency-scope);
 * the deployment-wide admin manages any. A token may name an agency code not
 * yet registered: its official acts as one of an unregistered agency (as
 * before agencies existed) until that code is registered, and from then on
 * as that agency's. Throws RuleViolation.
 */
export function checkTokenScope(scope: AdminScope, agency: string): void {
  if (scope !== null && agency !== scope)
    throw new RuleViolation("agency-scope", "forbidden", `an admin of ${scope} manages only ${scope}'s tokens, not one of ${JSON.stringify(agency)}`);
}

/** Hex SHA-256 of a token's UTF-8 bytes: the only form the store ever sees. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** A record without its hash, built field by field so a new TokenRecord field is never listed by accident. */
export function tokenInfo(t: TokenRecord): TokenInfo {
  return { id: t.id, official: t.official, ...(t.name !== undefined ? { name: t.name } : {}), agency: t.agency, role: t.role, createdAt: t.createdAt, revokedAt: t.revokedAt };
}

/** Who a token records as: the official's canonical id (also for tokens stored before ids were canonical), display name, agency and role. */
export function actorOf(t: Pick<TokenRecord, "official" | "name" | "agency" | "role">): Actor {
  return { official: officialId(t.official), ...(t.name !== undefined ? { name: t.name } : {}), agency: t.agency, role: t.role };
}

/**
 * Creates a token for an official, as an admin of `scope` may, and stores its
 * hash. Returns the token, which is not kept anywhere: the caller must hand
 * it over now or lose it. Throws a ZodError if `request` is not a valid
 * {@link TokenRequest}, RuleViolation agency-scope if `scope` does not manage
 * its agency (see {@link checkTokenScope}).
 */
export async function createToken(
  store: TokenStore,
  clock: Pick<Clock, "now">,
  request: TokenRequest,
  scope: AdminScope = null,
  randomBytes: (n: number) => Uint8Array = (n) => new Uint8Array(nodeRandomBytes(n)),
): Promise<{ token: string; info: TokenInfo }> {
  checkTokenScope(scope, TokenRequest.parse(request).agency);
  const { token, record } = newToken(clock, request, randomBytes);
  await store.putToken(record);
  return { token, info: tokenInfo(record) };
}

/** The first admin token's official and agency, as the start-up banner hands it over. */
export const FIRST_ADMIN: TokenRequest = { official: "admin", agency: "local", role: "admin" };

/**
 * Creates the first admin token, unless the store holds a token: atomically
 * across processes ({@link TokenStore.putFirstToken}), so replicas starting
 * together on an empty database create exactly one. Returns the token, or
 * undefined when a token existed or another process's first token won.
 */
export async function createFirstAdminToken(
  store: TokenStore,
  clock: Pick<Clock, "now">,
  randomBytes: (n: number) => Uint8Array = (n) => new Uint8Array(nodeRandomBytes(n)),
): Promise<{ token: string; info: TokenInfo } | undefined> {
  const { token, record } = newToken(clock, FIRST_ADMIN, randomBytes);
  return (await store.putFirstToken(record)) ? { token, info: tokenInfo(record) } : undefined;
}

/** A new token and the record stored for it (its hash, never the token). */
function newToken(clock: Pick<Clock, "now">, request: TokenRequest, randomBytes: (n: number) => Uint8Array): { token: string; record: TokenRecord } {
  const r = TokenRequest.parse(request);
  const token = TOKEN_PREFIX + Buffer.from(randomBytes(32)).toString("base64url");
  const id = `tok_${Buffer.from(randomBytes(8)).toString("hex")}`;
  const official = officialId(r.official);
  const name = r.name ?? (r.official !== official ? r.official : undefined);
  const record: TokenRecord = {
    id,
    hash: hashToken(token),
    official,
    ...(name !== undefined ? { name } : {}),
    agency: r.agency,
    role: r.role,
    createdAt: rfc3339(clock.now()),
    revokedAt: null,
  };
  return { token, record };
}

/** Every token an admin of `scope` manages, active and revoked, oldest first, without hashes. */
export async function listTokens(store: TokenStore, scope: AdminScope = null): Promise<TokenInfo[]> {
  const all = await store.tokens();
  return all
    .filter((t) => scope === null || t.agency === scope)
    .sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1))
    .map(tokenInfo);
}

/**
 * Revokes the token with public id `id`, as an admin of `scope` may.
 * Revoking an already revoked token changes nothing and returns it as it is.
 * Throws, in this order: TokenNotFoundError for an unknown id (whatever the
 * scope), RuleViolation agency-scope for a token `scope` does not manage, and
 * LastAdminTokenError when `id` is the last active admin token.
 */
export async function revokeToken(store: TokenStore, clock: Pick<Clock, "now">, id: string, scope: AdminScope = null): Promise<TokenInfo> {
  const all = await store.tokens();
  const target = all.find((t) => t.id === id);
  if (target === undefined) throw new TokenNotFoundError(`no token ${id}`);
  checkTokenScope(scope, target.agency);
  if (target.revokedAt !== null) return tokenInfo(target);
  if (target.role === "admin" && !all.some((t) => t.id !== id && t.role === "admin" && t.revokedAt === null))
    throw new LastAdminTokenError(`token ${id} is the last active admin token; create another admin token first`);
  const revoked: TokenRecord = { ...target, revokedAt: rfc3339(clock.now()) };
  await store.putToken(revoked);
  return tokenInfo(revoked);
}

/**
 * Authenticates an `Authorization` header value of the form `Bearer <token>`
 * (scheme case-insensitive, RFC 9110 §11.1). Returns the token's record, or
 * throws AuthError: TOKEN_MISSING without a header, TOKEN_MALFORMED for
 * another scheme or a value that cannot be a token, TOKEN_UNKNOWN for a token
 * that was never issued, TOKEN_REVOKED for a revoked one.
 */
export async function authenticate(store: TokenStore, authorization: string | undefined): Promise<TokenRecord> {
  if (authorization === undefined || authorization === "") throw new AuthError("TOKEN_MISSING", "an Authorization: Bearer token is required");
  const m = /^Bearer +(\S+) *$/i.exec(authorization);
  if (m === null) throw new AuthError("TOKEN_MALFORMED", "the Authorization header must be 'Bearer <token>'");
  const token = m[1]!;
  if (!TOKEN_PATTERN.test(token)) throw new AuthError("TOKEN_MALFORMED", "the bearer token is not a subsidy-ledger token");
  const record = await store.tokenByHash(hashToken(token));
  if (record === undefined) throw new AuthError("TOKEN_UNKNOWN", "the bearer token is not valid");
  if (record.revokedAt !== null) throw new AuthError("TOKEN_REVOKED", "the bearer token has been revoked");
  return record;
}
