/**
 * The read model: everything the API shows, computed from the store's log,
 * state and openings, returned as domain results (state documents and stored
 * leaves). The HTTP layer maps these to its views and status codes; it never
 * reads the store itself.
 *
 * Every read is bounded by the ledger's durable size: an entry stored by a
 * commit the sequencer has not yet acknowledged is not shown. Missing things
 * come back as `undefined` (or `null` where the API shows "none"), never as
 * an error; errors mean the store or an invariant failed.
 */
import { adminScopeOf, type AdminScope } from "../auth/tokens";
import { kindOfId } from "../format/entry";
import { consistencyProof, inclusionProof, type ConsistencyResult, type InclusionResult } from "../ledger/proofs";
import { buildReceipt, type ReceiptInput } from "../ledger/receipts";
import { decodeEntry, type Receipt } from "../log";
import type { Openings } from "../records/entry";
import type { Actor } from "../records/entry";
import { agencyScope, type IndexRef } from "../records/rules";
import { AGENCY_CODE } from "../format/entry";
import { governmentDivision, regionType, withinDivision, type NamedDivision, type RegionType } from "../records/identifiers";
import type { AgencyState, ApplicationState, DecisionState, EntryState, ErasureState, ProgrammeState, RegionTally } from "../records/state";
import type { LogStore, OpeningsStore, StateStore, StoredLeaf } from "../store/store";
import { applicationAmounts, applicationStatus, type ApplicationAmounts, type ApplicationStatus } from "./status";

/** A stored leaf: its index, entry id, recording time and canonical bytes. */
export type Leaf = StoredLeaf;

/** The parts of the store the read model reads. */
export type ReadStore = Omit<LogStore, "commit"> & StateStore & Pick<OpeningsStore, "openings">;

export interface QueriesOptions {
  readonly store: ReadStore;
  /** The ledger's durable tree size, read at each query. */
  readonly size: () => number;
}

/** Most enterprise entries one summary pass reads; beyond it the summary is incomplete. */
export const MAX_ENTERPRISE_SUMMARY_SCAN = 10_000;
/** Entries read per step of the enterprise summary's scan. */
const SCAN_CHUNK = 1000;

type Kinded<K extends EntryState["kind"]> = Extract<EntryState, { kind: K }>;

/** The application or programme an entry is about, with its derived status. */
export type BelongsTo =
  | { readonly kind: "application"; readonly id: string; readonly status: ApplicationStatus }
  | { readonly kind: "programme"; readonly id: string; readonly status: "active" | "revoked" };

export interface EntryResult {
  readonly leaf: Leaf;
  readonly revoked: boolean;
  readonly belongsTo: BelongsTo | null;
  /** The erasure of this entry's private values (its commitments stay in the log), or null. */
  readonly erasure: ErasureState | null;
}

/**
 * What became of an entry's private values:
 * - `present`: stored off-log, `openings` holds them;
 * - `erased`: deleted by `erasure`; the commitments stay in the log;
 * - `none`: the entry never had private values.
 */
export type PrivateValues =
  | { readonly state: "present"; readonly openings: Openings }
  | { readonly state: "erased"; readonly erasure: ErasureState }
  | { readonly state: "none" };

export interface Page<T> {
  readonly items: readonly T[];
  /** The leaf index to pass as `after` for the next page; null on the last page. */
  readonly next: number | null;
}

export interface CorrectionOf {
  /** The correction's own leaf. */
  readonly leaf: Leaf;
  readonly targetId: string;
  readonly targetKind: EntryState["kind"];
}

export interface ApplicationSummary extends ApplicationAmounts {
  readonly application: ApplicationState;
  readonly decision: DecisionState | undefined;
  readonly programme: ProgrammeState | undefined;
  readonly status: ApplicationStatus;
  /** Corrections of the application or of anything belonging to it, in log order. */
  readonly corrections: readonly CorrectionOf[];
}

export interface EnterpriseResult {
  /** One page of the enterprise's entries, in log order. */
  readonly entries: Page<Leaf>;
  /** Every application found in the summary pass, revoked ones included. */
  readonly applications: readonly ApplicationSummary[];
  /** Sums over the applications that are not revoked. */
  readonly totals: { readonly applications: number; readonly requestedFen: string; readonly approvedFen: string; readonly paidFen: string };
  /** False when the enterprise has more entries than one summary pass reads ({@link MAX_ENTERPRISE_SUMMARY_SCAN}). */
  readonly complete: boolean;
}

export interface ProgrammeResult {
  readonly leafIndex: number;
  readonly programme: ProgrammeState;
  /** Budget not yet approved: budgetFen − approvedFen, never below 0. */
  readonly remainingFen: string;
}

function programmeResult(leafIndex: number, programme: ProgrammeState): ProgrammeResult {
  const remaining = BigInt(programme.budgetFen) - BigInt(programme.approvedFen);
  return { leafIndex, programme, remainingFen: (remaining < 0n ? 0n : remaining).toString() };
}

/**
 * Which programmes and applications a listing or total covers:
 * - `agency`: programmes whose agency is exactly this (a code, or free text from before agencies);
 * - `region`: a province, prefecture or county-level code (GB/T 2260). Programmes are those
 *   whose registered agency's division lies in it; totals count the applications whose
 *   `region` lies in it, across every programme the agency filter leaves.
 */
export interface ProgrammeFilter {
  readonly agency?: string;
  readonly region?: string;
}

/** Tallies of one prefecture (or, for counties directly under a province, of the province itself): 城乡均衡. */
export interface PrefectureTotals {
  readonly prefecture: NamedDivision;
  readonly province: NamedDivision;
  readonly byRegion: Record<RegionType, RegionTally>;
}

export interface TotalsResult {
  readonly programmes: number;
  readonly applications: number;
  readonly approvedFen: string;
  readonly paidFen: string;
  /** Per prefecture, in code order. */
  readonly byPrefecture: readonly PrefectureTotals[];
  /** False when a counted programme predates per-county tallies: its applications are left out of the region figures. */
  readonly complete: boolean;
}

/** The division an agency code names, or null for free text. */
function divisionOfAgency(agency: string): string | null {
  return AGENCY_CODE.exec(agency)?.[1] ?? null;
}

export class Queries {
  private readonly _store: ReadStore;
  private readonly _size: () => number;

  constructor(options: QueriesOptions) {
    this._store = options.store;
    this._size = options.size;
  }

  /** The durable tree size. */
  get size(): number {
    return this._size();
  }

  /** The leaf at `index`, or undefined at or past the durable size. */
  async leafAt(index: number): Promise<Leaf | undefined> {
    return index < this.size ? this._store.leaf(index) : undefined;
  }

  /** The leaf of entry `id`, or undefined for an unknown or not yet durable entry. */
  async leafOf(id: string): Promise<Leaf | undefined> {
    const index = await this._store.indexOf(id);
    return index === undefined ? undefined : this.leafAt(index);
  }

  /** Leaves [start, end). Requires 0 ≤ start ≤ end ≤ size; a store that returns fewer is a failure, not a short page. */
  async leaves(start: number, end: number): Promise<Leaf[]> {
    const leaves = await this._store.leaves(start, end);
    if (leaves.length !== end - start) throw new Error(`store returned ${leaves.length} leaves for [${start}, ${end})`);
    return leaves;
  }

  /** An entry with its revocation and what it belongs to; undefined for an unknown entry. */
  async entry(id: string): Promise<EntryResult | undefined> {
    const leaf = await this.leafOf(id);
    if (leaf === undefined) return undefined;
    const doc = await this.entryState(id);
    return {
      leaf,
      revoked: doc !== undefined && "revoked" in doc ? doc.revoked : false,
      belongsTo: await this._belongsTo(doc),
      erasure: (await this.erasureOf(id)) ?? null,
    };
  }

  /**
   * The committed field names of entry `id` as its leaf lists them, sorted:
   * what an erasure of it deletes. Undefined for an unknown or not yet durable entry.
   */
  async committedFields(id: string): Promise<string[] | undefined> {
    const leaf = await this.leafOf(id);
    if (leaf === undefined) return undefined;
    const commitments = decodeEntry(leaf.bytes)["commitments"];
    return typeof commitments === "object" && commitments !== null && !Array.isArray(commitments) ? Object.keys(commitments).sort() : [];
  }

  /** The erasure of entry `id`'s private values, or undefined when they were not erased. */
  async erasureOf(id: string): Promise<ErasureState | undefined> {
    const doc = await this._store.state(`erased:${id}`);
    return doc?.kind === "erasure" ? doc : undefined;
  }

  /** The private values of entry `id`, or that they were erased, or that it has none. */
  async privateValues(id: string): Promise<PrivateValues> {
    const erasure = await this.erasureOf(id);
    if (erasure !== undefined) return { state: "erased", erasure };
    const openings = await this._store.openings(id);
    return openings === undefined ? { state: "none" } : { state: "present", openings };
  }

  /** The derived state of entry `id`; undefined for an unknown id. */
  async entryState(id: string): Promise<EntryState | undefined> {
    const doc = await this._store.state(`e:${id}`);
    return doc === undefined || doc.kind === "code" || doc.kind === "enterprise-total" ? undefined : doc;
  }

  /** The application entry `id` is about (following confirmations and corrections), or null for programme-level or unknown entries. */
  async applicationOf(id: string): Promise<string | null> {
    return this._applicationIdOf(await this.entryState(id));
  }

  /** The state of application `id`, or undefined when `id` is not an application. */
  async application(id: string): Promise<ApplicationState | undefined> {
    return this._stateOf(id, "application");
  }

  /** The private values and salts of entry `id`: undefined when it has none or they were erased. */
  async openings(id: string): Promise<Openings | undefined> {
    return this._store.openings(id);
  }

  /**
   * The enterprise's newest `limit` entries, newest first (its Atom feed).
   * Reads the enterprise's index to its end, positions only, a chunk at a
   * time, then reads just the leaves it returns.
   */
  async enterpriseLatest(creditCode: string, limit: number): Promise<Leaf[]> {
    const ref: IndexRef = { name: "enterprise", value: creditCode };
    let latest: number[] = [];
    let cursor = -1;
    for (;;) {
      const chunk = this._durable(await this._store.indexed(ref, { after: cursor, limit: SCAN_CHUNK }));
      if (chunk.length === 0) break;
      latest = [...latest, ...chunk].slice(-limit);
      cursor = chunk[chunk.length - 1]!;
      if (chunk.length < SCAN_CHUNK) break;
    }
    const leaves: Leaf[] = [];
    for (const i of latest.reverse()) leaves.push(await this._leafAt(i));
    return leaves;
  }

  /** A page of the enterprise's entries, and a bounded summary of its applications and their corrections. */
  async enterprise(creditCode: string, page: { after?: number; limit: number }): Promise<EnterpriseResult> {
    const ref: IndexRef = { name: "enterprise", value: creditCode };
    const { indexes, next } = await this._page(ref, page);
    const entries: Leaf[] = [];
    for (const i of indexes) entries.push(await this._leafAt(i));

    // One pass over every entry of the enterprise (bounded) finds its
    // applications and the corrections of anything belonging to them.
    const appIds: string[] = [];
    const corrections = new Map<string, CorrectionOf[]>();
    let cursor = -1;
    let scanned = 0;
    let complete = true;
    for (;;) {
      const chunk = this._durable(await this._store.indexed(ref, { after: cursor, limit: SCAN_CHUNK }));
      if (chunk.length === 0) break;
      for (const i of chunk) {
        const leaf = await this._leafAt(i);
        // The id names the kind, so only corrections cost a state read.
        const kind = kindOfId(leaf.id);
        if (kind === "application") appIds.push(leaf.id);
        else if (kind === "correction") {
          const doc = await this._stateOf(leaf.id, "correction");
          if (doc === undefined) continue;
          const target = await this.entryState(doc.targetId);
          const appId = await this._applicationIdOf(target);
          if (appId === null || target === undefined) continue;
          const list = corrections.get(appId) ?? [];
          list.push({ leaf, targetId: doc.targetId, targetKind: target.kind });
          corrections.set(appId, list);
        }
      }
      cursor = chunk[chunk.length - 1]!;
      scanned += chunk.length;
      if (scanned >= MAX_ENTERPRISE_SUMMARY_SCAN) {
        complete = (await this._store.indexed(ref, { after: cursor, limit: 1 })).length === 0;
        break;
      }
    }

    const applications: ApplicationSummary[] = [];
    const totals = { applications: 0, requested: 0n, approved: 0n, paid: 0n };
    for (const appId of appIds) {
      const application = await this._stateOf(appId, "application");
      if (application === undefined) continue;
      const decision = application.decisionId === null ? undefined : await this._stateOf(application.decisionId, "decision");
      const programme = await this._stateOf(application.programmeId, "programme");
      const amounts = applicationAmounts(application, decision);
      applications.push({ application, decision, programme, status: applicationStatus(application, decision), ...amounts, corrections: corrections.get(appId) ?? [] });
      if (!application.revoked) {
        totals.applications += 1;
        totals.requested += BigInt(amounts.requestedFen);
        totals.approved += BigInt(amounts.approvedFen);
        totals.paid += BigInt(amounts.paidFen);
      }
    }
    return {
      entries: { items: entries, next },
      applications,
      totals: {
        applications: totals.applications,
        requestedFen: totals.requested.toString(),
        approvedFen: totals.approved.toString(),
        paidFen: totals.paid.toString(),
      },
      complete,
    };
  }

  /**
   * A page of programmes, in log order, those `filter` leaves. The filter
   * applies within the page, so a filtered page may hold fewer than `limit`
   * programmes while `next` is not null.
   */
  async programmes(page: { after?: number; limit: number }, filter: ProgrammeFilter = {}): Promise<Page<ProgrammeResult>> {
    const { indexes, next } = await this._page({ name: "kind", value: "programme" }, page);
    const items: ProgrammeResult[] = [];
    for (const i of indexes) {
      const leaf = await this._leafAt(i);
      const programme = await this._stateOf(leaf.id, "programme");
      if (programme !== undefined && Queries._matches(programme, filter)) items.push(programmeResult(i, programme));
    }
    return { items, next };
  }

  private static _matches(p: ProgrammeState, filter: ProgrammeFilter): boolean {
    if (filter.agency !== undefined && p.agency !== filter.agency) return false;
    if (filter.region !== undefined) {
      const division = divisionOfAgency(p.agency);
      if (division === null || !withinDivision(division, filter.region)) return false;
    }
    return true;
  }

  /**
   * Totals over live programmes of `filter.agency` (all when absent), counting
   * the applications in `filter.region` (all when absent), with 城乡均衡 per
   * prefecture. Requires `filter.region`, when given, to be accepted by
   * governmentDivision.
   */
  async totals(filter: ProgrammeFilter = {}): Promise<TotalsResult> {
    const zero = (): RegionTally => ({ applications: 0, approvedFen: "0", paidFen: "0" });
    const prefectures = new Map<string, PrefectureTotals>();
    let programmes = 0;
    let applications = 0;
    let approved = 0n;
    let paid = 0n;
    let complete = true;
    let after: number | undefined;
    for (;;) {
      const page = await this.programmes({ ...(after !== undefined ? { after } : {}), limit: 1000 }, filter.agency !== undefined ? { agency: filter.agency } : {});
      for (const { programme: p } of page.items) {
        if (p.revoked) continue;
        programmes += 1;
        if (p.byCounty === undefined) {
          complete = false;
          continue;
        }
        for (const [county, t] of Object.entries(p.byCounty)) {
          if (filter.region !== undefined && !withinDivision(county, filter.region)) continue;
          applications += t.applications;
          approved += BigInt(t.approvedFen);
          paid += BigInt(t.paidFen);
          const d = governmentDivision(county);
          const pref = d.prefecture ?? d.province;
          let entry = prefectures.get(pref.code);
          if (entry === undefined) {
            entry = { prefecture: pref, province: d.province, byRegion: { "urban-district": zero(), "rural-county": zero(), "county-level-city": zero() } };
            prefectures.set(pref.code, entry);
          }
          const into = entry.byRegion[regionType(county)];
          into.applications += t.applications;
          into.approvedFen = (BigInt(into.approvedFen) + BigInt(t.approvedFen)).toString();
          into.paidFen = (BigInt(into.paidFen) + BigInt(t.paidFen)).toString();
        }
      }
      if (page.next === null) break;
      after = page.next;
    }
    const byPrefecture = [...prefectures.values()].sort((a, b) => (a.prefecture.code < b.prefecture.code ? -1 : 1));
    return { programmes, applications, approvedFen: approved.toString(), paidFen: paid.toString(), byPrefecture, complete };
  }

  /** The registered agency with code `code`, or undefined (never registered, or free text from before agencies). */
  async agency(code: string): Promise<AgencyState | undefined> {
    const ref = await this._store.state(`agency:${code}`);
    if (ref?.kind !== "code") return undefined;
    const index = await this._store.indexOf(ref.id);
    if (index === undefined || index >= this.size) return undefined;
    return this._stateOf(ref.id, "agency");
  }

  /** Which tokens the admin holding `caller` manages (auth/tokens.ts AdminScope): its agency once registered, else all. */
  adminScope(caller: Pick<Actor, "agency">): Promise<AdminScope> {
    return adminScopeOf(caller, async (code) => (await this.agency(code)) !== undefined);
  }

  /**
   * The agency of the programme entry `id` belongs to (following refs from a
   * confirmation, correction or erasure), or null for an entry outside any
   * programme (an agency, a delegation) or an unknown one.
   */
  async programmeAgencyOf(id: string): Promise<string | null> {
    let doc = await this._store.state(`e:${id}`);
    for (let hops = 0; hops < 8 && doc !== undefined; hops++) {
      switch (doc.kind) {
        case "programme":
          return doc.agency;
        case "application":
        case "decision":
        case "payout":
          doc = await this._store.state(`e:${doc.programmeId}`);
          break;
        case "confirmation":
          doc = await this._store.state(`e:${doc.payoutId}`);
          break;
        case "correction":
        case "erasure":
          doc = await this._store.state(`e:${doc.targetId}`);
          break;
        default:
          return null;
      }
    }
    return null;
  }

  /** Throws RuleViolation agency-scope when `actor` may not act in the programme entry `id` belongs to. */
  async checkAgencyScope(actor: Actor, id: string): Promise<void> {
    const agency = await this.programmeAgencyOf(id);
    if (agency !== null) await agencyScope({ get: (key) => this._store.state(key) }, actor, agency, `entry ${id}`);
  }

  /** Every registered agency, in log order. */
  async agencies(): Promise<AgencyState[]> {
    const out: AgencyState[] = [];
    let after: number | undefined;
    for (;;) {
      const { indexes, next } = await this._page({ name: "kind", value: "agency" }, { ...(after !== undefined ? { after } : {}), limit: 1000 });
      for (const i of indexes) {
        const agency = await this._stateOf((await this._leafAt(i)).id, "agency");
        if (agency !== undefined) out.push(agency);
      }
      if (next === null) return out;
      after = next;
    }
  }

  /** Programme `id`, or undefined when it is not a durable programme. */
  async programme(id: string): Promise<ProgrammeResult | undefined> {
    const programme = await this._stateOf(id, "programme");
    const index = await this._store.indexOf(id);
    if (programme === undefined || index === undefined || index >= this.size) return undefined;
    return programmeResult(index, programme);
  }

  /** Requires 0 ≤ index < size ≤ the durable size (LogArgumentError otherwise). */
  inclusionProof(index: number, size: number): Promise<InclusionResult> {
    return inclusionProof(this._store, index, size, this.size);
  }

  /** Requires 0 ≤ from ≤ to ≤ the durable size (LogArgumentError otherwise). */
  consistencyProof(from: number, to: number): Promise<ConsistencyResult> {
    return consistencyProof(this._store, from, to, this.size);
  }

  /**
   * The self-checked receipt of the entry at `leafIndex` (see
   * ledger/receipts.ts); with `openingsOf`, the enterprise receipt carrying
   * that entry's openings. Throws NotYetAnchored when no anchored checkpoint
   * covers the entry.
   */
  async receipt(input: Omit<ReceiptInput, "store" | "treeSize" | "openings"> & { readonly openingsOf?: string }): Promise<Receipt> {
    const { openingsOf, ...rest } = input;
    return buildReceipt({
      ...rest,
      store: this._store,
      treeSize: this.size,
      ...(openingsOf !== undefined ? { openings: (await this._store.openings(openingsOf)) ?? {} } : {}),
    });
  }

  /** The leaf at a durable index the store lists: a missing one is a broken store, not a 404. */
  private async _leafAt(index: number): Promise<Leaf> {
    const leaf = await this.leafAt(index);
    if (leaf === undefined) throw new Error(`leaf ${index} is indexed but not stored below the size ${this.size}`);
    return leaf;
  }

  private async _stateOf<K extends EntryState["kind"]>(id: string, kind: K): Promise<Kinded<K> | undefined> {
    const doc = await this._store.state(`e:${id}`);
    return doc !== undefined && doc.kind === kind ? (doc as Kinded<K>) : undefined;
  }

  private async _applicationIdOf(doc: EntryState | undefined): Promise<string | null> {
    for (let hops = 0; doc !== undefined && hops < 3; hops++) {
      switch (doc.kind) {
        case "application":
          return doc.id;
        case "decision":
        case "payout":
          return doc.applicationId;
        case "confirmation":
          doc = await this.entryState(doc.payoutId);
          break;
        case "correction":
        case "erasure":
          doc = await this.entryState(doc.targetId);
          break;
        case "programme":
          return null;
      }
    }
    return null;
  }

  private async _belongsTo(doc: EntryState | undefined): Promise<BelongsTo | null> {
    let target = doc;
    if (target?.kind === "correction" || target?.kind === "erasure") target = await this.entryState(target.targetId);
    if (target?.kind === "programme") return { kind: "programme", id: target.id, status: target.revoked ? "revoked" : "active" };
    const appId = await this._applicationIdOf(target);
    if (appId === null) return null;
    const app = await this._stateOf(appId, "application");
    if (app === undefined) return null;
    const dec = app.decisionId === null ? undefined : await this._stateOf(app.decisionId, "decision");
    return { kind: "application", id: app.id, status: applicationStatus(app, dec) };
  }

  /**
   * The indexes below the durable size. The store's secondary index can list
   * a leaf whose commit the sequencer has not acknowledged yet (the write is
   * on disk, its promise not yet resolved); such a leaf is not shown, as it
   * is not by {@link leafAt}.
   */
  private _durable(indexes: number[]): number[] {
    const size = this.size;
    return indexes.filter((i) => i < size);
  }

  /** Leaf indexes after `after`, asking one more than `limit` so the caller knows whether a next page exists. */
  private async _page(ref: IndexRef, page: { after?: number; limit: number }): Promise<{ indexes: number[]; next: number | null }> {
    const found = this._durable(await this._store.indexed(ref, { ...(page.after !== undefined ? { after: page.after } : {}), limit: page.limit + 1 }));
    const indexes = found.slice(0, page.limit);
    return { indexes, next: found.length > page.limit ? indexes[indexes.length - 1]! : null };
  }
}
