/**
 * Errors of the audit that stop it (exit code 2): the auditor asked for
 * something impossible, or a source could not be read. Anything the audit
 * *finds* is never thrown: it is a {@link Discrepancy} in the report, and the
 * audit goes on. Conversely a source that cannot be read is never a
 * finding: the audit stops, incomplete, with no verdict.
 */
import { CodedError } from "../../../service/log";

export { messageOf } from "../../../service/log";

export type AuditErrorCode =
  /** The command line or the options are wrong. */
  | "USAGE"
  /** A service, RPC node or file could not be reached or read (for the service: not even after retrying, see ./service.ts). */
  | "UNREACHABLE"
  /** The service answered a request with a 4xx other than 429 (it will not serve it: a range beyond its tree, a missing route). */
  | "REFUSED"
  /** A source answered with something that is not what its protocol promises (a page that is not JSON, a bad export header). */
  | "PROTOCOL"
  /** The chain has no LedgerAnchor contract at the address, or is another chain than expected. */
  | "CHAIN_SETUP";

export class AuditError extends CodedError<AuditErrorCode> {
  override readonly name = "AuditError";
}
