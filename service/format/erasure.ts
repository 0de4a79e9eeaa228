/**
 * Erasure entries as the public log shows them:
 *
 *   { kind: "erasure", refs: [targetId],
 *     body: { targetId, reasonCode, fields: [name, ...] } }     (no commitments)
 *
 * An erasure deletes the private values and salts of its target off-log; the
 * target's commitments stay in the log, so every entry still verifies. The
 * target is an earlier entry with commitments, `fields` are exactly its
 * committed field names (sorted), the reason is one of ERASURE_REASONS
 * (./entry.ts), and an entry is erased once; the auditor's replay
 * (scripts/lib/audit/invariants.ts) checks each of these.
 */

/** The public body fields of an erasure entry. */
export const ERASURE_BODY_FIELDS = ["targetId", "reasonCode", "fields"] as const;
