/**
 * An enterprise's Atom feed (RFC 4287): one `<entry>` per public ledger
 * entry about it, newest first, so a feed reader shows an enterprise what
 * was recorded about it (applications, decisions, payouts, confirmations,
 * corrections, erasures) without polling the API by hand.
 *
 * Pure: the caller passes public entries only (the allow-listed public view,
 * never private values or salts), and this module only lays them out.
 *
 * Identity. The feed's id and each entry's id are URNs built from the log's
 * origin (its checkpoint origin line, which names the log for good), the
 * credit code and the entry id, so they never change when the service moves
 * or is reached under another host name, and two logs' feeds never share an
 * id. Links are relative references (RFC 3986 §4.2), resolved by readers
 * against the feed's own URL (RFC 4287 §1.2 via xml:base semantics), because
 * the service does not know the public URL it is reached under: the portal's
 * page of the entry (`/#/entry/<id>`) and its receipt
 * (`/v1/entries/<id>/receipt`).
 */
import { yuan } from "./money";

/** What the feed shows of an entry: fields of the public entry v1 view. */
export interface FeedEntry {
  readonly id: string;
  readonly kind: string;
  /** RFC 3339. */
  readonly recordedAt: string;
  readonly actor: { readonly agency: string };
  readonly body: Readonly<Record<string, unknown>>;
}

export interface EnterpriseFeed {
  /** The log's origin line (service config LEDGER_ORIGIN). */
  readonly origin: string;
  readonly creditCode: string;
  /** Newest first. */
  readonly entries: readonly FeedEntry[];
}

export const ATOM_CONTENT_TYPE = "application/atom+xml; charset=utf-8";

/** `updated` of a feed with no entries: nothing about the enterprise was ever recorded, so nothing ever changed. */
export const EMPTY_FEED_UPDATED = "1970-01-01T00:00:00Z";

/** The feed's id: stable for a log and a credit code. */
export function enterpriseFeedId(origin: string, creditCode: string): string {
  return `urn:subsidy-ledger:feed:${encodeURIComponent(origin)}:enterprise:${creditCode}`;
}

/** An entry's id in every feed of its log. */
export function feedEntryId(origin: string, entryId: string): string {
  return `urn:subsidy-ledger:entry:${encodeURIComponent(origin)}:${entryId}`;
}

/** Where a feed is served, relative to the service's root. */
export function enterpriseFeedPath(creditCode: string): string {
  return `/v1/enterprises/${creditCode}/feed.atom`;
}

const KIND_NAMES: Readonly<Record<string, readonly [zh: string, en: string]>> = {
  application: ["申请", "Application"],
  decision: ["审批决定", "Decision"],
  payout: ["拨付", "Payout"],
  confirmation: ["到账确认", "Confirmation"],
  correction: ["更正", "Correction"],
  erasure: ["个人信息删除", "Erasure"],
};

const OUTCOMES: Readonly<Record<string, string>> = { approved: "批准 approved", rejected: "不予批准 rejected" };

/** The entry's title: its kind in Chinese and English, and its one telling public figure. */
export function feedEntryTitle(e: FeedEntry): string {
  const [zh, en] = KIND_NAMES[e.kind] ?? [e.kind, e.kind];
  const b = e.body;
  const detail =
    e.kind === "application"
      ? yuan(b["requestedFen"])
      : e.kind === "decision"
        ? `${OUTCOMES[String(b["outcome"])] ?? String(b["outcome"])} ${yuan(b["approvedFen"])}`
        : e.kind === "payout"
          ? yuan(b["amountFen"])
          : e.kind === "correction" || e.kind === "erasure"
            ? String(b["reasonCode"])
            : "";
  return `${zh} ${en}${detail === "" ? "" : `: ${detail}`}`;
}

/** Labels of the public body fields the summary lists, in this order. */
const SUMMARY_FIELDS: readonly (readonly [field: string, label: string])[] = [
  ["enterpriseName", "企业 enterprise"],
  ["programmeId", "专项 programme"],
  ["applicationId", "申请 application"],
  ["decisionId", "决定 decision"],
  ["payoutId", "拨付 payout"],
  ["targetId", "对象 target"],
  ["region", "地区 region"],
  ["requestedFen", "申请金额 requested"],
  ["outcome", "结果 outcome"],
  ["approvedFen", "批准金额 approved"],
  ["reason", "理由 reason"],
  ["amountFen", "金额 amount"],
  ["paidOn", "支付日期 paid on"],
  ["needsConfirmation", "需确认 needs confirmation"],
  ["reasonCode", "原因 reason code"],
  ["reasonText", "说明 explanation"],
  ["clawbackFen", "追回金额 clawback"],
  ["fields", "删除字段 erased fields"],
];

/** One line per public field the entry carries, then who recorded it and when. */
export function feedEntrySummary(e: FeedEntry): string {
  const lines: string[] = [];
  for (const [field, label] of SUMMARY_FIELDS) {
    const v = e.body[field];
    if (v === undefined || v === null || (typeof v === "object" && !Array.isArray(v))) continue;
    const text = Array.isArray(v) ? v.map(String).join(", ") : field.endsWith("Fen") ? yuan(v) : String(v);
    lines.push(`${label}: ${text}`);
  }
  lines.push(`记录机关 recorded by: ${e.actor.agency}`, `记录时间 recorded at: ${e.recordedAt}`, `条目 entry: ${e.id}`);
  return lines.join("\n");
}

/** Text escaped for XML character data and attribute values; characters XML 1.0 cannot carry are dropped. */
export function xmlEscape(s: string): string {
  return s
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

/** The feed's title: the enterprise's name as its newest application gives it, and its credit code. */
function feedTitle(f: EnterpriseFeed): string {
  const named = f.entries.find((e) => e.kind === "application" && typeof e.body["enterpriseName"] === "string");
  const name = named === undefined ? "" : `${String(named.body["enterpriseName"])} `;
  return `${name}${f.creditCode} 补贴记录 subsidy records`;
}

/** The feed as an Atom 1.0 document. */
export function enterpriseFeedXml(f: EnterpriseFeed): string {
  const x = xmlEscape;
  const updated = f.entries[0]?.recordedAt ?? EMPTY_FEED_UPDATED;
  const out = [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="zh-CN">',
    `  <id>${x(enterpriseFeedId(f.origin, f.creditCode))}</id>`,
    `  <title type="text">${x(feedTitle(f))}</title>`,
    `  <updated>${x(updated)}</updated>`,
    `  <author><name>${x(f.origin)}</name></author>`,
    `  <link rel="self" type="application/atom+xml" href="${x(enterpriseFeedPath(f.creditCode))}"/>`,
    `  <link rel="alternate" type="text/html" href="${x(`/#/enterprise/${f.creditCode}`)}"/>`,
    `  <generator>subsidy-ledger</generator>`,
  ];
  for (const e of f.entries)
    out.push(
      "  <entry>",
      `    <id>${x(feedEntryId(f.origin, e.id))}</id>`,
      `    <title type="text">${x(feedEntryTitle(e))}</title>`,
      `    <updated>${x(e.recordedAt)}</updated>`,
      `    <published>${x(e.recordedAt)}</published>`,
      `    <category term="${x(e.kind)}"/>`,
      `    <link rel="alternate" type="text/html" href="${x(`/#/entry/${e.id}`)}"/>`,
      `    <link rel="related" type="application/json" title="receipt" href="${x(`/v1/entries/${e.id}/receipt`)}"/>`,
      `    <summary type="text">${x(feedEntrySummary(e))}</summary>`,
      "  </entry>",
    );
  out.push("</feed>", "");
  return out.join("\n");
}
