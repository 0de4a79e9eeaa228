/**
 * A realistic, valid ledger for the audit benchmarks: programmes,
 * applications, decisions, payouts under approvals below and above the
 * four-eyes threshold with their confirmations, and corrections (about 480
 * bytes a leaf), drawn from a seeded PRNG. Every leaf passes the auditor's
 * replay of the business rules, so an audit of a log built from it must come
 * out clean.
 *
 * Every object is written with its keys in sorted order, so JSON.stringify
 * gives the RFC 8785 form; {@link checkCanonical} checks a leaf against the
 * canonical encoder.
 */
import { canonicalBytes } from "../../service/log";
import { prng } from "../../service/prng";
import { createReadStream, createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { once } from "node:events";
import type { ExportHeader } from "../../service/format";


export class LedgerRandom {
  readonly rnd = prng(20260310);
  private n = 0;
  private t: number;
  constructor(start: number) {
    this.t = start;
  }

  hex(len: number): string {
    let s = "";
    while (s.length < len) s += Math.floor(this.rnd() * 0x100000000).toString(16).padStart(8, "0");
    return s.slice(0, len);
  }
  id(prefix: string): string {
    this.n++;
    return `${prefix}_${this.n.toString(16).padStart(8, "0")}${this.hex(16)}`;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rnd() * xs.length)]!;
  }
  /** The next recordedAt: about 60 ms apart. */
  at(): string {
    this.t += 1 + Math.floor(this.rnd() * 120);
    return new Date(this.t).toISOString();
  }
  get now(): number {
    return this.t;
  }
}

const CLERKS = Array.from({ length: 40 }, (_, i) => ({ agency: "北京市经济和信息化局", official: `clerk.${i}`, role: "clerk" }));
const APPROVERS = Array.from({ length: 12 }, (_, i) => ({ agency: "北京市经济和信息化局", official: `approver.${i}`, role: "approver" }));
const PAYERS = Array.from({ length: 8 }, (_, i) => ({ agency: "北京市财政局", official: `payer.${i}`, role: "payer" }));
const ADMIN = { agency: "北京市财政局", official: "admin.wang", role: "admin" };
const NAMES = ["北京示例科技有限公司", "上海智造精密机械股份有限公司", "深圳市前海数字服务有限公司", "杭州绿色能源技术有限公司", "成都高新生物医药有限公司"];
const REGIONS = ["110101", "130123", "130181", "310104", "440305"];
const THRESHOLD = 5_000_000;

function entry(actor: object, body: object, commitments: object | undefined, id: string, kind: string, recordedAt: string, refs: string[]): string {
  return JSON.stringify(
    commitments === undefined ? { actor, body, id, kind, recordedAt, refs, v: 1 } : { actor, body, commitments, id, kind, recordedAt, refs, v: 1 },
  );
}

/** Yields leaf texts of a valid ledger, forever. */
export function* ledger(g: LedgerRandom): Generator<string> {
  const programmes: string[] = [];
  for (let p = 0; p < 20; p++) {
    const id = g.id("prg");
    programmes.push(id);
    yield entry(
      ADMIN,
      {
        agency: "北京市经济和信息化局",
        budgetFen: "900000000000000",
        closesOn: "2099-12-31",
        code: `BJ-2026-${p}`,
        currency: "CNY",
        fourEyesThresholdFen: String(THRESHOLD),
        name: "专精特新中小企业数字化转型补贴",
        opensOn: "2000-01-01",
        policyDocument: { sha256: g.hex(64), url: `https://fgw.beijing.gov.cn/zcfg/2026/${p}.pdf` },
      },
      undefined,
      id,
      "programme",
      g.at(),
      [],
    );
  }
  for (;;) {
    const prg = g.pick(programmes);
    const clerk = g.pick(CLERKS);
    const app = g.id("app");
    const requested = 100_000 + Math.floor(g.rnd() * 10_000_000);
    yield entry(
      clerk,
      { creditCode: `91110101${g.hex(9).toUpperCase()}X`, enterpriseName: g.pick(NAMES), programmeId: prg, region: g.pick(REGIONS), requestedFen: String(requested) },
      { bankAccount: g.hex(64), contactPerson: g.hex(64), phone: g.hex(64) },
      app,
      "application",
      g.at(),
      [prg],
    );
    if (g.rnd() < 0.05) {
      yield entry(
        g.pick(APPROVERS),
        { reasonCode: "data-entry-error", reasonText: "经复核更正企业名称", replacement: { enterpriseName: g.pick(NAMES) }, targetId: app },
        undefined,
        g.id("cor"),
        "correction",
        g.at(),
        [app],
      );
    }
    const approve = g.rnd() < 0.8;
    const dec = g.id("dec");
    yield entry(
      g.pick(APPROVERS),
      { applicationId: app, approvedFen: approve ? String(requested) : "0", outcome: approve ? "approved" : "rejected", reason: approve ? "符合申报条件，予以支持" : "不符合申报条件" },
      undefined,
      dec,
      "decision",
      g.at(),
      [app],
    );
    if (!approve) continue;
    const parts = g.rnd() < 0.6 ? [requested] : [Math.floor(requested / 2), requested - Math.floor(requested / 2)];
    for (const amount of parts) {
      const pay = g.id("pay");
      const needs = requested >= THRESHOLD; // four-eyes by decision: the approved amount decides
      yield entry(
        g.pick(PAYERS),
        { amountFen: String(amount), decisionId: dec, needsConfirmation: needs, paidOn: "2020-01-01" },
        { bankTransactionRef: g.hex(64) },
        pay,
        "payout",
        g.at(),
        [dec],
      );
      if (needs) yield entry(g.pick(APPROVERS), { payoutId: pay }, undefined, g.id("cnf"), "confirmation", g.at(), [pay]);
    }
  }
}

/** Throws unless `text` is exactly the canonical (RFC 8785) encoding of itself. */
export function checkCanonical(text: string, index: number): void {
  if (Buffer.compare(Buffer.from(text, "utf8"), Buffer.from(canonicalBytes(JSON.parse(text)))) !== 0) throw new Error(`generated leaf ${index} is not canonical`);
}

/** Writes an export file: its header line, then `bodyFile` streamed after it (never held whole), which is then removed. */
export async function writeExportFile(exportFile: string, header: ExportHeader, bodyFile: string): Promise<void> {
  const out = createWriteStream(exportFile);
  out.write(`${JSON.stringify(header)}\n`);
  for await (const c of createReadStream(bodyFile)) if (!out.write(c)) await once(out, "drain");
  out.end();
  await once(out, "finish");
  await rm(bodyFile);
}
