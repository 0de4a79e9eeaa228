/**
 * The officials' bearer tokens as the routes use them: authenticating a
 * request, and the admin's create, list and revoke within the admin's scope. service/auth/tokens.ts
 * does the work; this binds it to one token store and clock, so that the
 * routes, and createApp, hold this object instead of the store.
 */
import { authenticate, createToken, listTokens, revokeToken, type AdminScope, type TokenInfo, type TokenRequest } from "../auth/tokens";
import type { Clock } from "../clock";

/** Where tokens are kept: whatever service/auth/tokens.ts reads and writes them in (the store's token part). */
export type TokenKeeper = Parameters<typeof authenticate>[0];

/** The record of an authenticated token. */
export type TokenRecord = Awaited<ReturnType<typeof authenticate>>;

export class Tokens {
  constructor(
    private readonly _keeper: TokenKeeper,
    private readonly _clock: Pick<Clock, "now">,
  ) {}

  /** The record of the token in an `Authorization: Bearer` header; throws AuthError (see auth/tokens.ts). */
  authenticate(authorization: string | undefined): Promise<TokenRecord> {
    return authenticate(this._keeper, authorization);
  }

  /**
   * A new token for an official, made by an admin of `scope`: the secret, shown once, and its public
   * info. Throws RuleViolation agency-scope when `scope` does not manage the request's agency.
   */
  create(request: TokenRequest, scope: AdminScope): Promise<{ token: string; info: TokenInfo }> {
    return createToken(this._keeper, this._clock, request, scope);
  }

  /** Every token an admin of `scope` manages, oldest first, without hashes. */
  list(scope: AdminScope): Promise<TokenInfo[]> {
    return listTokens(this._keeper, scope);
  }

  /** Revokes token `id` as an admin of `scope`; throws TokenNotFoundError, RuleViolation agency-scope or LastAdminTokenError (see auth/tokens.ts). */
  revoke(id: string, scope: AdminScope): Promise<TokenInfo> {
    return revokeToken(this._keeper, this._clock, id, scope);
  }
}
