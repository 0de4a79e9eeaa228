/**
 * The public ledger entry, as the auditor reads it: version 1 of the format
 * the service writes (service/records/entry.ts and rules.ts), checked here
 * from its own description rather than by importing the service's schemas,
 * so the audit trusts nothing of the service but the format.
 *
 *   { v: 1, id, kind, recordedAt, actor: { official, agency, role }, refs: [id],
 *     body: { ...public fields of the kind }, commitments?: { field: hex } }
 *
 * Only what the invariants need is checked in depth (ids, amounts, dates,
 * references, who recorded what); free text is checked to be text.
 */

import { fromParsed, type JsonFields, type JsonValue } from "./tape";

export const ENTRY_KINDS = ["programme", "application", "decision", "payout", "confirmation", "correction"] as const;
export type EntryKind = (typeof ENTRY_KINDS)[number];

export const ROLES = ["clerk", "approver", "payer", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** Which role may record which kind (the service's KIND_ROLES). */
export const KIND_ROLES: Readonly<Record<EntryKind, readonly Role[]>> = {
  programme: ["admin"],
  application: ["clerk"],
  decision: ["approver"],
  payout: ["payer"],
  confirmation: ["approver"],
  correction: ["approver"],
};

/** The id prefix of each kind, with its underscore. */
const ID_PREFIX: Readonly<Record<EntryKind, string>> = {
  programme: "prg_",
  application: "app_",
  decision: "dec_",
  payout: "pay_",
  confirmation: "cnf_",
  correction: "cor_",
};

export const CORRECTION_REASONS = ["data-entry-error", "revoked", "clawback", "superseded"] as const;
export type CorrectionReason = (typeof CORRECTION_REASONS)[number];

const ENTRY_ID = /^(prg|app|dec|pay|cnf|cor)_[0-9a-f]{24}$/;
const FEN = /^(0|[1-9][0-9]{0,17})$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
const HEX64 = /^[0-9a-f]{64}$/;
const TOP_KEYS = new Set(["actor", "body", "commitments", "id", "kind", "recordedAt", "refs", "v"]);

interface Base {
  readonly id: string;
  readonly recordedAt: string;
  /** Milliseconds since the epoch of recordedAt. */
  readonly recordedMs: number;
  readonly official: string;
  readonly role: Role;
  readonly refs: readonly string[];
  /** Names of committed private fields (for corrections: which private values were replaced). */
  readonly committed: readonly string[];
}

export type AuditEntry = Base &
  (
    | { readonly kind: "programme"; readonly code: string; readonly budgetFen: bigint; readonly fourEyesThresholdFen: bigint; readonly opensOn: string; readonly closesOn: string }
    | { readonly kind: "application"; readonly programmeId: string; readonly requestedFen: bigint }
    | { readonly kind: "decision"; readonly applicationId: string; readonly outcome: "approved" | "rejected"; readonly approvedFen: bigint }
    | { readonly kind: "payout"; readonly decisionId: string; readonly amountFen: bigint; readonly paidOn: string; readonly needsConfirmation: boolean }
    | { readonly kind: "confirmation"; readonly payoutId: string }
    | {
        readonly kind: "correction";
        readonly targetId: string;
        readonly reasonCode: CorrectionReason;
        readonly clawbackFen: bigint | null;
        /** Whether the body carries a `replacement` (required for data-entry-error and superseded, refused otherwise). */
        readonly hasReplacement: boolean;
        /** Public replacement fields, plus `private.<field>` for each replaced private value; null without a replacement. */
        readonly replacementFields: readonly string[] | null;
        readonly replacementPaidOn: string | null;
      }
  );

/** The entry is not a well-formed version-1 ledger entry. */
export class MalformedEntry extends Error {
  override readonly name = "MalformedEntry";
}

function bad(message: string): never {
  throw new MalformedEntry(message);
}

function isRecord(x: JsonValue | undefined): x is JsonFields {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function str(o: JsonFields, k: string, where: string): string {
  const v = o.get(k);
  if (typeof v !== "string" || v.length === 0) bad(`${where}.${k} must be a non-empty string`);
  return v;
}

function entryId(o: JsonFields, k: string, where: string, prefix?: string): string {
  return idOf(o.get(k), `${where}.${k}`, prefix);
}

function idOf(v: JsonValue | undefined, where: string, prefix?: string): string {
  if (typeof v !== "string" || !ENTRY_ID.test(v)) bad(`${where} must be an entry id`);
  if (prefix !== undefined && !v.startsWith(prefix)) bad(`${where} must be the id of a ${prefix.slice(0, 3)} entry`);
  return v;
}

/** The minute of the last timestamp read, and its time: entries come in time order. */
let cachedMinute = "";
let cachedMinuteMs = NaN;

/**
 * Date.parse of a string TIMESTAMP matched, cheaper: each minute is parsed
 * once and the seconds and milliseconds added (Date.parse, like this, takes
 * the first three fraction digits and refuses second 60). Hour 24, which
 * Date.parse takes only as 24:00:00, goes to Date.parse itself.
 */
export function timestampMs(s: string): number {
  if (s.charCodeAt(11) === 0x32 && s.charCodeAt(12) === 0x34) return Date.parse(s);
  const minute = s.slice(0, 17);
  if (minute !== cachedMinute) {
    cachedMinuteMs = Date.parse(`${minute}00Z`);
    cachedMinute = minute;
  }
  const sec = (s.charCodeAt(17) - 0x30) * 10 + (s.charCodeAt(18) - 0x30);
  if (sec > 59) return NaN;
  let ms = 0;
  for (let i = 20, scale = 100; scale >= 1 && i < s.length - 1; i++, scale /= 10) ms += (s.charCodeAt(i) - 0x30) * scale;
  return cachedMinuteMs + sec * 1000 + ms;
}

function fen(o: JsonFields, k: string, where: string): bigint {
  const v = o.get(k);
  if (typeof v !== "string" || !FEN.test(v)) bad(`${where}.${k} must be an amount in fen (a decimal string)`);
  return BigInt(v);
}

/** The last date found valid: consecutive entries mostly carry the same. */
let validDate = "";

function date(o: JsonFields, k: string, where: string): string {
  const v = o.get(k);
  if (v === validDate) return v;
  if (typeof v !== "string" || !DATE.test(v) || Number.isNaN(Date.parse(`${v}T00:00:00Z`))) bad(`${where}.${k} must be a date YYYY-MM-DD`);
  validDate = v;
  return v;
}

function sameText(s: string): string {
  return s;
}

/**
 * Reads a parsed leaf as a ledger entry. Throws {@link MalformedEntry} with
 * a message naming the field for anything that is not a version-1 entry.
 */
export function readEntry(value: unknown): AuditEntry {
  return readEntryFields(fromParsed(value));
}

/**
 * {@link readEntry} of a leaf seen through {@link JsonFields}: parsed, or on
 * a tape (./tape.ts). Free text the entry keeps (the official, a programme's
 * code, field names) goes through `textOf`: a leaf read from its tape passes
 * `textOfBytes` (./canonical.ts); the checks do not depend on it.
 */
export function readEntryFields(value: JsonValue, textOf: (s: string) => string = sameText): AuditEntry {
  if (!isRecord(value)) bad("the leaf is not a JSON object");
  // Looked up in the order canonical JSON sorts them, so a tape's lookups walk its keys once.
  const actor = value.get("actor");
  const body = value.get("body");
  const c = value.get("commitments");
  const idValue = value.get("id");
  const kind = value.get("kind");
  const recordedAt = value.get("recordedAt");
  const refs = value.get("refs");
  const v = value.get("v");
  const known =
    (actor === undefined ? 0 : 1) +
    (body === undefined ? 0 : 1) +
    (c === undefined ? 0 : 1) +
    (idValue === undefined ? 0 : 1) +
    (kind === undefined ? 0 : 1) +
    (recordedAt === undefined ? 0 : 1) +
    (refs === undefined ? 0 : 1) +
    (v === undefined ? 0 : 1);
  const unknown = value.size() > known ? value.keys().find((key) => !TOP_KEYS.has(key)) : undefined;
  if (v !== 1) bad(`unknown entry format version ${JSON.stringify(v)}`);
  if (unknown !== undefined) bad(`unknown field ${JSON.stringify(unknown)}`);
  if (typeof kind !== "string" || !(ENTRY_KINDS as readonly string[]).includes(kind)) bad(`unknown kind ${JSON.stringify(kind)}`);
  const k = kind as EntryKind;
  const id = idOf(idValue, "$.id", ID_PREFIX[k]);
  const recordedMs = typeof recordedAt === "string" && TIMESTAMP.test(recordedAt) ? timestampMs(recordedAt) : NaN;
  if (Number.isNaN(recordedMs)) bad("$.recordedAt must be an RFC 3339 UTC timestamp");
  if (!isRecord(actor)) bad("$.actor must be an object");
  const official = textOf(str(actor, "official", "$.actor"));
  str(actor, "agency", "$.actor");
  const role = actor.get("role");
  if (typeof role !== "string" || !(ROLES as readonly string[]).includes(role)) bad("$.actor.role is not a role");
  if (!Array.isArray(refs) || !refs.every((r) => typeof r === "string" && ENTRY_ID.test(r))) bad("$.refs must be a list of entry ids");
  if (!isRecord(body)) bad("$.body must be an object");
  let committed: string[] = [];
  if (c !== undefined) {
    if (!isRecord(c)) bad("$.commitments must be an object");
    const fields: string[] = [];
    c.each((f, h) => {
      if (typeof h !== "string" || !HEX64.test(h)) bad(`$.commitments.${f} must be 64 hex digits`);
      fields.push(textOf(f));
    });
    committed = fields;
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
        role: who,
        refs: rs,
        committed,
        code: textOf(str(body, "code", b)),
        budgetFen: fen(body, "budgetFen", b),
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
        role: who,
        refs: rs,
        committed,
        programmeId: entryId(body, "programmeId", b),
        requestedFen: fen(body, "requestedFen", b),
      };
    case "decision": {
      const outcome = body.get("outcome");
      if (outcome !== "approved" && outcome !== "rejected") bad(`${b}.outcome must be approved or rejected`);
      return {
        kind: k,
        id,
        recordedAt: rec,
        recordedMs,
        official,
        role: who,
        refs: rs,
        committed,
        applicationId: entryId(body, "applicationId", b),
        outcome,
        approvedFen: fen(body, "approvedFen", b),
      };
    }
    case "payout": {
      const needsConfirmation = body.get("needsConfirmation");
      if (typeof needsConfirmation !== "boolean") bad(`${b}.needsConfirmation must be true or false`);
      return {
        kind: k,
        id,
        recordedAt: rec,
        recordedMs,
        official,
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
      return { kind: k, id, recordedAt: rec, recordedMs, official, role: who, refs: rs, committed, payoutId: entryId(body, "payoutId", b) };
    case "correction": {
      const reasonCode = body.get("reasonCode");
      if (typeof reasonCode !== "string" || !(CORRECTION_REASONS as readonly string[]).includes(reasonCode)) bad(`${b}.reasonCode is not a correction reason`);
      let replacementFields: string[] | null = null;
      let replacementPaidOn: string | null = null;
      const r = body.get("replacement");
      if (r !== undefined) {
        if (!isRecord(r)) bad(`${b}.replacement must be an object`);
        replacementFields = r.keys().map(textOf);
        if (r.get("paidOn") !== undefined) replacementPaidOn = date(r, "paidOn", `${b}.replacement`);
      }
      // Replaced private values appear only as commitments (the public replacement omits them).
      if (committed.length > 0) replacementFields = [...(replacementFields ?? []), ...committed.map((f) => `private.${f}`)];
      return {
        kind: k,
        id,
        recordedAt: rec,
        recordedMs,
        official,
        role: who,
        refs: rs,
        committed,
        targetId: entryId(body, "targetId", b),
        reasonCode: reasonCode as CorrectionReason,
        hasReplacement: r !== undefined,
        clawbackFen: body.get("clawbackFen") === undefined ? null : fen(body, "clawbackFen", b),
        replacementFields,
        replacementPaidOn,
      };
    }
  }
}
