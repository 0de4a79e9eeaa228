/**
 * The public ledger entry, format version 1: what every leaf of the log is.
 *
 *   { v: 1, id, kind, recordedAt, actor: { official, agency, role }, refs: [id],
 *     body: { ...public fields of the kind }, commitments?: { field: hex } }
 *
 * The service writes it (service/records, service/ledger), the portal shows
 * it and the auditor reads it; all three take the names below from here.
 */

/** The `v` of every public entry this format describes. */
export const PUBLIC_ENTRY_VERSION = 1;

export const ENTRY_KINDS = ["programme", "application", "decision", "payout", "confirmation", "correction", "erasure"] as const;
export type EntryKind = (typeof ENTRY_KINDS)[number];

/**
 * The kinds that make agencies first-class: `agency` (a government
 * department, recorded by the deployment-wide admin) and `delegation` (an
 * agency letting another record into its programmes, recorded by the
 * delegating agency's admin). Kept apart from {@link ENTRY_KINDS} only until
 * the auditor reads them (scripts/lib/audit); then the two lists become one.
 */
export const AGENCY_KINDS = ["agency", "delegation"] as const;
export type AgencyKind = (typeof AGENCY_KINDS)[number];

/** Every kind the service records. */
export const LEDGER_KINDS = [...ENTRY_KINDS, ...AGENCY_KINDS] as const;
export type LedgerKind = (typeof LEDGER_KINDS)[number];

export const ROLES = ["clerk", "approver", "payer", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** Which roles may record which kinds. `admin` also manages tokens and may read private values. */
export const KIND_ROLES: Readonly<Record<LedgerKind, readonly Role[]>> = {
  programme: ["admin"],
  application: ["clerk"],
  decision: ["approver"],
  payout: ["payer"],
  confirmation: ["approver"],
  correction: ["approver"],
  erasure: ["admin"],
  agency: ["admin"],
  delegation: ["admin"],
};

/** The three letters an entry id starts with, before its underscore. */
export const ID_PREFIX: Readonly<Record<LedgerKind, string>> = {
  programme: "prg",
  application: "app",
  decision: "dec",
  payout: "pay",
  confirmation: "cnf",
  correction: "cor",
  erasure: "era",
  agency: "agy",
  delegation: "dlg",
};

/** An entry id: its kind's prefix, an underscore and 24 lowercase hex digits (96 random bits). */
export const ENTRY_ID = /^(prg|app|dec|pay|cnf|cor|era|agy|dlg)_[0-9a-f]{24}$/;

/** The id of an entry of one kind. */
export function entryIdPattern(kind: LedgerKind): RegExp {
  return new RegExp(`^${ID_PREFIX[kind]}_[0-9a-f]{24}$`);
}

const KIND_BY_PREFIX: ReadonlyMap<string, LedgerKind> = new Map(LEDGER_KINDS.map((k) => [ID_PREFIX[k], k]));

/** The kind an entry id names by its prefix, or null when it is not an entry id. */
export function kindOfId(id: string): LedgerKind | null {
  if (!ENTRY_ID.test(id)) return null;
  return KIND_BY_PREFIX.get(id.slice(0, 3)) ?? null;
}

export const CORRECTION_REASONS = ["data-entry-error", "revoked", "clawback", "superseded"] as const;
export type CorrectionReason = (typeof CORRECTION_REASONS)[number];

/**
 * Why private values were erased (crypto-shredding: the values and salts go,
 * the commitments stay in the log). A closed set, so an erasure names a legal
 * ground and never carries free text that could itself be personal data:
 * - `data-subject-request`: the person asked for deletion (PIPL Art. 47);
 * - `purpose-fulfilled`: the purpose was achieved or is no longer needed (Art. 47(1));
 * - `retention-expired`: the retention period ended (Art. 47(2));
 * - `consent-withdrawn`: consent was withdrawn (Art. 47(3));
 * - `unlawful-processing`: the values were processed against the law or an agreement (Art. 47(4)).
 */
export const ERASURE_REASONS = ["data-subject-request", "retention-expired", "consent-withdrawn", "purpose-fulfilled", "unlawful-processing"] as const;
export type ErasureReason = (typeof ERASURE_REASONS)[number];

/**
 * Which replacement fields a correction may change on each kind (private
 * ones as `private.<field>`: they appear in the log only as commitments).
 * Amounts are corrected by revoking and re-recording, or by a clawback.
 */
export const CORRECTABLE: Readonly<Partial<Record<LedgerKind, readonly string[]>>> = {
  programme: ["name", "agency", "policyDocument"],
  application: ["enterpriseName", "region", "private.contactPerson", "private.phone", "private.bankAccount"],
  decision: ["reason"],
  payout: ["paidOn", "private.bankTransactionRef"],
};

/**
 * An agency's code: the GB/T 2260 code of its government's division (a
 * province, prefecture or county-level unit), a hyphen, and the department's
 * code in capitals, for example `110000-FGW` (北京市发展和改革委员会) or
 * `130123-FGW`. service/records checks the division part against the pinned
 * division table.
 */
export const AGENCY_CODE = /^([0-9]{6})-([A-Z][A-Z0-9]{1,15})$/;

/** The top-level fields of an entry. */
export const ENTRY_FIELDS = ["actor", "body", "commitments", "id", "kind", "recordedAt", "refs", "v"] as const;

/** An amount in fen: a decimal string of at most 18 digits, no leading zero. */
export const FEN = /^(0|[1-9][0-9]{0,17})$/;
/** A calendar date. */
export const DATE = /^\d{4}-\d{2}-\d{2}$/;
/** recordedAt: RFC 3339 UTC. */
export const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
/** A commitment: SHA-256 as 64 lowercase hex digits. */
export const COMMITMENT = /^[0-9a-f]{64}$/;
