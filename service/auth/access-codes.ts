/**
 * Enterprise access codes: what lets an enterprise download its own receipt,
 * private values included, without an official's token.
 *
 * A code is derived, not stored: HMAC-SHA-256 over the application's entry id
 * with a secret key kept in a file under the data directory (created 0600 on
 * first start, like the log key). So the database holds nothing that opens a
 * receipt, a repeated POST (idempotent replay) returns the same code, and an
 * administrator can re-issue a lost code by deriving it again. A code covers
 * its application and every entry that refers to it (decision, payouts,
 * confirmations, corrections).
 *
 * Codes are 128 bits (22 base64url characters after the `ac_` prefix);
 * comparison is constant-time. Rotating the key file invalidates every code.
 *
 * Revocation: each application has a generation number, 0 until an
 * administrator revokes its code ({@link AccessCodes.revoke}); the code of
 * generation n > 0 is the HMAC over the id and n, so a revocation makes the
 * old code useless and derives a new one, while the store holds only the
 * number. Generation 0 keeps the original derivation, so codes handed out
 * before revocation existed stay valid until revoked.
 *
 * Wrong codes are limited per application, whichever addresses they come
 * from: after {@link AccessCodeOptions.maxFailures} wrong codes within the
 * window, the application's codes are refused (429) until it ends. A 128-bit
 * code cannot be guessed anyway; this bounds what a leak of a truncated or
 * mistyped code, spread over many addresses, can be tried against.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Clock } from "../clock";
import { createSecretFile, readSecretFile } from "../secret-file";
import type { AccessCodeStore, RateLimitCounters } from "../store/store";

const CODE_BYTES = 16;
const KEY_BYTES = 32;
const DOMAIN = "subsidy-ledger access code v1\u0000";
/** The shape of a code; anything else is refused before any HMAC is computed. */
export const ACCESS_CODE_PATTERN = /^ac_[A-Za-z0-9_-]{22}$/;

export class AccessCodeKeyError extends Error {
  override readonly name = "AccessCodeKeyError";
}

export interface AccessCodeOptions {
  /** Where generations are kept; without it, in memory (tests). */
  readonly generations?: AccessCodeStore;
  readonly clock?: Pick<Clock, "now">;
  /** Wrong codes per application per window before its codes are refused; default 20. */
  readonly maxFailures?: number;
  /** The window, in milliseconds; default 15 minutes. */
  readonly windowMs?: number;
  /**
   * Where wrong codes are counted: counters every replica shares (fixed
   * windows of `windowMs`), so the limit holds across replicas. Without it,
   * in this process's memory.
   */
  readonly failureCounters?: RateLimitCounters;
}

/** The limiter name wrong access codes are counted under in shared counters. */
export const ACCESS_CODE_FAILURE_LIMITER = "access-code-failures";
const FINGERPRINT_LABEL = "subsidy-ledger access-code key fingerprint v1";

/** What {@link AccessCodes.verify} found. */
export type AccessCodeVerdict = "valid" | "invalid" | "rate-limited";

/** The most applications whose wrong-code counts are kept; past it, expired windows are dropped first, then the oldest. */
const MAX_TRACKED = 10_000;

export class AccessCodes {
  private readonly _key: Buffer;
  private readonly _generations: AccessCodeStore;
  private readonly _clock: Pick<Clock, "now">;
  private readonly _maxFailures: number;
  private readonly _windowMs: number;
  private readonly _failures = new Map<string, { count: number; since: number }>();
  private readonly _counters: RateLimitCounters | undefined;

  /** `key`: at least 32 secret bytes. */
  constructor(key: Uint8Array, options: AccessCodeOptions = {}) {
    if (key.length < KEY_BYTES) throw new AccessCodeKeyError(`an access-code key needs at least ${KEY_BYTES} bytes`);
    this._key = Buffer.from(key);
    this._generations = options.generations ?? memoryGenerations();
    this._clock = options.clock ?? Date;
    this._maxFailures = options.maxFailures ?? 20;
    this._windowMs = options.windowMs ?? 15 * 60_000;
    this._counters = options.failureCounters;
  }

  /**
   * Identifies the key without revealing it: hex HMAC-SHA-256 of a fixed
   * label under the key, so replicas can be checked to hold the same key.
   */
  fingerprint(): string {
    return createHmac("sha256", this._key).update(FINGERPRINT_LABEL).digest("hex");
  }

  /** The access code of generation `generation` (default 0, the first) of the application with entry id `applicationId`. */
  codeFor(applicationId: string, generation = 0): string {
    const hmac = createHmac("sha256", this._key).update(DOMAIN).update(applicationId, "utf8");
    // Entry ids never contain NUL, so id ‖ NUL ‖ n cannot collide with another id's generation 0.
    if (generation > 0) hmac.update(`\u0000${generation}`, "utf8");
    return `ac_${hmac.digest().subarray(0, CODE_BYTES).toString("base64url")}`;
  }

  /** Whether `code` is the code of generation `generation` of `applicationId`. Constant-time in the code; false for any malformed code. */
  check(code: unknown, applicationId: string, generation = 0): boolean {
    if (typeof code !== "string" || !ACCESS_CODE_PATTERN.test(code)) return false;
    return timingSafeEqual(Buffer.from(code), Buffer.from(this.codeFor(applicationId, generation)));
  }

  /** The application's current code. */
  async current(applicationId: string): Promise<string> {
    return this.codeFor(applicationId, await this._generations.accessCodeGeneration(applicationId));
  }

  /**
   * Checks `code` against the application's current code, counting wrong
   * ones: `rate-limited` (without comparing) once the application has had
   * too many wrong codes in the window.
   */
  async verify(code: unknown, applicationId: string): Promise<AccessCodeVerdict> {
    if (this._counters !== undefined) {
      const window = await this._counters.peek(ACCESS_CODE_FAILURE_LIMITER, applicationId, this._windowMs);
      if (window !== undefined && window.hits >= this._maxFailures) return "rate-limited";
      if (this.check(code, applicationId, await this._generations.accessCodeGeneration(applicationId))) return "valid";
      await this._counters.hit(ACCESS_CODE_FAILURE_LIMITER, applicationId, this._windowMs);
      return "invalid";
    }
    const now = this._clock.now();
    const f = this._failures.get(applicationId);
    if (f !== undefined && now - f.since >= this._windowMs) this._failures.delete(applicationId);
    else if (f !== undefined && f.count >= this._maxFailures) return "rate-limited";
    if (this.check(code, applicationId, await this._generations.accessCodeGeneration(applicationId))) return "valid";
    this._countFailure(applicationId, now);
    return "invalid";
  }

  /** Revokes the application's current code and returns the new one; the old one is refused from now on. */
  async revoke(applicationId: string): Promise<{ accessCode: string; generation: number }> {
    const generation = await this._generations.nextAccessCodeGeneration(applicationId);
    return { accessCode: this.codeFor(applicationId, generation), generation };
  }

  private _countFailure(applicationId: string, now: number): void {
    const f = this._failures.get(applicationId);
    if (f !== undefined) {
      f.count += 1;
      return;
    }
    if (this._failures.size >= MAX_TRACKED) {
      for (const [k, v] of this._failures) if (now - v.since >= this._windowMs) this._failures.delete(k);
      // Maps iterate in insertion order: the first key is the oldest window.
      if (this._failures.size >= MAX_TRACKED) this._failures.delete(this._failures.keys().next().value!);
    }
    this._failures.set(applicationId, { count: 1, since: now });
  }

  /** Never print the key. */
  toJSON(): string {
    return "[AccessCodes]";
  }
}

function memoryGenerations(): AccessCodeStore {
  const m = new Map<string, number>();
  return {
    accessCodeGeneration: async (id) => m.get(id) ?? 0,
    nextAccessCodeGeneration: async (id) => {
      const next = (m.get(id) ?? 0) + 1;
      m.set(id, next);
      return next;
    },
  };
}

/** Loads the access-code key from `file`, or creates it (0600) on first start. Throws AccessCodeKeyError. */
export async function loadOrCreateAccessCodes(file: string, options: AccessCodeOptions = {}): Promise<{ codes: AccessCodes; created: boolean }> {
  try {
    let text = await readSecretFile(file, "access-code key file");
    let created = false;
    if (text === undefined) {
      created = await createSecretFile(file, randomBytes(KEY_BYTES).toString("hex") + "\n", "access-code key file");
      text = await readSecretFile(file, "access-code key file");
    }
    const hex = (text ?? "").trim();
    if (!/^[0-9a-f]{64,}$/.test(hex) || hex.length % 2 !== 0)
      throw new AccessCodeKeyError(`access-code key file ${file} does not hold at least ${KEY_BYTES} bytes of hex`);
    return { codes: new AccessCodes(Buffer.from(hex, "hex"), options), created };
  } catch (e) {
    if (e instanceof AccessCodeKeyError) throw e;
    throw new AccessCodeKeyError((e as Error).message);
  }
}
