/**
 * The officials' bearer tokens as the HTTP layer uses them: authenticating a
 * request, and the admin's create, list and revoke. The work is done by
 * service/auth/tokens.ts over the store's token part; this binds it to one
 * store and clock so that routes never hold the store.
 */
import { authenticate, createToken, listTokens, revokeToken, type TokenInfo, type TokenRequest } from "../auth/tokens";
import type { LedgerStore, TokenRecord } from "../store/store";
import type { Clock } from "./ledger";

export type { TokenRecord };

export class Tokens {
  constructor(
    // The whole store only because service/auth/tokens.ts types its functions so; they use its TokenStore part alone.
    private readonly _store: LedgerStore,
    private readonly _clock: Clock,
  ) {}

  /** The record of the token in an `Authorization: Bearer` header; throws AuthError (see auth/tokens.ts). */
  authenticate(authorization: string | undefined): Promise<TokenRecord> {
    return authenticate(this._store, authorization);
  }

  /** A new token for an official: the secret, shown once, and its public info. */
  create(request: TokenRequest): Promise<{ token: string; info: TokenInfo }> {
    return createToken(this._store, this._clock, request);
  }

  /** Every token, oldest first, without hashes. */
  list(): Promise<TokenInfo[]> {
    return listTokens(this._store);
  }

  /** Revokes token `id`; throws TokenNotFoundError or LastAdminTokenError (see auth/tokens.ts). */
  revoke(id: string): Promise<TokenInfo> {
    return revokeToken(this._store, this._clock, id);
  }
}
