/**
 * A verifier key given on a command line (`--log-key`, the witness's `--log`):
 * the key string `<name>+<hex8 key ID>+<base64>` itself, or the path of a file
 * holding one, as `curl …/v1/log/key > log.vkey` saves it. Every command that
 * takes the log's key reads it here, so all accept and refuse the same values
 * in the same words. The caller passes the file reader: the log core does no I/O.
 */
import { CheckpointError, KeyArgumentError, messageOf } from "./errors";
import { parseVerifierKey, SIGNER_KEY_PREFIX, type NoteVerifier } from "./note";

/** A value that starts as a key string does is a key, never a file name. */
const KEY_SHAPE = /^[^\s+]+\+[0-9a-fA-F]{8}\+/;

/**
 * Parses `arg`: a verifier key, or the path of a file holding one (surrounding
 * whitespace ignored). `readFile` returns a file's text and throws an error
 * with code ENOENT for a missing file, as node:fs's `readFileSync(p, "utf8")`.
 * Throws a {@link KeyArgumentError}: NOT_KEY_OR_FILE, UNREADABLE, SIGNER_KEY
 * (a signer key, given or in the file, is refused, never used for its public
 * half) or KEY_INVALID. Messages name the file but never repeat key material:
 * a value with a '+' may be a mistyped key, so it is not echoed.
 */
export function readVerifierKeyArg(arg: string, readFile: (path: string) => string): NoteVerifier {
  let text = arg.trim();
  let file: string | undefined;
  if (!KEY_SHAPE.test(text) && !text.startsWith(SIGNER_KEY_PREFIX)) {
    const shown = arg.includes("+") ? "the value given" : arg;
    try {
      text = readFile(arg).trim();
    } catch (cause) {
      if ((cause as { code?: unknown }).code === "ENOENT") throw new KeyArgumentError("NOT_KEY_OR_FILE", `neither a verifier key (<name>+<key id>+<base64>) nor a file: ${shown}`, { cause });
      throw new KeyArgumentError("UNREADABLE", `cannot read the file ${shown}: ${messageOf(cause).split(arg).join(shown)}`, { cause });
    }
    file = arg;
  }
  if (text.startsWith(SIGNER_KEY_PREFIX)) throw new KeyArgumentError("SIGNER_KEY", `${file ?? "the value given"} holds a signer (private) key; give the verifier key`);
  if (text === "") throw new KeyArgumentError("KEY_INVALID", `the file ${file} is empty; give the verifier key`);
  try {
    return parseVerifierKey(text);
  } catch (cause) {
    if (cause instanceof CheckpointError) throw new KeyArgumentError("KEY_INVALID", `${file === undefined ? "" : `${file}: `}${cause.message}`, { cause });
    throw cause;
  }
}
