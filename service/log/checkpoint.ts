/**
 * Signed checkpoints: a C2SP tlog-checkpoint body (c2sp.org/tlog-checkpoint)
 * inside a C2SP signed note (./note.ts).
 *
 * The body is the origin line, the tree size in decimal, standard padded
 * base64 of the 32-byte RFC 6962 root, then optional non-empty extension
 * lines; every line ends in a newline. Parsing treats its input as
 * attacker-controlled and throws a {@link CheckpointError} with a code for
 * anything malformed. A received checkpoint is parsed only after its note's
 * signatures verify (verifyCheckpoint), with node:crypto or, for the browser,
 * WebCrypto (verifyCheckpointAsync), with the same results and errors.
 */
import { CheckpointError, type CheckpointErrorCode } from "./errors";
import { HASH_SIZE } from "./hash";
import {
  fromBase64,
  isNoteLine,
  MAX_NOTE_SIZE,
  NODE_VERIFIERS,
  noteString,
  openNoteSteps,
  signNote,
  toBase64,
  WEB_VERIFIERS,
  type AnyVerifier,
  type NoteSigner,
  type NoteVerifier,
  type VerifierKind,
  type WebNoteVerifier,
} from "./note";
import { withNodeCrypto, withWebCrypto } from "./perform";
import type { Steps } from "./steps";

// receipt.ts imports the note key parser from here; kept until it imports ./note directly.
export { parseVerifierKey, type NoteVerifier } from "./note";

const utf8 = new TextEncoder();

function fail(code: CheckpointErrorCode, message: string): never {
  throw new CheckpointError(code, message);
}

const DECIMAL = /^(?:0|[1-9][0-9]*)$/;

/** A log's tree head in the c2sp.org/tlog-checkpoint form. */
export interface Checkpoint {
  /** Log identity; non-empty. The spec recommends a schema-less URL without spaces or '+', but only requires non-empty. */
  readonly origin: string;
  /** Number of leaves. A safe integer here: sizes above 2^53 − 1 are rejected. */
  readonly size: number;
  /** RFC 6962 root hash of the tree at `size`: 32 bytes. */
  readonly rootHash: Uint8Array;
  /** Opaque, non-empty extension lines after the root (NOT RECOMMENDED by the spec). */
  readonly extensions: readonly string[];
}

/**
 * The note text of a checkpoint: `<origin>\n<size>\n<base64 root>\n` then one
 * `<extension>\n` per extension. Requires a non-empty single-line origin, a
 * non-negative safe-integer size, a 32-byte root and non-empty single-line
 * extensions, none holding control characters. Throws CheckpointError
 * (ORIGIN_INVALID, SIZE_INVALID, ROOT_INVALID, EXTENSION_INVALID, MALFORMED,
 * TOO_LARGE) otherwise.
 */
export function formatCheckpoint(cp: Checkpoint): string {
  if (typeof cp !== "object" || cp === null) fail("MALFORMED", "checkpoint must be an object");
  const { origin, size, rootHash, extensions } = cp;
  if (!isNoteLine(origin)) fail("ORIGIN_INVALID", "origin must be a non-empty line without control characters");
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) fail("SIZE_INVALID", "size must be a non-negative safe integer");
  if (!(rootHash instanceof Uint8Array) || rootHash.length !== HASH_SIZE) fail("ROOT_INVALID", `root hash must be ${HASH_SIZE} bytes`);
  if (!Array.isArray(extensions)) fail("EXTENSION_INVALID", "extensions must be an array of lines");
  for (const e of extensions as readonly unknown[])
    if (!isNoteLine(e)) fail("EXTENSION_INVALID", "each extension must be a non-empty line without control characters");
  const text = [origin, String(size), toBase64(rootHash), ...extensions].map((l) => `${l}\n`).join("");
  if (utf8.encode(text).length > MAX_NOTE_SIZE) fail("TOO_LARGE", `checkpoint exceeds ${MAX_NOTE_SIZE} bytes`);
  return text;
}

/**
 * Parses checkpoint note text (the body, without signatures). Does not check
 * any signature: use {@link verifyCheckpoint} on anything received.
 *
 * Throws CheckpointError: MALFORMED (wrong type, fewer than three lines, no
 * final newline), ENCODING_INVALID (non-UTF-8, control characters such as CR),
 * TOO_LARGE, ORIGIN_INVALID (empty), SIZE_INVALID (not canonical decimal, or
 * above 2^53 − 1), ROOT_INVALID (not strict base64 of 32 bytes),
 * EXTENSION_INVALID (an empty extension line).
 */
export function parseCheckpoint(text: string | Uint8Array): Checkpoint {
  const s = noteString(text, "checkpoint");
  if (!s.endsWith("\n")) fail("MALFORMED", "checkpoint must end with a newline");
  const lines = s.slice(0, -1).split("\n");
  const [origin, sizeLine, rootLine, ...extensions] = lines;
  if (origin === undefined || sizeLine === undefined || rootLine === undefined) fail("MALFORMED", "checkpoint needs origin, size and root hash lines");
  if (origin === "") fail("ORIGIN_INVALID", "origin line is empty");
  if (!DECIMAL.test(sizeLine)) fail("SIZE_INVALID", "size must be decimal digits without sign, spaces or leading zeros");
  const size = Number(sizeLine);
  if (!Number.isSafeInteger(size)) fail("SIZE_INVALID", "size exceeds 2^53 - 1");
  const rootHash = fromBase64(rootLine);
  if (rootHash === undefined) fail("ROOT_INVALID", "root hash is not standard padded base64");
  if (rootHash.length !== HASH_SIZE) fail("ROOT_INVALID", `root hash is ${rootHash.length} bytes, want ${HASH_SIZE}`);
  if (extensions.some((e) => e === "")) fail("EXTENSION_INVALID", "extension lines must be non-empty");
  return { origin, size, rootHash, extensions };
}

/** Formats and signs a checkpoint; see {@link formatCheckpoint} and {@link signNote}. */
export function signCheckpoint(cp: Checkpoint, signers: NoteSigner | readonly NoteSigner[]): string {
  return signNote(formatCheckpoint(cp), signers);
}

/**
 * Opens a signed checkpoint: checks signatures as {@link openNote} does (at
 * least one of `verifiers` must have signed; any failing signature from one
 * of them rejects the note), only then parses the text as
 * {@link parseCheckpoint} does, and if `expectedOrigin` is given requires the
 * origin to equal it exactly (ORIGIN_MISMATCH). Throws CheckpointError on any failure.
 */
export function verifyCheckpoint(
  signedCheckpoint: string | Uint8Array,
  verifiers: NoteVerifier | readonly NoteVerifier[],
  expectedOrigin?: string,
): Checkpoint {
  return withNodeCrypto(verifyCheckpointSteps(signedCheckpoint, verifiers, NODE_VERIFIERS, expectedOrigin));
}

/** {@link verifyCheckpoint} with WebCrypto, for verifiers from {@link parseVerifierKeyAsync}. Rejects with the same CheckpointError. */
export function verifyCheckpointAsync(
  signedCheckpoint: string | Uint8Array,
  verifiers: WebNoteVerifier | readonly WebNoteVerifier[],
  expectedOrigin?: string,
): Promise<Checkpoint> {
  return withWebCrypto(verifyCheckpointSteps(signedCheckpoint, verifiers, WEB_VERIFIERS, expectedOrigin));
}

function* verifyCheckpointSteps<K, V extends AnyVerifier<K>>(
  signedCheckpoint: string | Uint8Array,
  verifiers: V | readonly V[],
  kind: VerifierKind<V>,
  expectedOrigin: string | undefined,
): Steps<Checkpoint, K> {
  if (expectedOrigin !== undefined && typeof expectedOrigin !== "string") fail("ORIGIN_INVALID", "expected origin must be a string");
  const { text } = yield* openNoteSteps<K, V>(signedCheckpoint, verifiers, kind);
  const cp = parseCheckpoint(text);
  if (expectedOrigin !== undefined && cp.origin !== expectedOrigin)
    fail("ORIGIN_MISMATCH", `checkpoint origin ${JSON.stringify(cp.origin)} is not the expected ${JSON.stringify(expectedOrigin)}`);
  return cp;
}
