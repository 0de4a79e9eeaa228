/**
 * The public transparency portal: enterprise lookup, entry pages verified in
 * the browser, receipt checks and the dashboard (loaded on demand, with its
 * chart library). Hash routes, so the service serves one page:
 *   #/  #/search?q=  #/enterprise/<credit code>  #/entry/<id>  #/receipt  #/dashboard
 */
import { parseVerifierKeyAsync, type WebNoteVerifier } from "../log";
import { allProgrammes, ApiError, getJson, getText, scanLog, type ChainInfo, type EnterpriseView, type EntryView, type ProgrammeView, type PublicEntry } from "./api";
import { append, clear, h } from "./dom";
import { shortHex, time, yuan } from "./format";
import { dict, fill, initLang, lang, setLang, t } from "./i18n";
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
function context(): Promise<VerifyContext> {
  contextPromise ??= (async () => {
    const logKeyText = (await getText("/v1/log/key")).trim();
    const logKey: WebNoteVerifier = await parseVerifierKeyAsync(logKeyText);
    let chain: ChainInfo | null = null;
    try {
      chain = await getJson<ChainInfo>("/v1/chain");
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) throw e;
    }
    return { logKey, logKeyText, rpcUrl: rpcUrl(), chain };
  })();
  contextPromise.catch(() => (contextPromise = undefined));
  return contextPromise;
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

function errorBox(e: unknown): HTMLElement {
  const msg = e instanceof ApiError && e.status === 404 ? t("notFound", { what: e.message }) : t("error", { msg: e instanceof Error ? e.message : String(e) });
  return h("p", { class: "alert fail", role: "alert" }, msg);
}

function heading(text: string): HTMLElement {
  return h("h1", { tabindex: "-1" }, text);
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
      {},
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, ...head.map((c, i) => h("th", { scope: "col", class: numeric.includes(i) ? "num" : undefined }, c)))),
      h("tbody", {}, ...rows.map((r) => h("tr", {}, ...r.map((c, i) => h("td", { class: numeric.includes(i) ? "num" : undefined }, c))))),
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
  let view: EnterpriseView;
  try {
    view = await getJson<EnterpriseView>(`/v1/enterprises/${encodeURIComponent(code)}`);
  } catch (e) {
    append(main, heading(code), errorBox(e));
    return;
  }
  const name = view.applications[0]?.enterpriseName ?? String(view.entries.find((e) => e.entry.kind === "application")?.entry.body["enterpriseName"] ?? code);
  append(
    main,
    heading(t("enterpriseHeading", { name })),
    dl([
      [d.creditCode, h("span", { class: "mono" }, view.creditCode)],
      [d.applications, String(view.totals.applications)],
      [d.requested, yuan(view.totals.requestedFen)],
      [d.approved, yuan(view.totals.approvedFen)],
      [d.paid, yuan(view.totals.paidFen)],
    ]),
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
        `${a.region} · ${regionLabel(a.regionType)}`,
      ]),
      [2, 3, 4],
    ),
  );
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
          return h(
            "li",
            { class: entry.kind === "correction" ? "correction" : undefined },
            h("time", { datetime: entry.recordedAt }, time(entry.recordedAt)),
            " ",
            h("a", { href: `#/entry/${entry.id}` }, kindLabel(entry.kind)),
            " ",
            entrySummary(entry),
            c ? h("p", { class: "reason" }, `${d.reason}: ${(d.reasons as Record<string, string>)[c.reasonCode] ?? c.reasonCode} — ${c.reasonText}`) : null,
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
      return `${yuan(String(b["amountFen"] ?? "0"))} · ${String(b["paidOn"] ?? "")}`;
    case "correction":
      return `${(dict().reasons as Record<string, string>)[String(b["reasonCode"])] ?? String(b["reasonCode"])}${b["clawbackFen"] ? ` · ${yuan(String(b["clawbackFen"]))}` : ""}`;
    case "programme":
      return `${String(b["name"] ?? "")} · ${yuan(String(b["budgetFen"] ?? "0"))}`;
    default:
      return "";
  }
}

function fieldValue(k: string, v: unknown): string {
  if (typeof v === "string" && /Fen$/.test(k)) return `${yuan(v)} (${v} fen)`;
  if (typeof v === "object" && v !== null) return JSON.stringify(v);
  return String(v);
}

async function entryPage(id: string): Promise<void> {
  const d = dict();
  let view: EntryView;
  try {
    view = await getJson<EntryView>(`/v1/entries/${encodeURIComponent(id)}`);
  } catch (e) {
    append(main, heading(id), errorBox(e));
    return;
  }
  const e = view.entry;
  append(main, heading(`${kindLabel(e.kind)} · ${t("entryHeading", { id: e.id })}`));
  const creditCode = e.body["creditCode"];
  append(
    main,
    dl([
      [d.kind, kindLabel(e.kind)],
      [d.recordedAt, time(e.recordedAt)],
      [d.actor, `${e.actor.agency} · ${e.actor.name !== undefined ? `${e.actor.name} [${e.actor.official}]` : e.actor.official} (${e.actor.role})`],
      [d.leafIndex, String(view.leafIndex)],
      [d.status, view.revoked ? statusBadge("revoked") : null],
      [d.belongsTo, view.belongsTo ? h("span", {}, h("a", { href: `#/entry/${view.belongsTo.id}` }, view.belongsTo.id), " ", statusBadge(view.belongsTo.status)) : null],
      [d.creditCode, typeof creditCode === "string" ? h("a", { href: `#/enterprise/${creditCode}` }, creditCode) : null],
    ]),
    h("h2", {}, d.publicFields),
    dl(Object.entries(e.body).map(([k, v]) => [k, fieldValue(k, v)] as const)),
    e.refs.length > 0 ? h("p", {}, "refs: ", ...e.refs.flatMap((r) => [h("a", { href: `#/entry/${r}`, class: "mono" }, r), " "])) : null,
    e.commitments ? h("div", {}, h("h2", {}, d.commitments), dl(Object.entries(e.commitments).map(([k, v]) => [k, h("span", { class: "mono" }, v)] as const))) : null,
    view.erasure
      ? h(
          "div",
          { class: "alert", "data-private-values": "erased" },
          h("h2", {}, d.erasedHeading),
          h(
            "p",
            {},
            t("erasedNote", { fields: view.erasure.fields.join(", "), at: time(view.erasure.recordedAt), reason: view.erasure.reasonCode, id: view.erasure.id }),
            " ",
            h("a", { href: `#/entry/${view.erasure.id}`, class: "mono" }, view.erasure.id),
          ),
        )
      : null,
  );
  const panel = h("section", { id: "verify", class: "verify", "aria-labelledby": "verify-h", "data-verify-state": "running" });
  append(main, panel);
  await runEntryVerification(panel, view, 0);
}

const MAX_PENDING_RETRIES = 5;

async function runEntryVerification(panel: HTMLElement, view: EntryView, attempt: number): Promise<void> {
  const d = dict();
  clear(panel);
  panel.dataset["verifyState"] = "running";
  const live = h("p", { class: "alert running", role: "status" }, d.verifyRunning);
  append(panel, h("h2", { id: "verify-h" }, d.verifyHeading), live);
  let outcome: Outcome;
  try {
    outcome = await verifyEntry(view, await freshContext());
  } catch (e) {
    panel.dataset["verifyState"] = "failed";
    live.replaceWith(h("p", { class: "alert fail", role: "alert" }, t("verifyFail", { what: e instanceof Error ? e.message : String(e) })));
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
  renderOutcome(panel, live, outcome);
  (window as unknown as { __lastVerification?: Outcome }).__lastVerification = outcome;
}

function renderOutcome(panel: HTMLElement, live: HTMLElement, outcome: Exclude<Outcome, { state: "pending" }>): void {
  const d = dict();
  panel.dataset["verifyState"] = outcome.state;
  const ok = outcome.state === "verified";
  live.replaceWith(
    h("p", { class: `alert ${ok ? "ok" : "fail"}`, role: ok ? "status" : "alert" }, h("span", { "aria-hidden": "true" }, ok ? "✓ " : "✗ "), ok ? d.verifyOk : t("verifyFail", { what: outcome.failure ?? "" })),
  );
  const stepName: Record<string, string> = { leaf: d.stepLeaf, signature: d.stepSignature, inclusion: d.stepInclusion, chain: d.stepChain, openings: d.stepOpenings };
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
          ` ${stepName[s.key]}: `,
          h("strong", {}, s.status === "ok" ? d.stepOk : s.status === "fail" ? d.stepFail : d.stepSkipped),
          s.failure ? h("span", { class: "why" }, ` — ${s.failure}`) : null,
        ),
      ),
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
      ["", t("millis", { ms: outcome.cryptoMs.toFixed(1) })],
    ]),
  );
  announce(ok ? d.verifyOk : t("verifyFail", { what: outcome.failure ?? "" }));
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
      const { outcome, receipt, keyMismatch } = await verifyReceiptFile(text, await freshContext());
      if (outcome.state === "pending") return;
      renderOutcome(result, live, outcome);
      if (keyMismatch) append(result, h("p", { class: "alert fail" }, d.receiptKeyMismatch));
      if (receipt) {
        const e = receipt.entry as unknown as PublicEntry;
        append(
          result,
          h("h3", {}, d.receiptEntryOf),
          dl([
            [d.kind, kindLabel(String(e.kind))],
            ["id", h("a", { href: `#/entry/${String(e.id)}` }, String(e.id))],
            [d.recordedAt, time(String(e.recordedAt))],
            [d.leafIndex, String(receipt.leafIndex)],
            ...Object.entries(e.body ?? {}).map(([k, v]) => [k, fieldValue(k, v)] as const),
            ...(outcome.opened ?? []).map((f) => [`${f} ✓`, fieldValue(f, receipt.openings?.[f]?.value)] as const),
          ]),
        );
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
  await renderDashboard(main, { rpcUrl: rpcUrl() });
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
  main.querySelector<HTMLElement>("h1")?.focus({ preventScroll: false });
  document.body.dataset["ready"] = "1";
  performance.mark("portal-ready");
}

initLang();
window.addEventListener("hashchange", () => void route());
void route();
