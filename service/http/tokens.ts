/**
 * The officials' bearer tokens as the routes use them: authenticating a
 * request, and the admin's create, list and revoke. service/auth/tokens.ts
 * does the work; this binds it to one token store and clock, so that the
 * routes, and createApp, hold this object instead of the store.
 */
import { authenticate, createToken, listTokens, revokeToken, type TokenInfo, type TokenRequest } from "../auth/tokens";
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

  /** A new token for an official: the secret, shown once, and its public info. */
  create(request: TokenRequest): Promise<{ token: string; info: TokenInfo }> {
    return createToken(this._keeper, this._clock, request);
  }

  /** Every token, oldest first, without hashes. */
  list(): Promise<TokenInfo[]> {
    return listTokens(this._keeper);
  }

  /** Revokes token `id`; throws TokenNotFoundError or LastAdminTokenError (see auth/tokens.ts). */
  revoke(id: string): Promise<TokenInfo> {
    return revokeToken(this._keeper, this._clock, id);
  }
}
