/**
 * COMMIT that resolves only once the synchronous standby holds the commit.
 * A commit whose wait for the standby is cancelled (pg_cancel_backend, a
 * statement_timeout) is committed on the primary anyway and reported as a
 * success, with only a WARNING notice saying the standby may not have it.
 * Acknowledging such a commit would break "acknowledged, signed and anchored
 * ⇒ on the standby" (./README.md, PostgreSQL high availability). So after
 * such a warning a second transaction, which rewrites the sequence row
 * unchanged, is committed on the same connection and waited for: its commit record comes later in the WAL, so
 * once the standby confirms it, it holds the first commit too. Only if that
 * wait is cancelled as well does the commit fail; the store's contract
 * allows a failed commit to have been stored, which the ledger learns from
 * the head.
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

/** Runs `sql` on `client`; resolves with the sync-wait-cancelled warning it drew, if any. */
async function noticing(client: pg.ClientBase, sql: string): Promise<{ message?: string | undefined } | undefined> {
  let cancelled: { message?: string | undefined } | undefined;
  const onNotice = (n: { message?: string | undefined; detail?: string | undefined }): void => {
    if (isSyncWaitCancelled(n)) cancelled = n;
  };
  client.on("notice", onNotice);
  try {
    await client.query(sql);
  } finally {
    client.off("notice", onNotice);
  }
  return cancelled;
}

/**
 * Sends COMMIT and resolves once the synchronous standby holds it (see the
 * module comment); rejects with {@link SyncCommitNotConfirmedError} when the
 * wait for the standby was cancelled twice. Without a synchronous standby
 * configured, it is a plain COMMIT.
 */
export async function commitConfirmed(client: pg.ClientBase): Promise<void> {
  const first = await noticing(client, "COMMIT");
  if (first === undefined) return;
  // A transaction waits for the standby only if it wrote WAL before its commit record: rewriting the sequence
  // row unchanged is the smallest such write (and other commits wait for the standby meanwhile anyway).
  const second = await noticing(client, "BEGIN; SET LOCAL synchronous_commit = on; UPDATE log_head SET size = size; COMMIT");
  if (second === undefined) return;
  throw new SyncCommitNotConfirmedError(
    `the commit's wait for the synchronous standby was cancelled twice (${second.message ?? "no message"}): it may be on the primary only, so it is not acknowledged`,
  );
}
