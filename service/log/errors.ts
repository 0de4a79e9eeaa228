/**
 * Typed errors of the log core.
 *
 * Two families, after OpenZeppelin merkle-tree and sigstore-js:
 * - {@link LogArgumentError}: the caller passed something invalid (wrong size,
 *   malformed bytes). Safe to surface to a client as a 4xx.
 * - {@link LogInvariantError}: our own bug (a generated proof that does not
 *   verify). Never the caller's fault.
 * Verification and parsing failures have their own classes with a `code`
 * from a string-literal union, so callers can switch on it.
 */

export class LogArgumentError extends Error {
  override readonly name = "LogArgumentError";
}

export class LogInvariantError extends Error {
  override readonly name = "LogInvariantError";
}

export type VerificationErrorCode =
  | "INDEX_OUT_OF_RANGE"
  | "SIZE_INVALID"
  | "PROOF_LENGTH_INVALID"
  | "HASH_LENGTH_INVALID"
  | "ROOT_MISMATCH"
  | "ROOTS_DIFFER_AT_EQUAL_SIZE";

/** A proof did not verify. Carries the expected and the calculated root when the check got that far. */
export class VerificationError extends Error {
  override readonly name = "VerificationError";
  constructor(
    readonly code: VerificationErrorCode,
    message: string,
    readonly detail: { expected?: Uint8Array; calculated?: Uint8Array } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export type EncodingErrorCode =
  | "NOT_JSON_VALUE"
  | "NON_FINITE_NUMBER"
  | "LONE_SURROGATE"
  | "NON_PLAIN_OBJECT"
  | "UNDEFINED_VALUE"
  | "MISSING_VERSION"
  | "INVALID_UTF8";

export class EncodingError extends Error {
  override readonly name = "EncodingError";
  constructor(
    readonly code: EncodingErrorCode,
    message: string,
    readonly path: string,
  ) {
    super(`${message} at ${path}`);
  }
}

export type CheckpointErrorCode =
  | "MALFORMED"
  | "ENCODING_INVALID"
  | "TOO_LARGE"
  | "ORIGIN_INVALID"
  | "ORIGIN_MISMATCH"
  | "SIZE_INVALID"
  | "ROOT_INVALID"
  | "EXTENSION_INVALID"
  | "SIGNATURE_MALFORMED"
  | "SIGNATURE_MISSING"
  | "SIGNATURE_INVALID"
  | "KEY_INVALID";

export class CheckpointError extends Error {
  override readonly name = "CheckpointError";
  constructor(
    readonly code: CheckpointErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Throws a {@link LogArgumentError} unless `condition` holds. */
export function assertArgument(condition: unknown, message: string): asserts condition {
  if (!condition) throw new LogArgumentError(message);
}

/** Throws a {@link LogInvariantError} unless `condition` holds: a failure here is a bug in this library. */
export function assertInvariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new LogInvariantError(message);
}
