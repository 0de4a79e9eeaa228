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

/**
 * The base of every error in this project that carries a code (after
 * sigstore-js's BaseError): `code` comes from the subclass's string-literal
 * union, so callers switch on it rather than on messages, and `cause` keeps
 * the underlying error. Subclasses set `name` and may add fields.
 */
export abstract class CodedError<C extends string> extends Error {
  constructor(
    readonly code: C,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** What any thrown value says: an Error's message, or the value as text. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

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
export class VerificationError extends CodedError<VerificationErrorCode> {
  override readonly name = "VerificationError";
  constructor(
    code: VerificationErrorCode,
    message: string,
    readonly detail: { expected?: Uint8Array; calculated?: Uint8Array } = {},
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
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

export class EncodingError extends CodedError<EncodingErrorCode> {
  override readonly name = "EncodingError";
  constructor(
    code: EncodingErrorCode,
    message: string,
    readonly path: string,
  ) {
    super(code, `${message} at ${path}`);
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
  | "KEY_INVALID"
  | "TIMESTAMP_INVALID";

export class CheckpointError extends CodedError<CheckpointErrorCode> {
  override readonly name = "CheckpointError";
}

export type KeyArgumentErrorCode = "NOT_KEY_OR_FILE" | "UNREADABLE" | "SIGNER_KEY" | "KEY_INVALID";

/**
 * A verifier key given on a command line was refused (./key-arg.ts). The
 * message is ready for the user, after the option's name, and never holds key
 * material; `cause` keeps the CheckpointError or the reader's error.
 */
export class KeyArgumentError extends CodedError<KeyArgumentErrorCode> {
  override readonly name = "KeyArgumentError";
}

/** Throws a {@link LogArgumentError} unless `condition` holds. */
export function assertArgument(condition: unknown, message: string): asserts condition {
  if (!condition) throw new LogArgumentError(message);
}

/** Throws a {@link LogInvariantError} unless `condition` holds: a failure here is a bug in this library. */
export function assertInvariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new LogInvariantError(message);
}
