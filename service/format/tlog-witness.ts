/**
 * The wire format of a witness's add-checkpoint call (c2sp.org/tlog-witness),
 * described once for the witness server and the log's client.
 *
 * Request body: `old <size>\n`, zero to {@link MAX_PROOF_LINES} lines of one
 * base64 hash each, an empty line, then the signed checkpoint note. A 409
 * answer to a stale old size carries `<size>\n` as `text/x.tlog.size`.
 *
 * Pure. Parsing treats its input as attacker-controlled and throws
 * {@link WitnessRequestError}, never a stray error; the checkpoint note itself
 * is checked by the caller (verifyCheckpoint).
 */
import { CodedError, fromBase64, HASH_SIZE, MAX_NOTE_SIZE, toBase64 } from "../log";

/** Most consistency proof lines a request may carry (the spec's limit). */
export const MAX_PROOF_LINES = 63;

/** Largest add-checkpoint body: the old size line, a full proof and the largest note we parse. */
export const MAX_ADD_CHECKPOINT_BODY = MAX_NOTE_SIZE + 8 * 1024;

/** Content type of the witness's latest size in a 409 answer. */
export const TLOG_SIZE_CONTENT_TYPE = "text/x.tlog.size";

export type WitnessRequestErrorCode = "MALFORMED" | "TOO_LARGE";

/** An add-checkpoint body or a size answer could not be parsed: HTTP 400 at a witness. */
export class WitnessRequestError extends CodedError<WitnessRequestErrorCode> {
  override readonly name = "WitnessRequestError";
}

export interface AddCheckpointRequest {
  /** Size of the checkpoint the client believes the witness last cosigned (0 if none). */
  readonly oldSize: number;
  /** RFC 6962 consistency proof from oldSize to the checkpoint's size; empty when oldSize is 0. */
  readonly proof: readonly Uint8Array[];
  /** The signed checkpoint note, as sent. */
  readonly checkpoint: string;
}

const DECIMAL = /^(?:0|[1-9][0-9]*)$/;
const utf8Strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function fail(code: WitnessRequestErrorCode, message: string): never {
  throw new WitnessRequestError(code, message);
}

function parseSize(s: string, what: string): number {
  if (!DECIMAL.test(s)) fail("MALFORMED", `${what} must be decimal digits without sign, spaces or leading zeros`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) fail("MALFORMED", `${what} exceeds 2^53 - 1`);
  return n;
}

/** Formats an add-checkpoint body. Requires a safe non-negative oldSize, at most 63 32-byte hashes, and a note ending in a newline. */
export function formatAddCheckpointRequest(req: AddCheckpointRequest): string {
  if (!Number.isSafeInteger(req.oldSize) || req.oldSize < 0) fail("MALFORMED", "old size must be a non-negative safe integer");
  if (req.proof.length > MAX_PROOF_LINES) fail("MALFORMED", `more than ${MAX_PROOF_LINES} proof lines`);
  if (req.oldSize === 0 && req.proof.length > 0) fail("MALFORMED", "the proof must be empty when the old size is 0");
  for (const h of req.proof) if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) fail("MALFORMED", `proof hashes must be ${HASH_SIZE} bytes`);
  if (typeof req.checkpoint !== "string" || !req.checkpoint.endsWith("\n")) fail("MALFORMED", "checkpoint must be a signed note ending in a newline");
  return `old ${req.oldSize}\n${req.proof.map((h) => `${toBase64(h)}\n`).join("")}\n${req.checkpoint}`;
}

/**
 * Parses an add-checkpoint body (UTF-8 bytes or text). Checks the framing
 * only: the old size line, each proof line a base64 32-byte hash, at most 63
 * of them, the empty line. Throws WitnessRequestError MALFORMED or TOO_LARGE.
 */
export function parseAddCheckpointRequest(body: Uint8Array | string): AddCheckpointRequest {
  let text: string;
  if (typeof body === "string") text = body;
  else if (body instanceof Uint8Array) {
    if (body.length > MAX_ADD_CHECKPOINT_BODY) fail("TOO_LARGE", `body exceeds ${MAX_ADD_CHECKPOINT_BODY} bytes`);
    try {
      text = utf8Strict.decode(body);
    } catch {
      fail("MALFORMED", "body is not valid UTF-8");
    }
  } else fail("MALFORMED", "body must be bytes or text");
  if (text.length > MAX_ADD_CHECKPOINT_BODY) fail("TOO_LARGE", `body exceeds ${MAX_ADD_CHECKPOINT_BODY} bytes`);

  let at = 0;
  const nextLine = (): string => {
    const end = text.indexOf("\n", at);
    if (end < 0) fail("MALFORMED", "a line before the checkpoint does not end in a newline");
    const line = text.slice(at, end);
    at = end + 1;
    return line;
  };
  const first = nextLine();
  if (!first.startsWith("old ")) fail("MALFORMED", 'the first line must be "old <size>"');
  const oldSize = parseSize(first.slice(4), "old size");
  const proof: Uint8Array[] = [];
  for (;;) {
    const line = nextLine();
    if (line === "") break;
    if (proof.length === MAX_PROOF_LINES) fail("MALFORMED", `more than ${MAX_PROOF_LINES} consistency proof lines`);
    const h = fromBase64(line);
    if (h === undefined || h.length !== HASH_SIZE) fail("MALFORMED", `consistency proof line ${proof.length + 1} is not base64 of a ${HASH_SIZE}-byte hash`);
    proof.push(h);
  }
  const checkpoint = text.slice(at);
  if (checkpoint === "") fail("MALFORMED", "no checkpoint after the empty line");
  return { oldSize, proof, checkpoint };
}

/** The body of a 409 answer: the witness's latest size, then a newline. */
export function formatTlogSize(size: number): string {
  if (!Number.isSafeInteger(size) || size < 0) fail("MALFORMED", "size must be a non-negative safe integer");
  return `${size}\n`;
}

/** Parses a `text/x.tlog.size` body. Throws WitnessRequestError MALFORMED. */
export function parseTlogSize(body: string): number {
  if (typeof body !== "string" || !body.endsWith("\n")) fail("MALFORMED", "size answer must end in a newline");
  return parseSize(body.slice(0, -1), "size answer");
}
