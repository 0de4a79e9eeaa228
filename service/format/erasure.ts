/**
 * Erasure entries as the public log shows them, and the checks an auditor
 * makes of them from public entries alone.
 *
 *   { kind: "erasure", refs: [targetId],
 *     body: { targetId, reasonCode, fields: [name, ...] } }     (no commitments)
 *
 * An erasure deletes the private values and salts of its target off-log; the
 * target's commitments stay in the log, so every entry still verifies.
 * Pure: no I/O.
 */
import { ERASURE_REASONS, type EntryKind } from "./entry";

/** The public body fields of an erasure entry. */
export const ERASURE_BODY_FIELDS = ["targetId", "reasonCode", "fields"] as const;

/** What the erasure check reads of an entry: the public entry's own fields. */
export interface ErasureCheckEntry {
  readonly id: string;
  readonly kind: EntryKind | string;
  readonly refs?: readonly string[];
  readonly body: { readonly [field: string]: unknown };
  readonly commitments?: { readonly [field: string]: string };
}

export type ErasureProblemCode =
  | "ERASURE_BODY_MALFORMED"
  | "ERASURE_TARGET_WITHOUT_COMMITMENTS"
  | "ERASURE_FIELDS_MISMATCH"
  | "ERASURE_REPEATED"
  | "ERASURE_HAS_COMMITMENTS";

export interface ErasureProblem {
  readonly code: ErasureProblemCode;
  /** The erasure entry's id. */
  readonly erasureId: string;
  readonly detail: string;
}

export interface ErasureAudit {
  /** How many erasure entries the log holds. */
  readonly erasures: number;
  /** Target entry id → the erasure entry id that erased it (the first one). */
  readonly erased: ReadonlyMap<string, string>;
  /** Empty when every erasure is sound. */
  readonly problems: readonly ErasureProblem[];
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Checks every erasure entry of a log, given in log order: each names an
 * earlier entry (`refs` = [targetId]) that has commitments, lists exactly
 * that entry's committed field names (sorted), has a reason from
 * {@link ERASURE_REASONS}, carries no commitments of its own, and no entry is
 * erased twice. Of other entries it keeps only the committed field
 * names of those that have commitments.
 */
export function auditErasures(entries: Iterable<ErasureCheckEntry>): ErasureAudit {
  // Only entries with commitments can be targets: their sorted field names as JSON, by id.
  const committedBy = new Map<string, string>();
  const erased = new Map<string, string>();
  const problems: ErasureProblem[] = [];
  let erasures = 0;
  for (const e of entries) {
    if (e.kind === "erasure") {
      erasures += 1;
      const problem = (code: ErasureProblemCode, detail: string) => problems.push({ code, erasureId: e.id, detail });
      const { targetId, reasonCode, fields } = e.body;
      const keys = Object.keys(e.body).sort();
      if (
        typeof targetId !== "string" ||
        typeof reasonCode !== "string" ||
        !(ERASURE_REASONS as readonly string[]).includes(reasonCode) ||
        !Array.isArray(fields) ||
        !fields.every((f): f is string => typeof f === "string") ||
        !sameList(keys, [...ERASURE_BODY_FIELDS].sort()) ||
        !sameList(e.refs ?? [], [targetId])
      ) {
        problem("ERASURE_BODY_MALFORMED", `erasure ${e.id} needs body { targetId, reasonCode, fields } with a known reason and refs [targetId]`);
      } else {
        const committed = committedBy.get(targetId);
        if (committed === undefined)
          problem("ERASURE_TARGET_WITHOUT_COMMITMENTS", `erasure ${e.id} names ${targetId}, which is not an earlier entry with commitments`);
        else if (JSON.stringify(fields) !== committed)
          problem("ERASURE_FIELDS_MISMATCH", `erasure ${e.id} lists fields ${JSON.stringify(fields)}; ${targetId} commits ${committed}`);
        const earlier = erased.get(targetId);
        if (earlier !== undefined) problem("ERASURE_REPEATED", `erasure ${e.id} erases ${targetId} again; ${earlier} already did`);
        else if (committed !== undefined) erased.set(targetId, e.id);
      }
      if (e.commitments !== undefined && Object.keys(e.commitments).length > 0)
        problem("ERASURE_HAS_COMMITMENTS", `erasure ${e.id} carries commitments; an erasure holds no private values`);
    }
    const names = Object.keys(e.commitments ?? {}).sort();
    if (names.length > 0) committedBy.set(e.id, JSON.stringify(names));
  }
  return { erasures, erased, problems };
}
