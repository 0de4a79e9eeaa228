/**
 * Reading a public ledger entry, format version 1 (./entry.ts names its
 * kinds, fields and patterns): a parsed leaf checked field by field and
 * returned as one typed record per kind. Pure: no I/O. The auditor reads
 * every leaf with it, and the tests' replays of the rules read entries
 * through it, so the format is described once.
 *
 *   { v: 1, id, kind, recordedAt, actor: { official, agency, role }, refs: [id],
 *     body: { ...public fields of the kind }, commitments?: { field: hex } }
 *
 * Only what the business rules need is checked in depth (ids, amounts,
 * dates, references, who recorded what); free text is checked to be text.
 */
import { CodedError } from "../log";
import {
  AGENCY_CODE,
  COMMITMENT,
  CORRECTION_REASONS,
  DATE,
  ENTRY_FIELDS,
  ENTRY_ID,
  ERASURE_REASONS,
  FEN,
  ID_PREFIX,
  LEDGER_KINDS,
  PUBLIC_ENTRY_VERSION,
  ROLES,
  TIMESTAMP,
  type CorrectionReason,
  type ErasureReason,
  type LedgerKind,
  type Role,
} from "./entry";

const TOP_KEYS: ReadonlySet<string> = new Set(ENTRY_FIELDS);

interface Base {
  readonly id: string;
  readonly recordedAt: string;
  /** Milliseconds since the epoch of recordedAt. */
  readonly recordedMs: number;
  readonly official: string;
  /** The agency of the token that recorded the entry (actor.agency), as written. */
  readonly agency: string;
  readonly role: Role;
  readonly refs: readonly string[];
  /** Names of committed private fields (for corrections: which private values were replaced). */
  readonly committed: readonly string[];
}

/** An amount in fen, as the entry writes it: a decimal string of an integer (checked); the replay adds up its BigInt(). */
export type Fen = string;

/** A version-1 entry as read: the fields every entry has, and per kind the public fields the rules use. */
export type LedgerEntry = Base &
  (
    | { readonly kind: "programme"; readonly code: string; readonly programmeAgency: string; readonly budgetFen: Fen; readonly maxPerEnterpriseFen: Fen | null; readonly fourEyesThresholdFen: Fen; readonly opensOn: string; readonly closesOn: string }
    | { readonly kind: "application"; readonly programmeId: string; readonly creditCode: string; readonly requestedFen: Fen }
    | { readonly kind: "decision"; readonly applicationId: string; readonly outcome: "approved" | "rejected"; readonly approvedFen: Fen }
    | { readonly kind: "payout"; readonly decisionId: string; readonly amountFen: Fen; readonly paidOn: string; readonly needsConfirmation: boolean }
    | { readonly kind: "confirmation"; readonly payoutId: string }
    | {
        readonly kind: "correction";
        readonly targetId: string;
        readonly reasonCode: CorrectionReason;
        readonly clawbackFen: Fen | null;
        /** Whether the body carries a `replacement` (required for data-entry-error and superseded, refused otherwise). */
        readonly hasReplacement: boolean;
        /** Public replacement fields, plus `private.<field>` for each replaced private value; null without a replacement. */
        readonly replacementFields: readonly string[] | null;
        readonly replacementPaidOn: string | null;
        /** A programme's new agency, when the replacement gives one. */
        readonly replacementAgency: string | null;
      }
    | { readonly kind: "erasure"; readonly targetId: string; readonly reasonCode: ErasureReason; readonly fields: readonly string[] }
    | { readonly kind: "agency"; readonly code: string; readonly name: string; readonly parent: string | null }
    | { readonly kind: "delegation"; readonly from: string; readonly to: string; readonly granted: boolean }
  );

/** The value is not a well-formed version-1 ledger entry; the message names the field. */
export class MalformedEntry extends CodedError<"ENTRY_MALFORMED"> {
  override readonly name = "MalformedEntry";
  constructor(message: string) {
    super("ENTRY_MALFORMED", message);
  }
}

function bad(message: string): never {
  throw new MalformedEntry(message);
}

type Fields = Readonly<Record<string, unknown>>;

function isRecord(x: unknown): x is Fields {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function str(o: Fields, k: string, where: string): string {
  const v = o[k];
  if (typeof v !== "string" || v.length === 0) bad(`${where}.${k} must be a non-empty string`);
  return v;
}

function entryId(o: Fields, k: string, where: string, prefix?: string): string {
  return idOf(o[k], `${where}.${k}`, prefix);
}

function idOf(v: unknown, where: string, prefix?: string): string {
  if (typeof v !== "string" || !ENTRY_ID.test(v)) bad(`${where} must be an entry id`);
  if (prefix !== undefined && !v.startsWith(prefix)) bad(`${where} must be the id of a ${prefix.slice(0, 3)} entry`);
  return v;
}

function agencyCode(o: Fields, k: string, where: string): string {
  const v = o[k];
  if (typeof v !== "string" || !AGENCY_CODE.test(v)) bad(`${where}.${k} must be an agency code (division code, '-', department code)`);
  return v;
}

function fen(o: Fields, k: string, where: string): Fen {
  const v = o[k];
  if (typeof v !== "string" || !FEN.test(v)) bad(`${where}.${k} must be an amount in fen (a decimal string)`);
  return v;
}

function date(o: Fields, k: string, where: string): string {
  const v = o[k];
  if (typeof v !== "string" || !DATE.test(v) || Number.isNaN(Date.parse(`${v}T00:00:00Z`))) bad(`${where}.${k} must be a date YYYY-MM-DD`);
  return v;
}

/**
 * Reads a parsed leaf as a ledger entry. Throws {@link MalformedEntry} with
 * a message naming the field for anything that is not a version-1 entry.
 */
export function readEntry(value: unknown): LedgerEntry {
  if (!isRecord(value)) bad("the leaf is not a JSON object");
  const { actor, body, commitments: c, id: idValue, kind, recordedAt, refs, v } = value;
  const unknown = Object.keys(value).find((key) => !TOP_KEYS.has(key));
  if (v !== PUBLIC_ENTRY_VERSION) bad(`unknown entry format version ${JSON.stringify(v)}`);
  if (unknown !== undefined) bad(`unknown field ${JSON.stringify(unknown)}`);
  if (typeof kind !== "string" || !(LEDGER_KINDS as readonly string[]).includes(kind)) bad(`unknown kind ${JSON.stringify(kind)}`);
  const k = kind as LedgerKind;
  const id = idOf(idValue, "$.id", `${ID_PREFIX[k]}_`);
  const recordedMs = typeof recordedAt === "string" && TIMESTAMP.test(recordedAt) ? Date.parse(recordedAt) : NaN;
  if (Number.isNaN(recordedMs)) bad("$.recordedAt must be an RFC 3339 UTC timestamp");
  if (!isRecord(actor)) bad("$.actor must be an object");
  const official = str(actor, "official", "$.actor");
  const agency = str(actor, "agency", "$.actor");
  const role = actor.role;
  if (typeof role !== "string" || !(ROLES as readonly string[]).includes(role)) bad("$.actor.role is not a role");
  if (!Array.isArray(refs) || !refs.every((r) => typeof r === "string" && ENTRY_ID.test(r))) bad("$.refs must be a list of entry ids");
  if (!isRecord(body)) bad("$.body must be an object");
  let committed: string[] = [];
  if (c !== undefined) {
    if (!isRecord(c)) bad("$.commitments must be an object");
    for (const [f, h] of Object.entries(c)) if (typeof h !== "string" || !COMMITMENT.test(h)) bad(`$.commitments.${f} must be 64 hex digits`);
    committed = Object.keys(c);
  }
  const rec = recordedAt as string;
  const who = role as Role;
  const rs = refs as string[];
  const b = "$.body";
  // Object literals with every field written out (no spread): one shape per kind, fast to build and to read.
  switch (k) {
    case "programme":
      return {
        kind: k,
        id,
        recordedAt: rec,
        recordedMs,
        official,
        agency,
        role: who,
        refs: rs,
        committed,
        code: str(body, "code", b),
        programmeAgency: str(body, "agency", b),
        budgetFen: fen(body, "budgetFen", b),
        maxPerEnterpriseFen: body.maxPerEnterpriseFen === undefined ? null : fen(body, "maxPerEnterpriseFen", b),
        fourEyesThresholdFen: fen(body, "fourEyesThresholdFen", b),
        opensOn: date(body, "opensOn", b),
        closesOn: date(body, "closesOn", b),
      };
    case "application":
      return {
        kind: k,
        id,
        recordedAt: rec,
        recordedMs,
        official,
        agency,
        role: who,
        refs: rs,
        committed,
        programmeId: entryId(body, "programmeId", b),
        creditCode: str(body, "creditCode", b),
        requestedFen: fen(body, "requestedFen", b),
      };
    case "decision": {
      const outcome = body.outcome;
      if (outcome !== "approved" && outcome !== "rejected") bad(`${b}.outcome must be approved or rejected`);
      return {
        kind: k,
        id,
        recordedAt: rec,
        recordedMs,
        official,
        agency,
        role: who,
        refs: rs,
        committed,
        applicationId: entryId(body, "applicationId", b),
        outcome,
        approvedFen: fen(body, "approvedFen", b),
      };
    }
    case "payout": {
      const needsConfirmation = body.needsConfirmation;
      if (typeof needsConfirmation !== "boolean") bad(`${b}.needsConfirmation must be true or false`);
      return {
        kind: k,
        id,
        recordedAt: rec,
        recordedMs,
        official,
        agency,
        role: who,
        refs: rs,
        committed,
        decisionId: entryId(body, "decisionId", b),
        amountFen: fen(body, "amountFen", b),
        paidOn: date(body, "paidOn", b),
        needsConfirmation,
      };
    }
    case "confirmation":
      return { kind: k, id, recordedAt: rec, recordedMs, official, agency, role: who, refs: rs, committed, payoutId: entryId(body, "payoutId", b) };
    case "correction": {
      const reasonCode = body.reasonCode;
      if (typeof reasonCode !== "string" || !(CORRECTION_REASONS as readonly string[]).includes(reasonCode)) bad(`${b}.reasonCode is not a correction reason`);
      let replacementFields: string[] | null = null;
      let replacementPaidOn: string | null = null;
      let replacementAgency: string | null = null;
      const r = body.replacement;
      if (r !== undefined) {
        if (!isRecord(r)) bad(`${b}.replacement must be an object`);
        replacementFields = Object.keys(r);
        if (r.paidOn !== undefined) replacementPaidOn = date(r, "paidOn", `${b}.replacement`);
        if (r.agency !== undefined) replacementAgency = str(r, "agency", `${b}.replacement`);
      }
      // Replaced private values appear only as commitments (the public replacement omits them).
      if (committed.length > 0) replacementFields = [...(replacementFields ?? []), ...committed.map((f) => `private.${f}`)];
      return {
        kind: k,
        id,
        recordedAt: rec,
        recordedMs,
        official,
        agency,
        role: who,
        refs: rs,
        committed,
        targetId: entryId(body, "targetId", b),
        reasonCode: reasonCode as CorrectionReason,
        hasReplacement: r !== undefined,
        clawbackFen: body.clawbackFen === undefined ? null : fen(body, "clawbackFen", b),
        replacementFields,
        replacementPaidOn,
        replacementAgency,
      };
    }
    case "agency": {
      const parent = body.parent === undefined ? null : agencyCode(body, "parent", b);
      return { kind: k, id, recordedAt: rec, recordedMs, official, agency, role: who, refs: rs, committed, code: agencyCode(body, "code", b), name: str(body, "name", b), parent };
    }
    case "delegation": {
      if (typeof body.granted !== "boolean") bad(`${b}.granted must be true or false`);
      return { kind: k, id, recordedAt: rec, recordedMs, official, agency, role: who, refs: rs, committed, from: agencyCode(body, "from", b), to: agencyCode(body, "to", b), granted: body.granted };
    }
    case "erasure": {
      const reasonCode = body.reasonCode;
      if (typeof reasonCode !== "string" || !(ERASURE_REASONS as readonly string[]).includes(reasonCode)) bad(`${b}.reasonCode is not an erasure reason`);
      const fields = body.fields;
      if (!Array.isArray(fields) || !fields.every((f) => typeof f === "string")) bad(`${b}.fields must be a list of field names`);
      const extra = Object.keys(body).find((f) => f !== "targetId" && f !== "reasonCode" && f !== "fields");
      if (extra !== undefined) bad(`${b}.${extra} is not a field of an erasure`);
      return { kind: k, id, recordedAt: rec, recordedMs, official, agency, role: who, refs: rs, committed, targetId: entryId(body, "targetId", b), reasonCode: reasonCode as ErasureReason, fields: fields as string[] };
    }
  }
}
