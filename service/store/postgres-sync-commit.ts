/**
 * COMMIT that fails when PostgreSQL stops waiting for the synchronous
 * standby. A commit whose wait for the standby is cancelled (pg_cancel_backend,
 * a statement_timeout) is committed on the primary anyway and reported as a
 * success, with only a WARNING notice saying the standby may not have it.
 * Acknowledging such a commit would break "acknowledged, signed and anchored
 * ⇒ on the standby" (./README.md, PostgreSQL high availability), so it is
 * turned into a failure here: the store's contract already allows that a
 * failed commit may have been stored, which the ledger learns from the head.
 */
import type pg from "pg";

/** The commit is on the primary but its wait for the synchronous standby was cancelled: not acknowledged. */
export class SyncCommitNotConfirmedError extends Error {
  override readonly name = "SyncCommitNotConfirmedError";
}

/**
 * Whether `n` is PostgreSQL's warning that a commit's wait for synchronous
 * replication was cancelled (src/backend/replication/syncrep.c). Matched on
 * the message, which is English unless the server's lc_messages says otherwise.
 */
export function isSyncWaitCancelled(n: { message?: string; detail?: string | undefined; severity?: string | undefined }): boolean {
  return /wait for synchronous replication/i.test(n.message ?? "") || /committed locally, but might not have been replicated/i.test(n.detail ?? "");
}

/** Sends COMMIT; rejects with {@link SyncCommitNotConfirmedError} when the server stopped waiting for its synchronous standby. */
export async function commitConfirmed(client: pg.ClientBase): Promise<void> {
  let cancelled: { message?: string; detail?: string | undefined } | undefined;
  const onNotice = (n: { message?: string | undefined; detail?: string | undefined }): void => {
    if (isSyncWaitCancelled(n)) cancelled = n;
  };
  client.on("notice", onNotice);
  try {
    await client.query("COMMIT");
  } finally {
    client.off("notice", onNotice);
  }
  if (cancelled !== undefined)
    throw new SyncCommitNotConfirmedError(
      `the commit's wait for the synchronous standby was cancelled (${cancelled.message ?? "no message"}): it may be on the primary only, so it is not acknowledged`,
    );
}
