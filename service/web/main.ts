/**
 * The public transparency portal: enterprise lookup, entry pages verified in
 * the browser, receipt checks and the dashboard (loaded on demand, with its
 * chart library). Hash routes, so the service serves one page:
 *   #/  #/search?q=  #/enterprise/<credit code>  #/entry/<id>  #/receipt  #/dashboard
 */
import { checkCosignedCheckpointAsync, parseWitnessPolicyAsync, type WebWitnessPolicy } from "../format";
import { parseVerifierKeyAsync, toHex, verifyCheckpointAsync, type WebNoteVerifier } from "../log";
import { allProgrammes, ApiError, getJson, getText, scanLog, type ChainInfo, type EnterpriseView, type EntryView, type ProgrammeView, type PublicEntry } from "./api";
import type { PublishedCheckpoint } from "./dashboard";
import { append, clear, h } from "./dom";
import { date, shortHex, time, yuan } from "./format";
import { dict, fill, initLang, lang, setLang, t } from "./i18n";
import { apiMessage } from "./messages";
import { regionNames } from "./regions";
import { verifyEntry, verifyReceiptFile, type Outcome, type VerifyContext } from "./verify";

const CREDIT_CODE = /^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$/;
const ENTRY_ID = /^(prg|app|dec|pay|cnf|cor|era)_[0-9a-f]{24}$/;

const main = document.getElementById("main") as HTMLElement;
const status = document.getElementById("status") as HTMLElement;

// ---------------------------------------------------------------------------
// Shared context

function rpcUrl(): string | null {
  const m = document.querySelector<HTMLMetaElement>('meta[name="ledger-rpc-url"]');
  const v = m?.content.trim() ?? "";
  return /^https?:\/\//.test(v) ? v : null;
}

let contextPromise: Promise<VerifyContext> | undefined;
/**
 * What the page's verification trusts: the keys pinned at /portal/trust (the
 * log key and the witness policy) when the service serves them, else the
 * service's /v1/log/key with no witnesses.
 */
function context(): Promise<VerifyContext> {
  contextPromise ??= (async () => {
    const serviceKey = (await getText("/v1/log/key")).trim();
    let policy: WebWitnessPolicy | null = null;
    try {
      policy = await parseWitnessPolicyAsync(await getText("/portal/trust"));
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) throw e;
    }
    const pinned = policy?.logs[0];
    const logKeyText = pinned?.vkey ?? serviceKey;
    const logKey: WebNoteVerifier = pinned?.verifier ?? (await parseVerifierKeyAsync(serviceKey));
    let chain: ChainInfo | null = null;
    try {
      chain = await getJson<ChainInfo>("/v1/chain");
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) throw e;
    }
    return { logKey, logKeyText, rpcUrl: rpcUrl(), chain, policy, serviceKeyDiffers: pinned !== undefined && pinned.vkey !== serviceKey };
  })();
  contextPromise.catch(() => (contextPromise = undefined));
  return contextPromise;
}

/**
 * The checkpoint the service publishes at /tlog/checkpoint, checked here: its
 * signature under the pinned log key and its cosignatures against the pinned
 * witness policy. Null when nothing is published yet.
 */
async function publishedCheckpoint(): Promise<PublishedCheckpoint | null> {
  const ctx = await context();
  let note: string;
  try {
    note = await getText("/tlog/checkpoint");
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
  let size: number;
  let rootHex: string;
  try {
    const cp = await verifyCheckpointAsync(note, ctx.logKey);
    size = cp.size;
    rootHex = toHex(cp.rootHash);
  } catch {
    return { signatureOk: false, size: null, rootHex: null, witnesses: [], vouched: [], quorum: null, satisfied: null };
  }
  const policy = ctx.policy;
  if (policy === null || policy.witnesses.length === 0) return { signatureOk: true, size, rootHex, witnesses: [], vouched: [], quorum: null, satisfied: null };
  const witnesses = policy.witnesses.map((w) => w.name);
  try {
    const r = await checkCosignedCheckpointAsync(note, policy);
    return { signatureOk: true, size, rootHex, witnesses, vouched: [...r.vouched], quorum: policy.quorum, satisfied: r.satisfied };
  } catch {
    return { signatureOk: true, size, rootHex, witnesses, vouched: [], quorum: policy.quorum, satisfied: false };
  }
}

/** Fresh chain info for a new verification (the anchored checkpoint moves on). */
async function freshContext(): Promise<VerifyContext> {
  const ctx = await context();
  if (ctx.chain === null) return ctx;
  return { ...ctx, chain: await getJson<ChainInfo>("/v1/chain") };
}

// ---------------------------------------------------------------------------
// Chrome: header, navigation, language

function renderChrome(): void {
  const d = dict();
  document.title = d.title;
  const header = document.getElementById("header") as HTMLElement;
  clear(header);
  const link = (href: string, text: string) => h("a", { href, ...(location.hash.startsWith(href) && href !== "#/" ? { "aria-current": "page" } : {}) }, text);
  append(
    header,
    h("a", { class: "skip", href: "#main", onclick: (e: Event) => (e.preventDefault(), main.focus()) }, d.skip),
    h(
      "div",
      { class: "bar" },
      h("a", { class: "brand", href: "#/" }, d.title),
      h("nav", { "aria-label": d.title }, link("#/", d.navSearch), link("#/dashboard", d.navDashboard), link("#/receipt", d.navReceipt)),
      h(
        "button",
        {
          type: "button",
          class: "lang",
          lang: lang() === "en" ? "zh-CN" : "en",
          "aria-label": d.switchLangLabel,
          onclick: () => {
            setLang(lang() === "en" ? "zh-CN" : "en");
            void route();
          },
        },
        d.switchLang,
      ),
    ),
  );
}

function announce(text: string): void {
  status.textContent = text;
}

/** A failed request, explained in the page's language (never the API's English detail). */
function errorBox(e: unknown, subject?: string): HTMLElement {
  return h("p", { class: "alert fail", role: "alert" }, apiMessage(e, subject));
}

function heading(text: string): HTMLElement {
  return h("h1", { tabindex: "-1" }, text);
}

function fieldLabel(name: string): string {
  return (dict().fields as Record<string, string>)[name] ?? name;
}

function roleLabel(role: string): string {
  return (dict().roles as Record<string, string>)[role] ?? role;
}

function reasonLabel(code: string): string {
  return (dict().reasons as Record<string, string>)[code] ?? (dict().erasureReasons as Record<string, string>)[code] ?? code;
}

/** An entry id as a link that says what it is ("申请 app_…"). */
function entryLink(id: string): HTMLElement {
  const kind = id.slice(0, 3);
  const k = ({ prg: "programme", app: "application", dec: "decision", pay: "payout", cnf: "confirmation", cor: "correction", era: "erasure" } as Record<string, string>)[kind];
  return h("a", { href: `#/entry/${id}` }, k ? `${kindLabel(k)} ` : "", h("span", { class: "mono" }, id));
}

/** The division table's names, once a page that shows regions has loaded them (see {@link loadRegionNames}). */
let nameOfRegion: ((code: string) => string | null) | null = null;

/** Loads the division names (a chunk of its own) before a page that shows regions renders; without them, codes show alone. */
async function loadRegionNames(): Promise<void> {
  try {
    nameOfRegion ??= await regionNames();
  } catch {
    // The codes stay readable without their names.
  }
}

/** A region code with its name from the division table: 330502 · 湖州市吴兴区（市辖区）. */
function regionText(code: string, type?: string): HTMLElement {
  const name = nameOfRegion?.(code) ?? null;
  const kind = type ? `（${regionLabel(type)}）` : "";
  return h("span", { "data-region": code }, name !== null ? `${code} · ${name}${kind}` : `${code}${kind}`);
}

function dl(rows: ReadonlyArray<readonly [string, Node | string | number | null | undefined]>): HTMLElement {
  const el = h("dl", { class: "fields" });
  for (const [k, v] of rows) if (v !== null && v !== undefined && v !== "") append(el, h("dt", {}, k), h("dd", {}, v));
  return el;
}

function statusBadge(s: string): HTMLElement {
  const label = (dict().statuses as Record<string, string>)[s] ?? s;
  return h("span", { class: `badge s-${s}` }, label);
}

function kindLabel(k: string): string {
  return (dict().kinds as Record<string, string>)[k] ?? k;
}

function table(caption: string, head: string[], rows: (Node | string)[][], numeric: number[] = []): HTMLElement {
  return h(
    "div",
    { class: "table-wrap", role: "region", "aria-label": caption, tabindex: "0" },
    h(
      "table",
      { class: "cards" },
      h("caption", { class: "sr-only" }, caption),
      h("thead", {}, h("tr", {}, ...head.map((c, i) => h("th", { scope: "col", class: numeric.includes(i) ? "num" : undefined }, c)))),
      // data-label: on a phone each row is shown as a card, every cell under its column's name.
      h("tbody", {}, ...rows.map((r) => h("tr", {}, ...r.map((c, i) => h("td", { class: numeric.includes(i) ? "num" : undefined, "data-label": head[i] }, c))))),
    ),
  );
}

// ---------------------------------------------------------------------------
// Pages

function searchForm(value = ""): HTMLElement {
  const d = dict();
  const input = h("input", { id: "q", name: "q", type: "search", value, autocomplete: "off", required: true, "aria-describedby": "q-hint" });
  return h(
    "form",
    {
      class: "search",
      role: "search",
      onsubmit: (e: Event) => {
        e.preventDefault();
        const q = input.value.trim();
        if (q === "") return;
        if (CREDIT_CODE.test(q.toUpperCase())) location.hash = `#/enterprise/${q.toUpperCase()}`;
        else if (ENTRY_ID.test(q)) location.hash = `#/entry/${q}`;
        else location.hash = `#/search?q=${encodeURIComponent(q)}`;
      },
    },
    h("label", { for: "q" }, d.searchLabel),
    h("div", { class: "row" }, input, h("button", { type: "submit" }, d.searchButton)),
    h("p", { id: "q-hint", class: "hint" }, d.searchIntro),
  );
}

async function homePage(): Promise<void> {
  const d = dict();
  append(main, heading(d.searchHeading), searchForm());
  const section = h("section", { "aria-labelledby": "prg-h" }, h("h2", { id: "prg-h" }, d.programmesHeading), h("p", {}, d.loading));
  append(main, section);
  try {
    const programmes = await allProgrammes();
    section.lastChild?.remove();
    append(section, programmes.length === 0 ? h("p", {}, d.noEntries) : programmeTable(programmes));
  } catch (e) {
    section.lastChild?.replaceWith(errorBox(e));
  }
}

function programmeTable(programmes: ProgrammeView[]): HTMLElement {
  const d = dict();
  return table(
    d.programmesHeading,
    [d.programme, d.status, d.budget, d.approved, d.paid, d.applications],
    programmes.map((p) => [h("a", { href: `#/entry/${p.id}` }, `${p.name} (${p.code})`), statusBadge(p.status), yuan(p.budgetFen), yuan(p.approvedFen), yuan(p.paidFen), String(p.applications)]),
    [2, 3, 4, 5],
  );
}

async function searchPage(q: string): Promise<void> {
  const d = dict();
  append(main, heading(d.searchHeading), searchForm(q));
  const out = h("section", { "aria-live": "polite" }, h("p", {}, d.loading));
  append(main, out);
  try {
    const scan = await scanLog();
    const needle = q.toLowerCase();
    const found = new Map<string, { name: string; code: string; region: string }>();
    for (const { entry } of scan.entries) {
      if (entry.kind !== "application") continue;
      const name = String(entry.body["enterpriseName"] ?? "");
      const code = String(entry.body["creditCode"] ?? "");
      if (name.toLowerCase().includes(needle) || code.toLowerCase().includes(needle)) found.set(code, { name, code, region: String(entry.body["region"] ?? "") });
    }
    clear(out);
    append(out, h("p", { class: "hint" }, scan.complete ? t("searchScanned", { n: scan.entries.length }) : t("searchPartial", { n: scan.entries.length })));
    if (found.size === 0) append(out, h("p", {}, t("searchNoMatch", { q })));
    else
      append(
        out,
        h("h2", {}, d.searchMatches),
        h("ul", { class: "results" }, ...[...found.values()].map((f) => h("li", {}, h("a", { href: `#/enterprise/${f.code}` }, f.name), " ", h("span", { class: "mono" }, f.code)))),
      );
    announce(found.size === 0 ? t("searchNoMatch", { q }) : `${d.searchMatches}: ${found.size}`);
  } catch (e) {
    clear(out);
    append(out, errorBox(e));
  }
}

async function enterprisePage(code: string): Promise<void> {
  const d = dict();
  await loadRegionNames();
  let view: EnterpriseView;
  try {
    view = await getJson<EnterpriseView>(`/v1/enterprises/${encodeURIComponent(code)}`);
  } catch (e) {
    append(main, heading(code), errorBox(e, code));
    return;
  }
  const name = view.applications[0]?.enterpriseName ?? String(view.entries.find((e) => e.entry.kind === "application")?.entry.body["enterpriseName"] ?? code);
  const regions = [...new Map(view.applications.map((a) => [a.region, a.regionType])).entries()];
  const feedUrl = `/v1/enterprises/${encodeURIComponent(view.creditCode)}/feed.atom`;
  append(
    main,
    heading(t("enterpriseHeading", { name })),
    dl([
      [d.creditCode, h("span", { class: "mono" }, view.creditCode)],
      [d.region, regions.length > 0 ? h("span", {}, ...regions.flatMap(([r, type], i) => [i > 0 ? "；" : "", regionText(r, type)])) : null],
      [d.applications, String(view.totals.applications)],
      [d.requested, yuan(view.totals.requestedFen)],
      [d.approved, yuan(view.totals.approvedFen)],
      [d.paid, yuan(view.totals.paidFen)],
    ]),
    h("p", { class: "feed" }, h("a", { href: feedUrl, type: "application/atom+xml", id: "feed-link" }, d.feed), " ", h("span", { class: "hint" }, d.feedHint)),
  );
  append(
    main,
    h("h2", {}, d.applications),
    table(
      d.applications,
      [d.programme, d.status, d.requested, d.approved, d.paid, d.region],
      view.applications.map((a) => [
        h("a", { href: `#/entry/${a.id}` }, `${a.programme.name} (${a.programme.code})`),
        statusBadge(a.status),
        yuan(a.requestedFen),
        yuan(a.approvedFen),
        yuan(a.paidFen),
        regionText(a.region, a.regionType),
      ]),
      [2, 3, 4],
    ),
  );
  // Which application each entry belongs to: decisions name their application, payouts their decision, corrections their target.
  const apps = new Map(view.applications.map((a) => [a.id, a] as const));
  const appOf = new Map<string, string>(view.applications.map((a) => [a.id, a.id]));
  for (const { entry } of view.entries) {
    const b = entry.body;
    const parent = entry.kind === "decision" ? b["applicationId"] : entry.kind === "payout" ? b["decisionId"] : entry.kind === "confirmation" ? b["payoutId"] : entry.kind === "correction" || entry.kind === "erasure" ? b["targetId"] : undefined;
    if (typeof parent === "string" && appOf.has(parent)) appOf.set(entry.id, appOf.get(parent)!);
  }
  const corrections = new Map(view.applications.flatMap((a) => a.corrections.map((c) => [c.id, c] as const)));
  append(main, h("h2", {}, d.timeline));
  if (view.entries.length === 0) append(main, h("p", {}, d.noEntries));
  else
    append(
      main,
      h(
        "ol",
        { class: "timeline" },
        ...view.entries.map(({ entry }) => {
          const c = corrections.get(entry.id);
          const app = apps.get(appOf.get(entry.id) ?? "");
          return h(
            "li",
            { class: entry.kind === "correction" ? "correction" : undefined, "data-entry": entry.id },
            h("time", { datetime: entry.recordedAt }, time(entry.recordedAt)),
            h("span", { class: "what" }, h("a", { href: `#/entry/${entry.id}` }, kindLabel(entry.kind)), " ", entrySummary(entry)),
            app && entry.kind !== "application"
              ? h("span", { class: "of-app" }, h("a", { href: `#/entry/${app.id}` }, t("belongsToApp", { programme: `${app.programme.name} (${app.programme.code})` })))
              : null,
            c ? h("p", { class: "reason" }, `${d.reason}${d.colon}${reasonLabel(c.reasonCode)} — ${c.reasonText}`) : null,
          );
        }),
      ),
    );
}

function regionLabel(type: string): string {
  const d = dict();
  return type === "urban-district" ? d.regionUrban : type === "rural-county" ? d.regionRural : type === "county-level-city" ? d.regionCity : type;
}

function entrySummary(e: PublicEntry): string {
  const b = e.body;
  switch (e.kind) {
    case "application":
      return `${String(b["enterpriseName"] ?? "")} · ${yuan(String(b["requestedFen"] ?? "0"))}`;
    case "decision":
      return `${(dict().statuses as Record<string, string>)[String(b["outcome"])] ?? String(b["outcome"])}${b["approvedFen"] ? ` · ${yuan(String(b["approvedFen"]))}` : ""}`;
    case "payout":
      return `${yuan(String(b["amountFen"] ?? "0"))} · ${date(String(b["paidOn"] ?? ""))}`;
    case "correction":
      return `${reasonLabel(String(b["reasonCode"]))}${b["clawbackFen"] ? ` · ${fieldLabel("clawbackFen")} ${yuan(String(b["clawbackFen"]))}` : ""}`;
    case "erasure":
      return reasonLabel(String(b["reasonCode"]));
    case "programme":
      return `${String(b["name"] ?? "")} · ${yuan(String(b["budgetFen"] ?? "0"))}`;
    default:
      return "";
  }
}

/** A public field's value as a reader expects it: amounts in yuan, dates, names, links to the records it names. */
function fieldValue(k: string, v: unknown): Node | string {
  const d = dict();
  if (typeof v === "string" && /Fen$/.test(k)) return h("span", {}, yuan(v), " ", h("span", { class: "hint" }, `(${fill(d.fenNote, { fen: v })})`));
  if (typeof v === "string" && /On$/.test(k)) return date(v);
  if (typeof v === "string" && /Id$/.test(k)) return entryLink(v);
  if (k === "region" && typeof v === "string") return regionText(v);
  if (k === "creditCode" && typeof v === "string") return h("a", { href: `#/enterprise/${v}`, class: "mono" }, v);
  if (k === "outcome" && typeof v === "string") return (d.outcomes as Record<string, string>)[v] ?? v;
  if (k === "reasonCode" && typeof v === "string") return reasonLabel(v);
  if (k === "currency" && typeof v === "string") return (d.currencies as Record<string, string>)[v] ?? v;
  if (typeof v === "boolean") return k === "needsConfirmation" && v ? d.needsConfirmationYes : v ? d.yes : d.no;
  if (Array.isArray(v)) return v.map((x) => (typeof x === "string" ? fieldLabel(x) : JSON.stringify(x))).join(lang() === "zh-CN" ? "、" : ", ");
  if (k === "policyDocument" && typeof v === "object" && v !== null) {
    const p = v as { url?: unknown; sha256?: unknown };
    return dl([
      [fieldLabel("url"), typeof p.url === "string" && /^https?:\/\//.test(p.url) ? h("a", { href: p.url, rel: "noopener noreferrer" }, p.url) : String(p.url ?? "")],
      [fieldLabel("sha256"), h("span", { class: "mono" }, String(p.sha256 ?? ""))],
    ]);
  }
  if (typeof v === "object" && v !== null) return dl(Object.entries(v as Record<string, unknown>).map(([kk, vv]) => [fieldLabel(kk), fieldValue(kk, vv)] as const));
  return String(v);
}

/** The enterprise, programme and application a record is about, for the sentence "this record belongs to". */
interface Whose {
  enterprise?: { name: string; creditCode: string };
  programme?: { id: string; name: string; code: string };
  application?: { id: string; status: string };
}

async function whoseRecord(view: EntryView): Promise<Whose> {
  const e = view.entry;
  if (e.kind === "programme") return { programme: { id: e.id, name: String(e.body["name"] ?? ""), code: String(e.body["code"] ?? "") } };
  if (view.belongsTo?.kind === "programme") {
    const p = await getJson<EntryView>(`/v1/entries/${encodeURIComponent(view.belongsTo.id)}`);
    return { programme: { id: p.id, name: String(p.entry.body["name"] ?? ""), code: String(p.entry.body["code"] ?? "") } };
  }
  const appId = e.kind === "application" ? e.id : view.belongsTo?.kind === "application" ? view.belongsTo.id : null;
  if (appId === null) return {};
  const app = e.kind === "application" ? view : await getJson<EntryView>(`/v1/entries/${encodeURIComponent(appId)}`);
  const creditCode = String(app.entry.body["creditCode"] ?? "");
  const out: Whose = { application: { id: appId, status: view.belongsTo?.status ?? "" } };
  try {
    // The enterprise view carries the corrected name and the programme's name.
    const ent = await getJson<EnterpriseView>(`/v1/enterprises/${encodeURIComponent(creditCode)}`);
    const a = ent.applications.find((x) => x.id === appId);
    out.enterprise = { name: a?.enterpriseName ?? String(app.entry.body["enterpriseName"] ?? creditCode), creditCode };
    if (a) out.programme = a.programme;
  } catch {
    out.enterprise = { name: String(app.entry.body["enterpriseName"] ?? creditCode), creditCode };
  }
  return out;
}

async function entryPage(id: string): Promise<void> {
  const d = dict();
  let view: EntryView;
  try {
    view = await getJson<EntryView>(`/v1/entries/${encodeURIComponent(id)}`);
  } catch (e) {
    append(main, heading(d.entryNotFoundHeading), errorBox(e, id));
    return;
  }
  const e = view.entry;
  if ("region" in e.body || e.kind === "correction") await loadRegionNames();
  const whose = await whoseRecord(view).catch((): Whose => ({}));
  const title = whose.enterprise?.name ?? (whose.programme ? whose.programme.name : e.id);
  append(main, heading(fill(d.entryOf, { kind: kindLabel(e.kind), name: title })));
  const content = h("section", { id: "entry-content", "data-trust": "pending", "aria-label": d.publicFields });
  append(
    content,
    whose.enterprise || whose.programme
      ? h(
          "div",
          { class: "whose" },
          h("h2", {}, d.whose),
          dl([
            [d.enterprise, whose.enterprise ? h("a", { href: `#/enterprise/${whose.enterprise.creditCode}` }, whose.enterprise.name) : null],
            [d.creditCode, whose.enterprise ? h("span", { class: "mono" }, whose.enterprise.creditCode) : null],
            [d.programme, whose.programme && whose.programme.id !== e.id ? h("a", { href: `#/entry/${whose.programme.id}` }, `${whose.programme.name} (${whose.programme.code})`) : null],
            [
              d.application,
              whose.application && whose.application.id !== e.id
                ? h("span", {}, entryLink(whose.application.id), " ", whose.application.status ? statusBadge(whose.application.status) : null)
                : null,
            ],
          ]),
        )
      : null,
    h("h2", {}, d.recordHeading),
    dl([
      [d.kind, kindLabel(e.kind)],
      [d.recordedAt, time(e.recordedAt)],
      [
        d.actor,
        h(
          "span",
          {},
          `${e.actor.agency} · ${e.actor.name !== undefined ? `${e.actor.name} ` : ""}`,
          h("span", { class: "mono", title: d.officialId }, e.actor.official),
          ` · ${roleLabel(e.actor.role)}`,
        ),
      ],
      [d.leafIndex, String(view.leafIndex)],
      [d.status, view.revoked ? statusBadge("revoked") : whose.application && whose.application.id === e.id && whose.application.status ? statusBadge(whose.application.status) : null],
      [d.entryId, h("span", { class: "mono" }, e.id)],
    ]),
    h("h2", {}, d.publicFields),
    h("div", { class: "public-fields" }, dl(Object.entries(e.body).map(([k, v]) => [fieldLabel(k), fieldValue(k, v)] as const))),
    e.refs.length > 0 ? h("div", {}, h("h2", {}, d.refsLabel), h("ul", { class: "refs" }, ...e.refs.map((r) => h("li", {}, entryLink(r))))) : null,
    e.commitments ? h("div", {}, h("h2", {}, d.commitments), dl(Object.entries(e.commitments).map(([k, v]) => [fieldLabel(k), h("span", { class: "mono" }, v)] as const))) : null,
    view.erasure
      ? h(
          "div",
          { class: "alert", "data-private-values": "erased" },
          h("h2", {}, d.erasedHeading),
          h(
            "p",
            {},
            t("erasedNote", { fields: view.erasure.fields.map(fieldLabel).join(lang() === "zh-CN" ? "、" : ", "), at: time(view.erasure.recordedAt), reason: reasonLabel(view.erasure.reasonCode), id: view.erasure.id }),
            " ",
            h("a", { href: `#/entry/${view.erasure.id}`, class: "mono" }, view.erasure.id),
          ),
        )
      : null,
  );
  append(main, content);
  const panel = h("section", { id: "verify", class: "verify", "aria-labelledby": "verify-h", "data-verify-state": "running" });
  append(main, panel);
  await runEntryVerification(panel, view, 0);
}

/** Marks shown content as untrusted: a warning above it, and the content itself set apart. */
function markUntrusted(content: HTMLElement, outcome: Exclude<Outcome, { state: "pending" }>): void {
  const d = dict();
  content.dataset["trust"] = "untrusted";
  content.classList.add("untrusted");
  const at = outcome.anchor?.anchoredAt;
  content.prepend(
    h(
      "div",
      { class: "alert fail untrusted-warning", role: "alert" },
      h("h2", {}, h("span", { "aria-hidden": "true" }, "⚠ "), d.untrustedHeading),
      h("p", {}, at ? t("untrustedNote", { at: time(at) }) : d.untrustedNoteNoDate),
    ),
  );
}

const MAX_PENDING_RETRIES = 5;

async function runEntryVerification(panel: HTMLElement, view: EntryView, attempt: number): Promise<void> {
  const d = dict();
  clear(panel);
  panel.dataset["verifyState"] = "running";
  const live = h("p", { class: "alert running", role: "status" }, d.verifyRunning);
  append(panel, h("h2", { id: "verify-h" }, d.verifyHeading), live);
  let outcome: Outcome;
  let ctx: VerifyContext;
  try {
    ctx = await freshContext();
    outcome = await verifyEntry(view, ctx);
  } catch (e) {
    panel.dataset["verifyState"] = "failed";
    live.replaceWith(h("p", { class: "alert fail", role: "alert" }, t("verifyFail", { what: apiMessage(e) })));
    return;
  }
  if (outcome.state === "pending") {
    const more = attempt < MAX_PENDING_RETRIES;
    panel.dataset["verifyState"] = "pending";
    live.className = "alert pending";
    live.textContent = more ? t("verifyPending", { size: outcome.anchoredSize }) : t("verifyPendingGaveUp");
    if (more) setTimeout(() => void runEntryVerification(panel, view, attempt + 1), Math.min(outcome.retryAfter, 5) * 1000);
    else append(panel, h("button", { type: "button", onclick: () => void runEntryVerification(panel, view, 0) }, d.verifyAgain));
    return;
  }
  renderOutcome(panel, live, outcome, ctx);
  const content = document.getElementById("entry-content");
  if (content !== null) {
    if (outcome.contentUntrusted) markUntrusted(content, outcome);
    else content.dataset["trust"] = outcome.state === "verified" ? "verified" : "unknown";
  }
  (window as unknown as { __lastVerification?: Outcome }).__lastVerification = outcome;
}

function renderOutcome(panel: HTMLElement, live: HTMLElement, outcome: Exclude<Outcome, { state: "pending" }>, ctx: VerifyContext): void {
  const d = dict();
  panel.dataset["verifyState"] = outcome.state;
  const ok = outcome.state === "verified";
  const stepName: Record<string, string> = { leaf: d.stepLeaf, signature: d.stepSignature, inclusion: d.stepInclusion, chain: d.stepChain, openings: d.stepOpenings, witnesses: d.stepWitnesses };
  const failed = outcome.failedStep;
  live.replaceWith(
    h(
      "div",
      { class: `alert ${ok ? "ok" : "fail"}`, role: ok ? "status" : "alert" },
      h("p", { class: "headline" }, h("span", { "aria-hidden": "true" }, ok ? "✓ " : "✗ "), ok ? d.verifyOk : t("verifyFail", { what: outcome.failure ?? "" })),
      failed ? h("p", { class: "explain" }, h("strong", {}, d.verifyWhat), stepName[failed.key] ?? "") : null,
      failed?.meaning ? h("p", { class: "explain meaning" }, h("strong", {}, d.verifyMeaning), failed.meaning) : null,
    ),
  );
  append(
    panel,
    h(
      "ul",
      { class: "steps" },
      ...outcome.steps.map((s) =>
        h(
          "li",
          { class: `step ${s.status}`, "data-step": s.key },
          h("span", { class: "mark", "aria-hidden": "true" }, s.status === "ok" ? "✓" : s.status === "fail" ? "✗" : "–"),
          ` ${stepName[s.key]}${dict().colon}`,
          h("strong", {}, s.status === "ok" ? d.stepOk : s.status === "fail" ? d.stepFail : d.stepSkipped),
          s.failure ? h("span", { class: "why" }, ` — ${s.failure}`) : null,
        ),
      ),
    ),
  );
  const details = outcome.steps.filter((s) => s.detail);
  if (details.length > 0)
    append(
      panel,
      h(
        "details",
        { class: "tech" },
        h("summary", {}, d.verifyTechnical),
        ...details.map((s) => h("div", {}, h("p", {}, stepName[s.key] ?? ""), h("pre", { class: "mono" }, s.detail ?? ""))),
      ),
    );
  const a = outcome.anchor;
  append(
    panel,
    dl([
      [d.leafHash, outcome.leafHashHex ? h("span", { class: "mono" }, outcome.leafHashHex) : null],
      [d.anchor, a ? (a.source === "rpc" ? fill(d.chainFromRpc, { rpc: rpcUrl() ?? "" }) : d.chainFromService) : null],
      [d.chainId, a ? String(a.chainId) : null],
      [d.contract, a ? h("span", { class: "mono" }, a.contract) : null],
      [d.checkpointIndex, a ? String(a.checkpointIndex) : null],
      [d.treeSize, a ? String(a.size) : null],
      [d.rootHash, a ? h("span", { class: "mono" }, a.rootHex) : null],
      [d.block, a?.blockNumber !== null && a?.blockNumber !== undefined ? String(a.blockNumber) : null],
      [d.transaction, a?.txHash ? h("span", { class: "mono", title: a.txHash }, shortHex(a.txHash, 12)) : null],
      [d.anchoredAt, a?.anchoredAt ? time(a.anchoredAt) : null],
      [d.duration, t("millis", { ms: outcome.cryptoMs.toFixed(1) })],
    ]),
  );
  append(panel, trustSection(ctx, outcome));
  announce(ok ? d.verifyOk : t("verifyFail", { what: outcome.failure ?? "" }));
}

/** The keys this verification trusted, and which witnesses vouched for the checkpoint. */
function trustSection(ctx: VerifyContext, outcome: Exclude<Outcome, { state: "pending" }>): HTMLElement {
  const d = dict();
  const policy = ctx.policy;
  const vouched = new Set(outcome.witnesses?.vouched ?? []);
  return h(
    "details",
    { class: "trust", id: "trust" },
    h("summary", {}, d.trustHeading),
    h("p", { class: "hint" }, policy !== null ? d.trustPinned : d.trustFromService),
    dl([
      [d.logKey, h("span", { class: "mono" }, ctx.logKeyText)],
      [
        d.witnessesLabel,
        policy === null || policy.witnesses.length === 0
          ? d.noWitnesses
          : h(
              "ul",
              { class: "witnesses" },
              ...policy.witnesses.map((w) =>
                h(
                  "li",
                  { "data-witness": w.name, "data-vouched": outcome.witnesses ? String(vouched.has(w.name)) : "unknown" },
                  h("span", { "aria-hidden": "true" }, outcome.witnesses ? (vouched.has(w.name) ? "✓ " : "✗ ") : ""),
                  `${w.name} `,
                  h("span", { class: "hint" }, outcome.witnesses ? (vouched.has(w.name) ? d.witnessVouched : d.witnessDidNot) : ""),
                  h("br", {}),
                  h("span", { class: "mono" }, w.vkey),
                ),
              ),
            ),
      ],
      [d.quorumLabel, policy === null || policy.witnesses.length === 0 ? null : policy.quorum],
    ]),
    ctx.serviceKeyDiffers ? h("p", { class: "alert fail" }, d.serviceKeyDiffers) : null,
  );
}

async function receiptPage(): Promise<void> {
  const d = dict();
  const result = h("section", { id: "receipt-result", class: "verify", "aria-live": "polite" });
  const textarea = h("textarea", { id: "receipt-text", rows: 8, spellcheck: "false" });
  const fileInput = h("input", { id: "receipt-file", type: "file", accept: "application/json,.json" });
  const check = async (text: string) => {
    clear(result);
    result.dataset["verifyState"] = "running";
    const live = h("p", { class: "alert running", role: "status" }, d.verifyRunning);
    append(result, live);
    try {
      const ctx = await freshContext();
      const { outcome, receipt, keyMismatch } = await verifyReceiptFile(text, ctx);
      if (outcome.state === "pending") return;
      renderOutcome(result, live, outcome, ctx);
      if (keyMismatch) append(result, h("p", { class: "alert fail" }, d.receiptKeyMismatch));
      if (receipt) {
        const e = receipt.entry as unknown as PublicEntry;
        const opened = new Set(outcome.opened ?? []);
        const badOpening = outcome.steps.find((s) => s.key === "openings" && s.status === "fail")?.detail;
        const content = h(
          "section",
          { id: "receipt-entry", "data-trust": outcome.state === "verified" ? "verified" : outcome.contentUntrusted ? "untrusted" : "unknown" },
          h("h3", {}, d.receiptEntryOf),
          dl([
            [d.kind, kindLabel(String(e.kind))],
            [d.entryId, h("a", { href: `#/entry/${String(e.id)}`, class: "mono" }, String(e.id))],
            [d.recordedAt, time(String(e.recordedAt))],
            [d.leafIndex, String(receipt.leafIndex)],
            ...Object.entries(e.body ?? {}).map(([k, v]) => [fieldLabel(k), fieldValue(k, v)] as const),
            ...Object.keys(receipt.openings ?? {}).map((f) => {
              const holds = opened.has(f) && f !== badOpening && outcome.state === "verified";
              return [`${fieldLabel(f)}${holds ? " ✓" : ""}`, h("span", { class: holds ? undefined : "untrusted-value" }, fieldValue(f, receipt.openings?.[f]?.value))] as const;
            }),
          ]),
        );
        append(result, content);
        if (outcome.contentUntrusted) markUntrusted(content, outcome);
      }
    } catch (e) {
      result.dataset["verifyState"] = "failed";
      live.replaceWith(errorBox(e));
    }
  };
  fileInput.addEventListener("change", () => {
    const f = fileInput.files?.[0];
    if (f) void f.text().then((text) => ((textarea.value = text), check(text)));
  });
  const drop = h(
    "div",
    { class: "drop" },
    h("label", { for: "receipt-file" }, d.receiptFile),
    fileInput,
    h("p", { class: "hint" }, d.receiptDrop),
  );
  drop.addEventListener("dragover", (e) => (e.preventDefault(), drop.classList.add("over")));
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const f = (e as DragEvent).dataTransfer?.files[0];
    if (f) void f.text().then((text) => ((textarea.value = text), check(text)));
  });
  append(
    main,
    heading(d.receiptHeading),
    h("p", {}, d.receiptIntro),
    drop,
    h(
      "form",
      { onsubmit: (e: Event) => (e.preventDefault(), void check(textarea.value)) },
      h("label", { for: "receipt-text" }, d.receiptPaste),
      textarea,
      h("button", { type: "submit" }, d.receiptVerify),
    ),
    result,
  );
}

async function dashboardPage(): Promise<void> {
  append(main, heading(dict().dashHeading), h("p", { id: "dash-loading" }, dict().loading));
  const { renderDashboard } = await import("./dashboard");
  document.getElementById("dash-loading")?.remove();
  await renderDashboard(main, { rpcUrl: rpcUrl(), published: publishedCheckpoint });
}

// ---------------------------------------------------------------------------
// Router

let routeSeq = 0;

async function route(): Promise<void> {
  const seq = ++routeSeq;
  renderChrome();
  clear(main);
  document.body.dataset["ready"] = "0";
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query = ""] = hash.split("?") as [string, string?];
  const parts = path.split("/").filter(Boolean);
  try {
    if (parts[0] === "enterprise" && parts[1]) await enterprisePage(decodeURIComponent(parts[1]));
    else if (parts[0] === "entry" && parts[1]) await entryPage(decodeURIComponent(parts[1]));
    else if (parts[0] === "search") await searchPage(new URLSearchParams(query).get("q") ?? "");
    else if (parts[0] === "receipt") await receiptPage();
    else if (parts[0] === "dashboard") await dashboardPage();
    else await homePage();
  } catch (e) {
    append(main, errorBox(e));
  }
  if (seq !== routeSeq) return;
  main.querySelector<HTMLElement>("h1")?.focus({ preventScroll: true });
  document.body.dataset["ready"] = "1";
  performance.mark("portal-ready");
}

initLang();
// Whether the visitor is using the keyboard: the heading that takes focus on navigation shows its ring only then.
window.addEventListener("keydown", (e) => {
  if (e.key === "Tab" || e.key === "Enter" || e.key === " ") document.documentElement.classList.add("kbd");
});
window.addEventListener("pointerdown", () => document.documentElement.classList.remove("kbd"));
window.addEventListener("hashchange", () => void route());
void route();
