/**
 * What the API shows: response schemas (zod, so the OpenAPI document is
 * generated from them) and the functions that build each response.
 *
 * Every view is built from an explicit ALLOW-LIST of fields, copied one by
 * one. Nothing here spreads a stored or internal object into a response, so a
 * field added to the state, the store or an entry later stays private until
 * someone adds it here on purpose.
 *
 * Entries are checked twice: {@link publicEntry} copies only allow-listed
 * fields, and {@link publicLeaf} then requires the canonical bytes of that
 * copy to equal the stored leaf bytes. If a leaf ever held a field outside
 * the allow-list, the read fails loudly (a LogInvariantError, served as 500)
 * instead of shipping bytes the allow-list has not vetted.
 */
import { z } from "zod";
import { canonicalBytes, decodeEntry, equalBytes, LogInvariantError, RECEIPT_FORMAT, type JsonValue } from "../log";
import type { AgencyState, ErasureState } from "../records/state";
import { governmentDivision, regionType, REGION_TYPES, type RegionType } from "../records/identifiers";
import { EntryKind, Role } from "../records/schemas";
import type { ApplicationStatus as DomainApplicationStatus } from "../queries/status";
import type { ApplicationSummary, CorrectionOf, EnterpriseResult, PrivateValues, ProgrammeResult, TotalsResult } from "../queries/queries";
import type { TokenInfo } from "../auth/tokens";

// ---------------------------------------------------------------------------
// Allow-lists

/**
 * Public body fields per entry kind: the request fields minus `private`
 * (whose values are committed, never logged), plus what the rules add
 * (`needsConfirmation` on payouts). test/http/views.test.ts checks these
 * against the request schemas, so a new request field fails a test until it
 * is deliberately listed here (or deliberately kept out).
 */
export const PUBLIC_BODY_FIELDS: Readonly<Record<EntryKind, readonly string[]>> = {
  programme: ["code", "name", "agency", "budgetFen", "currency", "policyDocument", "opensOn", "closesOn", "fourEyesThresholdFen", "maxPerEnterpriseFen"],
  application: ["programmeId", "creditCode", "enterpriseName", "region", "requestedFen"],
  decision: ["applicationId", "outcome", "approvedFen", "reason"],
  payout: ["decisionId", "amountFen", "paidOn", "needsConfirmation"],
  confirmation: ["payoutId"],
  correction: ["targetId", "reasonCode", "reasonText", "replacement", "clawbackFen"],
  erasure: ["targetId", "reasonCode", "fields"],
  agency: ["code", "name", "parent"],
  delegation: ["from", "to", "granted"],
};

/** Fields whose value is a list of strings (an erasure's erased field names); any other list is refused. */
const STRING_LISTS: ReadonlySet<string> = new Set(["fields"]);

/** Public fields of a correction's replacement values (the `private` part is committed instead). */
export const PUBLIC_REPLACEMENT_FIELDS: readonly string[] = ["enterpriseName", "region", "reason", "name", "agency", "paidOn", "policyDocument"];

const POLICY_DOCUMENT_FIELDS: readonly string[] = ["sha256", "url"];

/** Which nested objects are copied, and with which fields. Any other non-scalar value is refused. */
const NESTED: Readonly<Record<string, readonly string[]>> = {
  policyDocument: POLICY_DOCUMENT_FIELDS,
  replacement: PUBLIC_REPLACEMENT_FIELDS,
};

const HEX64 = /^[0-9a-f]{64}$/;

// ---------------------------------------------------------------------------
// Response schemas

const Fen = z.string().regex(/^(0|[1-9][0-9]*)$/).meta({ description: "Amount in fen as a decimal string" });
const LeafIndex = z.number().int().min(0);

export const PublicEntryView = z
  .object({
    v: z.number().int(),
    id: z.string(),
    kind: EntryKind,
    recordedAt: z.string(),
    actor: z.object({
      official: z.string().meta({ description: "The official's canonical id (NFKC, case folded): two entries with the same id are the same official" }),
      name: z.string().optional().meta({ description: "The official's display name, when their token has one" }),
      agency: z.string(),
      role: Role,
    }),
    refs: z.array(z.string()),
    body: z.record(z.string(), z.unknown()).meta({ description: "The public fields of the request (see the request schemas), without `private`" }),
    commitments: z
      .record(z.string(), z.string().regex(HEX64))
      .optional()
      .meta({ description: "Private field name → hex SHA-256(salt ‖ JCS(value)); the values are kept off-log" }),
  })
  .meta({ description: "A ledger entry as it is in the log (RFC 8785 canonical JSON is the leaf data)" });
export type PublicEntryView = z.infer<typeof PublicEntryView>;

export const AcceptedView = z
  .object({
    id: z.string(),
    kind: EntryKind,
    leafIndex: LeafIndex,
    entry: PublicEntryView,
    accessCode: z
      .string()
      .optional()
      .meta({
        description:
          "Applications only: the enterprise's access code for its receipts (GET /v1/entries/{id}/receipt/private with X-Access-Code). Hand it to the enterprise; it is derived, not stored, and an admin can re-issue it.",
      }),
  })
  .meta({ description: "The recorded entry and its position in the log" });
export type AcceptedView = z.infer<typeof AcceptedView>;

export const ApplicationStatus = z
  .enum(["pending", "approved", "rejected", "paid", "partially-paid", "corrected"] satisfies DomainApplicationStatus[])
  .meta({
    description:
      "pending: no decision; approved: approved, nothing paid yet; rejected; partially-paid / paid: effective payouts (confirmed where the four-eyes rule applies, net of clawbacks) below / at the approved amount; corrected: the application was revoked, or its decision was revoked and no new decision has been recorded",
  });
export type ApplicationStatus = z.infer<typeof ApplicationStatus>;

export const ProgrammeStatus = z.enum(["active", "revoked"]);

export const BelongsToView = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("application"), id: z.string(), status: ApplicationStatus }),
  z.object({ kind: z.literal("programme"), id: z.string(), status: ProgrammeStatus }),
]);
export type BelongsToView = z.infer<typeof BelongsToView>;

export const ErasureInfoView = z
  .object({
    id: z.string().meta({ description: "The erasure entry" }),
    reasonCode: z.string(),
    recordedAt: z.string(),
    fields: z.array(z.string()).meta({ description: "The committed fields whose values and salts were deleted" }),
  })
  .meta({ description: "An erasure of an entry's private values (crypto-shredding): the values and salts are gone, the commitments stay in the log" });
export type ErasureInfoView = z.infer<typeof ErasureInfoView>;

export const EntryView = z
  .object({
    id: z.string(),
    kind: EntryKind,
    leafIndex: LeafIndex,
    revoked: z.boolean().meta({ description: "Whether a later correction revoked this entry" }),
    belongsTo: BelongsToView.nullable().meta({ description: "The application or programme this entry is about, with its derived status" }),
    erasure: ErasureInfoView.nullable().meta({
      description: "Set when this entry's private values were erased: erased, commitments kept (the entry still verifies). Null when they were not erased, or the entry never had any",
    }),
    entry: PublicEntryView,
  });
export type EntryView = z.infer<typeof EntryView>;

export const LogEntryView = z
  .object({
    leafIndex: LeafIndex,
    leaf: z.string().meta({ description: "The exact leaf data as a UTF-8 string: SHA-256(0x00 ‖ UTF-8(leaf)) is the RFC 6962 leaf hash" }),
    entry: PublicEntryView,
  });
export type LogEntryView = z.infer<typeof LogEntryView>;

export const LogEntriesView = z
  .object({ treeSize: LeafIndex, start: LeafIndex, end: LeafIndex, entries: z.array(LogEntryView) })
  .meta({ description: "Entries [start, end) in log order; end is clipped to the tree size and the page size" });

export const CorrectionSummaryView = z.object({
  id: z.string(),
  leafIndex: LeafIndex,
  recordedAt: z.string(),
  targetId: z.string(),
  targetKind: EntryKind,
  reasonCode: z.string(),
  reasonText: z.string(),
  clawbackFen: Fen.optional(),
});
export type CorrectionSummaryView = z.infer<typeof CorrectionSummaryView>;

export const ApplicationSummaryView = z
  .object({
    id: z.string(),
    programme: z.object({ id: z.string(), code: z.string(), name: z.string() }),
    enterpriseName: z.string(),
    region: z.string(),
    regionType: z.enum(REGION_TYPES as [RegionType, ...RegionType[]]),
    status: ApplicationStatus,
    requestedFen: Fen,
    approvedFen: Fen,
    paidFen: Fen,
    decisionId: z.string().nullable(),
    corrections: z.array(CorrectionSummaryView),
  });
export type ApplicationSummaryView = z.infer<typeof ApplicationSummaryView>;

export const EnterpriseView = z
  .object({
    creditCode: z.string(),
    totals: z.object({ applications: z.number().int(), requestedFen: Fen, approvedFen: Fen, paidFen: Fen }),
    applications: z.array(ApplicationSummaryView),
    applicationsComplete: z.boolean().meta({ description: "False if the enterprise has more entries than one summary pass reads" }),
    entries: z.array(z.object({ leafIndex: LeafIndex, entry: PublicEntryView })),
    next: LeafIndex.nullable().meta({ description: "Pass as `after` for the next page of entries; null on the last page" }),
  });
export type EnterpriseView = z.infer<typeof EnterpriseView>;

const RegionTallyView = z.object({ applications: z.number().int(), approvedFen: Fen, paidFen: Fen });

export const ProgrammeView = z
  .object({
    id: z.string(),
    leafIndex: LeafIndex,
    code: z.string(),
    name: z.string(),
    agency: z.string(),
    status: ProgrammeStatus,
    opensOn: z.string(),
    closesOn: z.string(),
    fourEyesThresholdFen: Fen,
    maxPerEnterpriseFen: Fen.optional().meta({ description: "单个企业最高补贴: the most one enterprise may have approved in this programme; absent when there is no cap" }),
    budgetFen: Fen,
    approvedFen: Fen,
    paidFen: Fen,
    remainingFen: Fen.meta({ description: "budgetFen − approvedFen" }),
    applications: z.number().int(),
    byRegion: z.object({ "urban-district": RegionTallyView, "rural-county": RegionTallyView, "county-level-city": RegionTallyView }),
  });
export type ProgrammeView = z.infer<typeof ProgrammeView>;

export const ProgrammeListView = z.object({ programmes: z.array(ProgrammeView), next: LeafIndex.nullable() });

const NamedDivisionView = z.object({ code: z.string(), name: z.string() });

export const AgencyView = z.object({
  id: z.string(),
  code: z.string(),
  name: z.string(),
  parent: z.string().nullable(),
  division: z.object({
    code: z.string(),
    name: z.string(),
    level: z.enum(["province", "prefecture", "county"]),
    province: NamedDivisionView,
    prefecture: NamedDivisionView.nullable(),
  }),
});
export const AgencyListView = z.object({ agencies: z.array(AgencyView) });

/** 城乡均衡 of one prefecture (or of a province, for its counties directly under it). */
const PrefectureTotalsView = z.object({
  prefecture: NamedDivisionView,
  province: NamedDivisionView,
  byRegion: z.object({ "urban-district": RegionTallyView, "rural-county": RegionTallyView, "county-level-city": RegionTallyView }),
});
export const TotalsView = z.object({
  programmes: z.number().int(),
  applications: z.number().int(),
  approvedFen: Fen,
  paidFen: Fen,
  complete: z.boolean(),
  byPrefecture: z.array(PrefectureTotalsView),
});

export const InclusionProofView = z
  .object({
    index: LeafIndex,
    size: LeafIndex,
    leafHash: z.string().regex(HEX64),
    rootHash: z.string().regex(HEX64),
    proof: z.array(z.string().regex(HEX64)),
  })
  .meta({ description: "RFC 9162 §2.1.3 inclusion proof, hashes in hex" });

export const ConsistencyProofView = z
  .object({
    from: LeafIndex,
    to: LeafIndex,
    fromRootHash: z.string().regex(HEX64),
    toRootHash: z.string().regex(HEX64),
    proof: z.array(z.string().regex(HEX64)),
  })
  .meta({ description: "RFC 9162 §2.1.4 consistency proof, hashes in hex" });

export const TokenInfoView = z
  .object({
    id: z.string(),
    official: z.string().meta({ description: "The official's canonical id (NFKC, case folded)" }),
    name: z.string().optional().meta({ description: "The official's display name" }),
    agency: z.string(),
    role: Role,
    createdAt: z.string(),
    revokedAt: z.string().nullable(),
  })
  .meta({ description: "A token without its secret or hash" });
export const TokenCreatedView = TokenInfoView.extend({
  token: z.string().meta({ description: "The bearer token. Shown once; only its SHA-256 is stored" }),
});
export const TokenListView = z.object({ tokens: z.array(TokenInfoView) });

export const PrivateView = z
  .object({
    id: z.string(),
    kind: EntryKind,
    commitments: z.record(z.string(), z.string()),
    privateValues: z.enum(["present", "erased", "none"]).meta({
      description: "present: `openings` holds them; erased: deleted by the erasure in `erasure`, commitments kept; none: the entry never had private values",
    }),
    openings: z
      .record(z.string(), z.object({ value: z.string(), salt: z.string().regex(HEX64) }))
      .nullable()
      .meta({ description: "Null unless privateValues is present" }),
    erasure: ErasureInfoView.nullable(),
  })
  .meta({ description: "The private values of an entry and the salts that open its commitments" });
export type PrivateView = z.infer<typeof PrivateView>;

export const HealthView = z.object({ ok: z.boolean() }).catchall(z.unknown());

const AnchoredView = z
  .object({
    size: LeafIndex,
    rootHex: z.string().regex(/^0x[0-9a-f]{64}$/),
    checkpointIndex: LeafIndex,
    txHash: z.string().nullable(),
    blockNumber: LeafIndex.nullable(),
    anchoredAt: z.string().meta({ description: "RFC 3339: the block time the contract recorded" }),
  })
  .meta({ description: "The latest checkpoint anchored with enough confirmations" });

export const ChainView = z
  .object({
    chainId: z.number().int().positive(),
    contract: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
    fromBlock: LeafIndex.meta({ description: "Read the contract's CheckpointAnchored events from this block" }),
    anchored: AnchoredView.nullable(),
  })
  .meta({ description: "Where the log is anchored: the LedgerAnchor contract and its latest checkpoint" });

export const ReceiptView = z
  .object({
    format: z.literal(RECEIPT_FORMAT),
    version: z.literal(1),
    entry: PublicEntryView,
    leafIndex: LeafIndex,
    checkpoint: z.string().meta({ description: "C2SP signed note of the anchored checkpoint (origin, size, base64 root, Ed25519 signature)" }),
    inclusionProof: z.array(z.string().regex(HEX64)).meta({ description: "RFC 9162 inclusion proof from the leaf to the checkpoint's root" }),
    anchor: z.object({
      chainId: z.number().int().positive(),
      contract: z.string(),
      checkpointIndex: LeafIndex,
      txHash: z.string().nullable(),
      blockNumber: LeafIndex.nullable(),
      anchoredAt: z.string(),
    }),
    logKey: z.string().meta({ description: "The log's C2SP verifier key as this service publishes it; verify against a copy you trust" }),
    openings: z
      .record(z.string(), z.object({ value: z.string(), salt: z.string().regex(HEX64) }))
      .optional()
      .meta({ description: "Enterprise receipt only: the private values and the salts that open the entry's commitments" }),
  })
  .meta({
    description:
      "A self-contained receipt: verify it offline with the log core (leaf hash, inclusion proof, checkpoint signature, openings), then check with one contract read that LedgerAnchor.checkpointAt(anchor.checkpointIndex) holds the checkpoint's size and root",
  });

export const AccessCodeView = z.object({ applicationId: z.string(), accessCode: z.string() });
export const AccessCodeRevokedView = AccessCodeView.extend({
  generation: z.number().int().min(1).meta({ description: "How many times the application's code has been revoked" }),
}).meta({ description: "The new access code; the previous one is refused from now on" });

export const ProblemView = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    rule: z.string().optional().meta({ description: "The business rule that refused the request; for a recording-halted 503, why recording is halted" }),
    errors: z.array(z.object({ path: z.string(), message: z.string(), code: z.string() })).optional(),
    record: z.number().int().optional().meta({ description: "For a refused batch: the index of the refused record; nothing of the batch was recorded" }),
  })
  .meta({ description: "RFC 9457 problem details" });

export const BatchAcceptedView = z
  .object({ results: z.array(AcceptedView) })
  .meta({ description: "Every record of the batch, in order, as recorded; all are durable in the log" });

// ---------------------------------------------------------------------------
// Builders

/** Computed by the read model; re-exported for callers that import it from here. */
export { applicationStatus } from "../queries/status";

function fail(message: string): never {
  throw new LogInvariantError(message);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function copyScalar(v: unknown, where: string): string | number | boolean | null {
  if (v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
  return fail(`${where} is not a scalar`);
}

/** Copies the allow-listed fields of `source`; nested objects only where {@link NESTED} says so. */
function pick(source: unknown, fields: readonly string[], where: string): { [k: string]: JsonValue } {
  if (!isRecord(source)) fail(`${where} is not an object`);
  const out: { [k: string]: JsonValue } = {};
  for (const f of fields) {
    if (!Object.prototype.hasOwnProperty.call(source, f)) continue;
    const v = source[f];
    const nested = NESTED[f];
    if (STRING_LISTS.has(f) && Array.isArray(v)) out[f] = v.map((x, i) => (typeof x === "string" ? x : fail(`${where}.${f}[${i}] is not a string`)));
    else out[f] = nested !== undefined && isRecord(v) ? pick(v, nested, `${where}.${f}`) : copyScalar(v, `${where}.${f}`);
  }
  return out;
}

/** The allow-listed copy of a decoded log entry. */
export function publicEntry(decoded: unknown): PublicEntryView {
  if (!isRecord(decoded)) fail("entry is not an object");
  const kind = EntryKind.safeParse(decoded["kind"]);
  if (!kind.success) fail("entry has no known kind");
  const actor = decoded["actor"];
  const refs = decoded["refs"];
  if (!isRecord(actor) || !Array.isArray(refs)) fail("entry has no actor or refs");
  const role = Role.safeParse(actor["role"]);
  if (!role.success) fail("entry actor has no known role");
  const view: PublicEntryView = {
    v: Number(decoded["v"]),
    id: String(decoded["id"]),
    kind: kind.data,
    recordedAt: String(decoded["recordedAt"]),
    actor: { official: String(actor["official"]), ...(typeof actor["name"] === "string" ? { name: actor["name"] } : {}), agency: String(actor["agency"]), role: role.data },
    refs: refs.map((r) => String(r)),
    body: pick(decoded["body"], PUBLIC_BODY_FIELDS[kind.data], "body"),
  };
  const commitments = decoded["commitments"];
  if (commitments !== undefined) {
    if (!isRecord(commitments)) fail("entry commitments are not an object");
    const c: Record<string, string> = {};
    for (const [k, v] of Object.entries(commitments)) {
      if (typeof v !== "string" || !HEX64.test(v)) fail(`commitment ${k} is not a hex SHA-256`);
      c[k] = v;
    }
    view.commitments = c;
  }
  return view;
}

/**
 * The public view of a stored leaf and its exact text. Throws LogInvariantError
 * if the leaf holds anything the allow-list does not copy.
 */
export function publicLeaf(leaf: { readonly index: number; readonly bytes: Uint8Array }): { entry: PublicEntryView; text: string } {
  const entry = publicEntry(decodeEntry(leaf.bytes));
  if (!equalBytes(canonicalBytes(entry), leaf.bytes)) fail(`leaf ${leaf.index} holds fields outside the public allow-list`);
  return { entry, text: new TextDecoder().decode(leaf.bytes) };
}

/** The public view of an application's summary: its state, amounts and the corrections of it and of what belongs to it. */
export function applicationSummary(a: ApplicationSummary): ApplicationSummaryView {
  const app = a.application;
  return {
    id: app.id,
    programme: { id: app.programmeId, code: a.programme?.code ?? "", name: a.programme?.name ?? "" },
    enterpriseName: app.enterpriseName,
    region: app.region,
    regionType: regionType(app.region),
    status: a.status,
    requestedFen: a.requestedFen,
    approvedFen: a.approvedFen,
    paidFen: a.paidFen,
    decisionId: app.decisionId,
    corrections: a.corrections.map(correctionSummary),
  };
}

/** A correction as the enterprise view lists it; its reason and clawback come from its public entry. */
function correctionSummary(c: CorrectionOf): CorrectionSummaryView {
  const { entry } = publicLeaf(c.leaf);
  const clawback = entry.body["clawbackFen"];
  return {
    id: entry.id,
    leafIndex: c.leaf.index,
    recordedAt: entry.recordedAt,
    targetId: c.targetId,
    targetKind: c.targetKind,
    reasonCode: String(entry.body["reasonCode"]),
    reasonText: String(entry.body["reasonText"]),
    ...(typeof clawback === "string" ? { clawbackFen: clawback } : {}),
  };
}

export function enterpriseView(creditCode: string, e: EnterpriseResult): EnterpriseView {
  return {
    creditCode,
    totals: { ...e.totals },
    applications: e.applications.map(applicationSummary),
    applicationsComplete: e.complete,
    entries: e.entries.items.map((leaf) => ({ leafIndex: leaf.index, entry: publicLeaf(leaf).entry })),
    next: e.entries.next,
  };
}

export function programmeView({ programme: p, leafIndex, remainingFen }: ProgrammeResult): ProgrammeView {
  const tally = (r: RegionType) => ({
    applications: p.byRegion[r].applications,
    approvedFen: p.byRegion[r].approvedFen,
    paidFen: p.byRegion[r].paidFen,
  });
  return {
    id: p.id,
    leafIndex,
    code: p.code,
    name: p.name,
    agency: p.agency,
    status: p.revoked ? "revoked" : "active",
    opensOn: p.opensOn,
    closesOn: p.closesOn,
    fourEyesThresholdFen: p.fourEyesThresholdFen,
    ...(p.maxPerEnterpriseFen !== undefined ? { maxPerEnterpriseFen: p.maxPerEnterpriseFen } : {}),
    budgetFen: p.budgetFen,
    approvedFen: p.approvedFen,
    paidFen: p.paidFen,
    remainingFen,
    applications: p.applications,
    byRegion: { "urban-district": tally("urban-district"), "rural-county": tally("rural-county"), "county-level-city": tally("county-level-city") },
  };
}

export function tokenView(t: TokenInfo): z.infer<typeof TokenInfoView> {
  return { id: t.id, official: t.official, ...(t.name !== undefined ? { name: t.name } : {}), agency: t.agency, role: t.role, createdAt: t.createdAt, revokedAt: t.revokedAt };
}

export function erasureInfo(e: ErasureState): ErasureInfoView {
  return { id: e.id, reasonCode: e.reasonCode, recordedAt: e.recordedAt, fields: [...e.fields] };
}

export function privateView(entry: PublicEntryView, values: PrivateValues): PrivateView {
  let o: PrivateView["openings"] = null;
  if (values.state === "present") {
    o = {};
    for (const [field, opening] of Object.entries(values.openings)) o[field] = { value: opening.value, salt: opening.salt };
  }
  return {
    id: entry.id,
    kind: entry.kind,
    commitments: { ...entry.commitments },
    privateValues: values.state,
    openings: o,
    erasure: values.state === "erased" ? erasureInfo(values.erasure) : null,
  };
}

/** A registered agency with its government's division and the names from the pinned table. */
export function agencyView(a: AgencyState): z.infer<typeof AgencyView> {
  const division = governmentDivision(a.code.slice(0, 6));
  return {
    id: a.id,
    code: a.code,
    name: a.name,
    parent: a.parent,
    division: {
      code: division.code,
      name: division.name,
      level: division.level,
      province: { code: division.province.code, name: division.province.name },
      prefecture: division.prefecture === null ? null : { code: division.prefecture.code, name: division.prefecture.name },
    },
  };
}

/** Totals by agency and region, with 城乡均衡 per prefecture. */
export function totalsView(t: TotalsResult): z.infer<typeof TotalsView> {
  return {
    programmes: t.programmes,
    applications: t.applications,
    approvedFen: t.approvedFen,
    paidFen: t.paidFen,
    complete: t.complete,
    byPrefecture: t.byPrefecture.map((p) => {
      const tally = (r: RegionType) => ({ applications: p.byRegion[r].applications, approvedFen: p.byRegion[r].approvedFen, paidFen: p.byRegion[r].paidFen });
      return {
        prefecture: { code: p.prefecture.code, name: p.prefecture.name },
        province: { code: p.province.code, name: p.province.name },
        byRegion: { "urban-district": tally("urban-district"), "rural-county": tally("rural-county"), "county-level-city": tally("county-level-city") },
      };
    }),
  };
}
