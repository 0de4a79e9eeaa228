/**
 * The portal's two languages: Chinese (zh-CN, the default) and English.
 * Every visible string comes from here; the choice is kept in localStorage.
 */
import type { EntryKind } from "../format";

export type Lang = "zh-CN" | "en";

const zh = {
  title: "惠企补贴公开账本",
  skip: "跳到正文",
  navSearch: "企业查询",
  navDashboard: "数字驾驶舱",
  navReceipt: "核验回执",
  switchLang: "English",
  switchLangLabel: "Switch to English",
  searchHeading: "查询企业或项目",
  searchIntro: "输入统一社会信用代码或企业名称。每条记录都可以在您的浏览器中对照区块链上的锚定检查点进行核验。",
  searchLabel: "统一社会信用代码或企业名称",
  searchButton: "查询",
  searchNoMatch: "没有找到名称包含“{q}”的企业。",
  searchMatches: "名称匹配的企业",
  searchScanned: "已检索公开日志中的 {n} 条记录。",
  searchPartial: "日志较大，只检索了前 {n} 条记录。",
  programmesHeading: "补贴项目",
  enterpriseHeading: "企业：{name}",
  creditCode: "统一社会信用代码",
  totals: "合计",
  applications: "申请",
  programme: "项目",
  status: "状态",
  requested: "申请金额",
  approved: "批准金额",
  paid: "已拨付",
  budget: "预算",
  remaining: "剩余",
  region: "地区",
  timeline: "记录时间线",
  corrections: "更正",
  reason: "原因",
  noEntries: "没有记录。",
  recordedAt: "记录时间",
  kind: "类型",
  entryHeading: "记录 {id}",
  publicFields: "公开字段",
  actor: "经办",
  commitments: "承诺值（私密字段只公开其加盐哈希）",
  leafIndex: "日志位置",
  belongsTo: "所属",
  verifyHeading: "浏览器内核验",
  verifyRunning: "正在核验……",
  verifyOk: "已核验：此记录与链上锚定的检查点一致。",
  verifyFail: "核验失败：{what}",
  verifyPending: "此记录尚未被锚定到区块链（已锚定到第 {size} 条）。稍后自动重试。",
  verifyPendingGaveUp: "此记录仍未锚定。请稍后刷新页面。",
  verifyAgain: "重新核验",
  stepLeaf: "叶哈希（WebCrypto SHA-256，RFC 8785 规范化 JSON）",
  stepSignature: "检查点签名（Ed25519，日志公钥）",
  stepInclusion: "包含证明（到已锚定的检查点）",
  stepChain: "链上检查点",
  stepOpenings: "私密字段与承诺值",
  stepOk: "通过",
  stepFail: "不通过",
  stepSkipped: "未执行",
  chainFromRpc: "直接从链上读取（{rpc}）",
  chainFromService: "由服务提供（未配置链 RPC，未独立读取链）",
  anchor: "锚定",
  chainId: "链 ID",
  contract: "合约",
  block: "区块",
  transaction: "交易",
  checkpointIndex: "检查点序号",
  treeSize: "树大小",
  rootHash: "根哈希",
  anchoredAt: "锚定时间",
  logKey: "日志公钥",
  leafHash: "叶哈希",
  millis: "用时 {ms} 毫秒",
  receiptHeading: "核验回执文件",
  receiptIntro: "选择、拖放或粘贴回执 JSON（subsidy-ledger.receipt）。回执在您的浏览器中核验，不会上传。",
  receiptFile: "选择回执文件",
  receiptDrop: "或把文件拖到这里",
  receiptPaste: "或粘贴回执 JSON",
  receiptVerify: "核验",
  receiptKeyMismatch: "回执中的日志公钥与本服务公布的不同",
  receiptEntryOf: "回执所证明的记录",
  dashHeading: "数字驾驶舱 · 一屏总览",
  dashProgrammes: "各项目：预算、批准与拨付（元）",
  dashRegions: "城乡分布：市辖区与县（批准 / 拨付，元）",
  dashPrefectures: "城乡均衡（按地市：申请数 / 批准金额）",
  prefecture: "地市",
  filterAgency: "部门",
  filterRegion: "地区代码",
  filterAll: "全部部门",
  filterApply: "筛选",
  dashMonthly: "每月拨付（元）",
  dashLag: "锚定延迟（秒）",
  dashHistory: "检查点历史（树大小）",
  dashNoData: "暂无数据。",
  dashTable: "数据表",
  dashKpiBudget: "总预算",
  dashKpiApproved: "已批准",
  dashKpiPaid: "已拨付",
  dashKpiApps: "申请数",
  dashKpiAnchored: "已锚定记录",
  dashKpiLag: "当前锚定延迟",
  dashHistoryService: "未配置链 RPC：只显示服务报告的最新锚定。",
  regionUrban: "市辖区",
  regionRural: "县",
  regionCity: "县级市",
  month: "月份",
  seconds: "{n} 秒",
  loading: "加载中……",
  error: "出错了：{msg}",
  notFound: "没有找到：{what}",
  back: "返回",
  // Every kind of the public entry format (service/format) has a label.
  kinds: { programme: "项目", application: "申请", decision: "审批决定", payout: "拨付", confirmation: "复核确认", correction: "更正", erasure: "删除私密信息" } satisfies Record<EntryKind, string>,
  erasedHeading: "私密信息已删除，承诺值保留",
  erasedNote: "{fields} 的值与盐已于 {at} 依 {reason} 删除（删除记录 {id}）。承诺值仍在日志中，本记录照常可验证。",
  statuses: {
    pending: "待审批",
    approved: "已批准",
    rejected: "未批准",
    paid: "已拨付",
    "partially-paid": "部分拨付",
    corrected: "已更正",
    active: "有效",
    revoked: "已撤销",
  },
  reasons: { "data-entry-error": "录入错误", revoked: "撤销", clawback: "追回", superseded: "被替代" },
  failures: {
    entryMismatch: "回执中的记录与页面显示的记录不同",
    leaf: "叶哈希无法计算：{msg}",
    signature: "检查点签名无效：{msg}",
    inclusion: "包含证明不成立：由此记录计算出的根哈希 {calculated} 与检查点的根哈希 {expected} 不一致",
    inclusionOther: "包含证明无效：{msg}",
    chain: "链上检查点不一致：链上为 (树大小 {chainSize}, 根 {chainRoot})，证明使用 (树大小 {size}, 根 {root})",
    chainRead: "无法读取链：{msg}",
    opening: "私密字段“{field}”与其承诺值不一致",
    receipt: "回执格式无效：{msg}",
    service: "服务无法提供证明（HTTP {status}）：{msg}",
  },
} as const;

type Dict = { [K in keyof typeof zh]: (typeof zh)[K] extends string ? string : { [P in keyof (typeof zh)[K]]: string } };

const en: Dict = {
  title: "Public Subsidy Ledger",
  skip: "Skip to content",
  navSearch: "Look up",
  navDashboard: "Dashboard",
  navReceipt: "Check a receipt",
  switchLang: "中文",
  switchLangLabel: "切换到中文",
  searchHeading: "Look up an enterprise or programme",
  searchIntro: "Enter a unified social credit code or an enterprise name. Every record can be checked in your browser against the checkpoint anchored on the chain.",
  searchLabel: "Unified social credit code or enterprise name",
  searchButton: "Search",
  searchNoMatch: "No enterprise name contains “{q}”.",
  searchMatches: "Enterprises whose name matches",
  searchScanned: "Searched {n} entries of the public log.",
  searchPartial: "The log is large: only its first {n} entries were searched.",
  programmesHeading: "Programmes",
  enterpriseHeading: "Enterprise: {name}",
  creditCode: "Unified social credit code",
  totals: "Totals",
  applications: "Applications",
  programme: "Programme",
  status: "Status",
  requested: "Requested",
  approved: "Approved",
  paid: "Paid",
  budget: "Budget",
  remaining: "Remaining",
  region: "Region",
  timeline: "Timeline of entries",
  corrections: "Corrections",
  reason: "Reason",
  noEntries: "No entries.",
  recordedAt: "Recorded at",
  kind: "Kind",
  entryHeading: "Entry {id}",
  publicFields: "Public fields",
  actor: "Recorded by",
  commitments: "Commitments (private fields are public only as salted hashes)",
  leafIndex: "Position in the log",
  belongsTo: "Belongs to",
  verifyHeading: "Verified in your browser",
  verifyRunning: "Verifying…",
  verifyOk: "Verified: this entry is in the checkpoint anchored on the chain.",
  verifyFail: "Verification failed: {what}",
  verifyPending: "This entry is not anchored on the chain yet (anchored up to entry {size}). Retrying shortly.",
  verifyPendingGaveUp: "This entry is still not anchored. Reload the page later.",
  verifyAgain: "Verify again",
  stepLeaf: "Leaf hash (WebCrypto SHA-256 of the RFC 8785 canonical JSON)",
  stepSignature: "Checkpoint signature (Ed25519, the log's key)",
  stepInclusion: "Inclusion proof (to the anchored checkpoint)",
  stepChain: "Checkpoint on the chain",
  stepOpenings: "Private fields against their commitments",
  stepOk: "passed",
  stepFail: "failed",
  stepSkipped: "not run",
  chainFromRpc: "read from the chain itself ({rpc})",
  chainFromService: "as reported by the service (no chain RPC configured, the chain was not read independently)",
  anchor: "Anchor",
  chainId: "Chain id",
  contract: "Contract",
  block: "Block",
  transaction: "Transaction",
  checkpointIndex: "Checkpoint index",
  treeSize: "Tree size",
  rootHash: "Root hash",
  anchoredAt: "Anchored at",
  logKey: "Log key",
  leafHash: "Leaf hash",
  millis: "took {ms} ms",
  receiptHeading: "Check a receipt file",
  receiptIntro: "Choose, drop or paste a receipt JSON (subsidy-ledger.receipt). It is verified in your browser and never uploaded.",
  receiptFile: "Choose a receipt file",
  receiptDrop: "or drop the file here",
  receiptPaste: "or paste the receipt JSON",
  receiptVerify: "Verify",
  receiptKeyMismatch: "the receipt's log key differs from the key this service publishes",
  receiptEntryOf: "The entry the receipt proves",
  dashHeading: "Dashboard · one-screen overview",
  dashProgrammes: "Per programme: budget, approved and paid (yuan)",
  dashRegions: "Urban districts and rural counties (approved / paid, yuan)",
  dashPrefectures: "Urban-rural balance by prefecture (applications / approved)",
  prefecture: "Prefecture",
  filterAgency: "Agency",
  filterRegion: "Region code",
  filterAll: "All agencies",
  filterApply: "Filter",
  dashMonthly: "Payouts per month (yuan)",
  dashLag: "Anchoring lag (seconds)",
  dashHistory: "Checkpoint history (tree size)",
  dashNoData: "No data yet.",
  dashTable: "Data table",
  dashKpiBudget: "Total budget",
  dashKpiApproved: "Approved",
  dashKpiPaid: "Paid",
  dashKpiApps: "Applications",
  dashKpiAnchored: "Entries anchored",
  dashKpiLag: "Current anchoring lag",
  dashHistoryService: "No chain RPC configured: only the latest anchor, as the service reports it.",
  regionUrban: "Urban districts",
  regionRural: "Rural counties",
  regionCity: "County-level cities",
  month: "Month",
  seconds: "{n} s",
  loading: "Loading…",
  error: "Something went wrong: {msg}",
  notFound: "Not found: {what}",
  back: "Back",
  kinds: { programme: "Programme", application: "Application", decision: "Decision", payout: "Payout", confirmation: "Confirmation", correction: "Correction", erasure: "Erasure" },
  erasedHeading: "Private values erased, commitments kept",
  erasedNote: "The values and salts of {fields} were erased at {at} ({reason}, erasure {id}). The commitments stay in the log, and this entry still verifies.",
  statuses: {
    pending: "Pending",
    approved: "Approved",
    rejected: "Rejected",
    paid: "Paid",
    "partially-paid": "Partially paid",
    corrected: "Corrected",
    active: "Active",
    revoked: "Revoked",
  },
  reasons: { "data-entry-error": "Data-entry error", revoked: "Revoked", clawback: "Clawback", superseded: "Superseded" },
  failures: {
    entryMismatch: "the receipt's entry is not the entry shown on this page",
    leaf: "the leaf hash cannot be computed: {msg}",
    signature: "the checkpoint signature is not valid: {msg}",
    inclusion: "the inclusion proof does not hold: the root computed from this entry, {calculated}, is not the checkpoint's root {expected}",
    inclusionOther: "the inclusion proof is not valid: {msg}",
    chain: "the chain holds another checkpoint: (size {chainSize}, root {chainRoot}) on the chain, (size {size}, root {root}) in the proof",
    chainRead: "the chain could not be read: {msg}",
    opening: "the private field “{field}” does not match its commitment",
    receipt: "not a valid receipt: {msg}",
    service: "the service could not give a proof (HTTP {status}): {msg}",
  },
};

const DICTS: Record<Lang, Dict> = { "zh-CN": zh as unknown as Dict, en };
const STORAGE_KEY = "subsidy-ledger.lang";

let current: Lang = "zh-CN";

export function initLang(): Lang {
  let stored: string | null = null;
  try {
    stored = localStorage.getItem(STORAGE_KEY);
  } catch {
    // storage may be disabled; stay with the default
  }
  current = stored === "en" ? "en" : "zh-CN";
  document.documentElement.lang = current;
  return current;
}

export function lang(): Lang {
  return current;
}

export function setLang(l: Lang): void {
  current = l;
  document.documentElement.lang = l;
  try {
    localStorage.setItem(STORAGE_KEY, l);
  } catch {
    // not kept; fine
  }
}

export function dict(): Dict {
  return DICTS[current];
}

type StringKey = { [K in keyof Dict]: Dict[K] extends string ? K : never }[keyof Dict];

/** The current language's text for `key`, with `{name}` placeholders filled. */
export function t(key: StringKey, vars: Record<string, string | number> = {}): string {
  return fill(DICTS[current][key] as string, vars);
}

export function fill(text: string, vars: Record<string, string | number>): string {
  return text.replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? String(vars[k]) : m));
}
