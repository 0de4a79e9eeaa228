/**
 * Request bodies for the admin API, one strict zod schema per entry kind.
 *
 * Strict: unknown fields are rejected, not stripped, so a typo in a field
 * name is an error rather than a silently lost value. Handlers only ever see
 * the parsed output. The same schemas generate the OpenAPI document.
 *
 * Every free-text field is a PlainText (./zod-types.ts), so every one refuses
 * the same invisible, reordering and control characters; identifiers, codes
 * and amounts have their own stricter formats.
 */
import { z } from "zod";
import { AGENCY_CODE, CORRECTION_REASONS, ENTRY_ID, ENTRY_KINDS, ERASURE_REASONS, LEDGER_KINDS, ROLES } from "../format";
import { CreditCode, DivisionCode, Fen, HttpUrl, IsoDate, PlainText, Sha256Hex } from "./zod-types";

/** Server-assigned entry ids: a kind prefix and 24 hex digits of randomness (service/format). */
export const EntryId = z.string().regex(ENTRY_ID, "not an entry id");

export const ProgrammeCode = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "letters, digits, '.', '_' or '-', up to 64");

export const ProgrammeRequest = z.strictObject({
  code: ProgrammeCode,
  name: PlainText(200),
  agency: PlainText(200),
  budgetFen: Fen,
  currency: z.literal("CNY"),
  policyDocument: z.strictObject({ sha256: Sha256Hex, url: HttpUrl }),
  opensOn: IsoDate,
  closesOn: IsoDate,
  fourEyesThresholdFen: Fen,
  /** 单个企业最高补贴: the most one enterprise may have approved, over all its applications to the programme. Absent: no cap. */
  maxPerEnterpriseFen: Fen.optional(),
});

/** An agency's code: division code, hyphen, department code (service/format AGENCY_CODE); the division is checked by the rules. */
export const AgencyCode = z.string().regex(AGENCY_CODE, "a division code, '-', and a department code in capitals, e.g. 110000-FGW");

/**
 * A government department. `parent` is the agency one level up (province →
 * prefecture → county): absent for a province-level agency, required below.
 */
export const AgencyRequest = z.strictObject({
  code: AgencyCode,
  name: PlainText(200),
  parent: AgencyCode.optional(),
});

/**
 * Agency `from` lets agency `to` record into its programmes (`granted: true`),
 * or withdraws that (`granted: false`). Each change is its own entry.
 */
export const DelegationRequest = z.strictObject({
  from: AgencyCode,
  to: AgencyCode,
  granted: z.boolean(),
});

/** Private fields: committed in the log, stored off-log. */
export const ApplicationPrivate = z.strictObject({
  contactPerson: PlainText(100),
  phone: z.string().regex(/^\+?[0-9][0-9 -]{4,30}$/, "a phone number"),
  bankAccount: z.string().regex(/^[0-9]{8,32}$/, "8 to 32 digits"),
});

export const ApplicationRequest = z.strictObject({
  programmeId: EntryId,
  creditCode: CreditCode,
  enterpriseName: PlainText(200),
  region: DivisionCode,
  requestedFen: Fen,
  private: ApplicationPrivate,
});

export const DecisionRequest = z.strictObject({
  applicationId: EntryId,
  outcome: z.enum(["approved", "rejected"]),
  approvedFen: Fen,
  reason: PlainText(2000),
});

export const PayoutPrivate = z.strictObject({
  bankTransactionRef: PlainText(100),
});

export const PayoutRequest = z.strictObject({
  decisionId: EntryId,
  amountFen: Fen,
  paidOn: IsoDate,
  private: PayoutPrivate,
});

/** The second official's sign-off on a payout under a decision approving at or above the programme's four-eyes threshold. */
export const ConfirmationRequest = z.strictObject({
  payoutId: EntryId,
});

export const CorrectionReason = z.enum(CORRECTION_REASONS);

/**
 * Replacement values a correction may carry. Only fields whose change keeps
 * the ledger's invariants checkable are correctable; amounts are corrected by
 * revoking and re-recording, or by a clawback.
 */
export const CorrectionReplacement = z
  .strictObject({
    enterpriseName: PlainText(200).optional(),
    region: DivisionCode.optional(),
    reason: PlainText(2000).optional(),
    name: PlainText(200).optional(),
    agency: PlainText(200).optional(),
    paidOn: IsoDate.optional(),
    policyDocument: z.strictObject({ sha256: Sha256Hex, url: HttpUrl }).optional(),
    private: z
      .strictObject({
        contactPerson: PlainText(100).optional(),
        phone: ApplicationPrivate.shape.phone.optional(),
        bankAccount: ApplicationPrivate.shape.bankAccount.optional(),
        bankTransactionRef: PlainText(100).optional(),
      })
      .refine((p) => Object.keys(p).length > 0, "private replacement must change at least one field")
      .optional(),
  })
  .refine((r) => Object.keys(r).length > 0, "replacement must change at least one field");

export const CorrectionRequest = z.strictObject({
  targetId: EntryId,
  reasonCode: CorrectionReason,
  reasonText: PlainText(2000),
  /** Required for data-entry-error and superseded; absent otherwise. */
  replacement: CorrectionReplacement.optional(),
  /** Required for clawback: the amount recovered. */
  clawbackFen: Fen.optional(),
});

export const ErasureReason = z.enum(ERASURE_REASONS);

/**
 * The body of `POST /v1/entries/{id}/erasure`: only the legal ground. The
 * target is the path's entry, and no free text is taken, so an erasure entry
 * can never carry personal data.
 */
export const ErasureRequest = z.strictObject({
  reasonCode: ErasureReason,
});

/**
 * An erasure as the rules take it: the target, the reason, and the target's
 * committed field names, read from its public entry in the log by the caller
 * (the log, not the state, holds commitments).
 */
export interface ErasureCommand {
  readonly targetId: string;
  readonly reasonCode: z.infer<typeof ErasureReason>;
  readonly fields: readonly string[];
}

export type ProgrammeRequest = z.infer<typeof ProgrammeRequest>;
export type ApplicationRequest = z.infer<typeof ApplicationRequest>;
export type DecisionRequest = z.infer<typeof DecisionRequest>;
export type PayoutRequest = z.infer<typeof PayoutRequest>;
export type ConfirmationRequest = z.infer<typeof ConfirmationRequest>;
export type CorrectionRequest = z.infer<typeof CorrectionRequest>;
export type CorrectionReplacement = z.infer<typeof CorrectionReplacement>;
export type ErasureRequest = z.infer<typeof ErasureRequest>;
export type AgencyRequest = z.infer<typeof AgencyRequest>;
export type DelegationRequest = z.infer<typeof DelegationRequest>;

export const EntryKind = z.enum(LEDGER_KINDS);
export type EntryKind = z.infer<typeof EntryKind>;
/** The kinds the auditor reads today (service/format ENTRY_KINDS). */
export const AuditedKind = z.enum(ENTRY_KINDS);

export const Role = z.enum(ROLES);
export type Role = z.infer<typeof Role>;

/** Which roles may record which kinds: the public format's role table. */
export { KIND_ROLES } from "../format";

/** The kinds recorded by a POST of their body alone (an erasure is posted to the entry it erases). */
export type RecordKind = Exclude<EntryKind, "erasure">;

export const REQUEST_SCHEMAS = {
  programme: ProgrammeRequest,
  application: ApplicationRequest,
  decision: DecisionRequest,
  payout: PayoutRequest,
  confirmation: ConfirmationRequest,
  correction: CorrectionRequest,
  agency: AgencyRequest,
  delegation: DelegationRequest,
} as const;

/** The most records one batch request may carry. */
export const MAX_BATCH_RECORDS = 100;

/**
 * Several records in one request, appended atomically in order: each record
 * sees the ones before it (an application and its decision can share a
 * batch), and if any is refused none is appended. Each record's kind must be
 * one the caller's role may record.
 */
export const BatchRequest = z.strictObject({
  records: z
    .array(
      z.discriminatedUnion("kind", [
        z.strictObject({ kind: z.literal("programme"), body: ProgrammeRequest }),
        z.strictObject({ kind: z.literal("application"), body: ApplicationRequest }),
        z.strictObject({ kind: z.literal("decision"), body: DecisionRequest }),
        z.strictObject({ kind: z.literal("payout"), body: PayoutRequest }),
        z.strictObject({ kind: z.literal("confirmation"), body: ConfirmationRequest }),
        z.strictObject({ kind: z.literal("correction"), body: CorrectionRequest }),
        z.strictObject({ kind: z.literal("agency"), body: AgencyRequest }),
        z.strictObject({ kind: z.literal("delegation"), body: DelegationRequest }),
      ]),
    )
    .min(1)
    .max(MAX_BATCH_RECORDS),
});
export type BatchRequest = z.infer<typeof BatchRequest>;
