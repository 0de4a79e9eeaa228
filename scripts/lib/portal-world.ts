/**
 * A running service for the portal's browser tests and benchmark: startService
 * over a temporary data directory with the local anvil chain (anchoring after
 * each entry, as env() below configures it), the portal built from
 * service/web/, a small set of
 * records made through the API (two programmes; enterprises in an urban
 * district, a rural county and a county-level city; decisions, payouts over
 * three months, a correction), and a headless Chromium from Debian.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { chromium, type Browser } from "playwright-core";
import { loadChainConfig } from "../../service/chain";
import { loadConfig } from "../../service/config";
import { startService, type RunningService } from "../../service/main";
import { buildWeb } from "../build-web";
import { creditCode } from "./bench-requests";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"];
export const ARTIFACTS = path.join(__dirname, "..", "..", ".cache", "test-artifacts");

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

export interface Records {
  programmes: string[];
  /** Enterprise name → credit code. */
  enterprises: Record<string, string>;
  applications: string[];
  decisions: string[];
  payouts: string[];
  correction: string;
}

export interface PortalWorld {
  readonly dir: string;
  service: RunningService;
  readonly records: Records;
  readonly adminToken: string;
  restart(): Promise<void>;
  close(): Promise<void>;
}

const silent = pino({ level: "silent" });

/** One county-level division of each region type (NBS 2023 table): 北京市东城区, 河北省正定县, 河北省辛集市. */
const REGIONS = { urban: "110101", rural: "130123", countyCity: "130181" } as const;

function env(dir: string): Record<string, string> {
  return { PORT: "0", LEDGER_DATA_DIR: dir, LOG_LEVEL: "silent", LEDGER_ANCHOR_EVERY_ENTRIES: "1", LEDGER_ANCHOR_EVERY_MS: "200" };
}

async function start(dir: string): Promise<RunningService> {
  const e = env(dir);
  return startService(loadConfig(e), silent, { chain: loadChainConfig(e, dir) });
}

let keyN = 0;
async function post(url: string, token: string, route: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}${route}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "idempotency-key": `portal-test-${++keyN}` },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status !== 201 && res.status !== 200) throw new Error(`${route}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function token(url: string, admin: string, official: string, role: string): Promise<string> {
  return String((await post(url, admin, "/v1/admin/tokens", { official, agency: "市工信局", role })).token);
}

/** Waits until every entry is under an anchored checkpoint. */
export async function waitAnchored(url: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const [chain, health] = await Promise.all([
      fetch(`${url}/v1/chain`).then((r) => r.json() as Promise<{ anchored: { size: number } | null }>),
      fetch(`${url}/v1/health`).then((r) => r.json() as Promise<{ treeSize: number }>),
    ]);
    if (chain.anchored !== null && chain.anchored.size >= health.treeSize) return;
    if (Date.now() > until) throw new Error(`not anchored after ${timeoutMs} ms: ${JSON.stringify(chain)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function record(url: string, admin: string): Promise<Records> {
  const clerk = await token(url, admin, "clerk.li", "clerk");
  const approver = await token(url, admin, "approver.zhao", "approver");
  const payer = await token(url, admin, "payer.sun", "payer");
  const programme = (code: string, name: string, budgetFen: string) =>
    post(url, admin, "/v1/programmes", {
      code,
      name,
      agency: "北京市经济和信息化局",
      budgetFen,
      currency: "CNY",
      policyDocument: { sha256: "ab".repeat(32), url: "https://www.gov.cn/zhengce/p.pdf" },
      opensOn: "2020-01-01",
      closesOn: "2099-12-31",
      fourEyesThresholdFen: "500000000",
    });
  const p1 = String((await programme("SME-DIGI-2026", "中小企业数字化转型补贴", "100000000")).id);
  const p2 = String((await programme("AGRI-COLD-2026", "农产品冷链物流补贴", "50000000")).id);
  const enterprises = { 北京示例科技有限公司: creditCode(101), 正定绿野农业合作社: creditCode(102), 辛集皮革制品有限公司: creditCode(103) };
  const apps: string[] = [];
  const decisions: string[] = [];
  const payouts: string[] = [];
  const plan: [string, string, string, string, string, string][] = [
    [p1, "北京示例科技有限公司", REGIONS.urban, "3000000", "2026-01-15", "1000000"],
    [p2, "正定绿野农业合作社", REGIONS.rural, "2000000", "2026-02-20", "2000000"],
    [p1, "辛集皮革制品有限公司", REGIONS.countyCity, "1500000", "2026-03-05", "500000"],
  ];
  for (const [prg, name, region, fen, paidOn, paid] of plan) {
    const app = String(
      (await post(url, clerk, "/v1/applications", {
        programmeId: prg,
        creditCode: enterprises[name as keyof typeof enterprises],
        enterpriseName: name,
        region,
        requestedFen: fen,
        private: { contactPerson: "联系人甲", phone: "+86 138 0013 8000", bankAccount: "6222020200112233" },
      })).id,
    );
    const dec = String((await post(url, approver, "/v1/decisions", { applicationId: app, outcome: "approved", approvedFen: fen, reason: "符合申报条件" })).id);
    const pay = String((await post(url, payer, "/v1/payouts", { decisionId: dec, amountFen: paid, paidOn, private: { bankTransactionRef: `ICBC-${paidOn}` } })).id);
    apps.push(app);
    decisions.push(dec);
    payouts.push(pay);
  }
  const correction = String(
    (await post(url, approver, "/v1/corrections", { targetId: apps[0], reasonCode: "data-entry-error", reasonText: "企业名称录入有误，已按营业执照更正", replacement: { enterpriseName: "北京示例科技股份有限公司" } })).id,
  );
  return { programmes: [p1, p2], enterprises, applications: apps, decisions, payouts, correction };
}

export async function createPortalWorld(): Promise<PortalWorld> {
  await buildWeb();
  const dir = await mkdtemp(path.join(tmpdir(), "ledger-portal-"));
  let service = await start(dir);
  try {
    const adminToken = service.firstAdminToken!;
    const records = await record(service.url, adminToken);
    await waitAnchored(service.url);
    const world: PortalWorld = {
      dir,
      get service() {
        return service;
      },
      set service(s) {
        service = s;
      },
      records,
      adminToken,
      async restart() {
        await service.close();
        service = await start(dir);
      },
      async close() {
        await service.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
    return world;
  } catch (e) {
    await service.close();
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}
