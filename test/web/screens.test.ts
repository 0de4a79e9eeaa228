/**
 * Every page of the portal in both languages at a phone's, a tablet's and a desktop's
 * width, kept as screenshots in test-artifacts/screens/ (git-ignored) for a
 * person to look at, with the layout rules a person would check asserted:
 * nothing scrolls sideways, no headline amount spills out of its card, and
 * every chart's points lie inside its plot.
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { expect } from "chai";
import type { Browser, Page } from "playwright-core";
import { CORRECTION_REASONS, ENTRY_FIELDS, ERASURE_REASONS, ROLES } from "../../service/format";
import { PUBLIC_BODY_FIELDS } from "../../service/http/views";
import { createPortalWorld, launchChromium, waitAnchored, type PortalWorld } from "../../scripts/lib/portal-world";

/** Words that must never show on a Chinese page: every schema field name, role and reason code, and booleans. */
const RAW_NAMES = [
  ...new Set([
    ...Object.values(PUBLIC_BODY_FIELDS).flat(),
    ...ENTRY_FIELDS,
    ...ROLES,
    ...CORRECTION_REASONS,
    ...ERASURE_REASONS,
    "contactPerson",
    "phone",
    "bankAccount",
    "bankTransactionRef",
    "true",
    "false",
  ]),
];

/** The visible text of main without what is meant to be technical: ids and hashes (.mono), the technical details, addresses. */
function readableText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const copy = document.getElementById("main")!.cloneNode(true) as HTMLElement;
    for (const el of Array.from(copy.querySelectorAll(".mono, details.tech, a[href^='http'], .sr-only, textarea"))) el.remove();
    document.body.append(copy);
    const text = copy.innerText;
    copy.remove();
    return text;
  });
}

/** Marks ([data-point]) that lie outside their chart's plot area ([data-plot]). */
function marksOutsidePlots(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll<SVGSVGElement>("svg.chart-svg")).flatMap((svg) => {
      const plot = svg.querySelector("[data-plot]")!.getBoundingClientRect();
      return Array.from(svg.querySelectorAll("[data-point]"))
        .map((m) => m.getBoundingClientRect())
        .filter((r) => r.left < plot.left - 0.5 || r.right > plot.right + 0.5 || r.top < plot.top - 0.5 || r.bottom > plot.bottom + 0.5)
        .map((r) => `${svg.closest("figure")?.id}: (${r.left}, ${r.top})`);
    }),
  );
}

export const SCREENS = path.join(__dirname, "..", "..", "test-artifacts", "screens");

const LANGS = ["zh-CN", "en"] as const;
const WIDTHS = [390, 768, 1280] as const;

describe("the portal's screenshots, every page in both languages at 390, 768 and 1280 px", function () {
  this.timeout(240_000);
  let world: PortalWorld;
  let browser: Browser;

  before(async function () {
    await mkdir(SCREENS, { recursive: true });
    world = await createPortalWorld();
    // Amounts as large as a province's programmes, and six programmes, so the headline cards and the per-programme chart are tried at full size.
    const big: [string, string, string][] = [
      ["PROV-MFG-2026", "制造业高质量发展专项资金", "26500000000"],
      ["PROV-GREEN-2026", "绿色低碳转型奖补资金（工业节能与清洁生产改造）", "8800000000"],
      ["PROV-TALENT-2026", "高层次人才引进补贴", "1250000000"],
      ["PROV-EXPORT-2026", "外贸稳增长补贴", "730000000"],
    ];
    for (const [code, name, budgetFen] of big) {
      const res = await fetch(`${world.service.url}/v1/programmes`, {
        method: "POST",
        headers: { authorization: `Bearer ${world.adminToken}`, "content-type": "application/json", "idempotency-key": `screens-${code}` },
        body: JSON.stringify({
          code,
          name,
          agency: "浙江省经济和信息化厅",
          budgetFen,
          currency: "CNY",
          policyDocument: { sha256: "cd".repeat(32), url: "https://www.zj.gov.cn/p.pdf" },
          opensOn: "2026-01-01",
          closesOn: "2026-12-31",
          fourEyesThresholdFen: "500000000",
        }),
      });
      expect(res.status, await res.clone().text()).to.equal(201);
    }
    await waitAnchored(world.service.url);
    browser = await launchChromium();
  });

  after(async function () {
    await browser?.close();
    await world?.close();
  });

  function pages(): [string, string][] {
    const r = world.records;
    return [
      ["home", ""],
      ["search", "#/search?q=%E7%A4%BA%E4%BE%8B"],
      ["enterprise", `#/enterprise/${r.enterprises["北京示例科技有限公司"]}`],
      ["programme", `#/entry/${r.programmes[0]}`],
      ["application", `#/entry/${r.applications[0]}`],
      ["decision", `#/entry/${r.decisions[0]}`],
      ["payout", `#/entry/${r.payouts[0]}`],
      ["correction", `#/entry/${r.correction}`],
      ["receipt", "#/receipt"],
      ["dashboard", "#/dashboard"],
      ["not-found", "#/entry/app_000000000000000000000000"],
    ];
  }

  async function open(l: (typeof LANGS)[number], width: number, hash: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    await page.addInitScript((value) => localStorage.setItem("subsidy-ledger.lang", value), l);
    await page.goto(`${world.service.url}/${hash}`);
    await page.waitForSelector('body[data-ready="1"]');
    await page.waitForFunction(() => document.querySelector('#verify[data-verify-state="running"]') === null);
    return page;
  }

  for (const l of LANGS)
    for (const width of WIDTHS)
      describe(`in ${l} at ${width} px`, function () {
        it("captures every page, none of which scrolls sideways", async function () {
          for (const [name, hash] of pages()) {
            const page = await open(l, width, hash);
            try {
              await page.screenshot({ path: path.join(SCREENS, `${name}-${l}-${width}.png`), fullPage: true });
              const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
              expect(overflow, `${name}: horizontal overflow`).to.be.at.most(0);
              expect(await marksOutsidePlots(page), `${name}: chart marks outside their plot`).to.deep.equal([]);
              const text = await readableText(page);
              if (l === "zh-CN") {
                const raw = RAW_NAMES.filter((n) => new RegExp(`(?<![A-Za-z0-9_.-])${n}(?![A-Za-z0-9_-])`).test(text));
                expect(raw, `${name}: raw field names on a Chinese page`).to.deep.equal([]);
                expect(text.match(/\b[a-z]{2,}[ ,]+[a-z]{2,}\b/g) ?? [], `${name}: English prose on a Chinese page`).to.deep.equal([]);
              } else {
                expect(text, `${name}: 万 or 亿 on an English page`).to.not.match(/[万亿]元?/);
                expect(text, `${name}: a US-style date`).to.not.match(/\b\d{1,2}\/\d{1,2}\/\d{4}\b/);
              }
              // Focus is on the main heading (for screen readers), without a ring after a load that was not keyboard navigation.
              const focus = await page.evaluate(() => ({ tag: document.activeElement?.tagName, outline: getComputedStyle(document.activeElement!).outlineStyle }));
              expect(focus, `${name}: focus`).to.deep.equal({ tag: "H1", outline: "none" });
            } finally {
              await page.close();
            }
          }
        });

        it("keeps the search button on one line", async function () {
          const page = await open(l, width, "");
          try {
            const lines = await page.evaluate(() => {
              const b = document.querySelector<HTMLButtonElement>("form.search button")!;
              const range = document.createRange();
              range.selectNodeContents(b);
              return new Set(Array.from(range.getClientRects()).map((r) => Math.round(r.top))).size;
            });
            expect(lines).to.equal(1);
          } finally {
            await page.close();
          }
        });

        it("keeps every headline amount inside its card on the dashboard", async function () {
          const page = await open(l, width, "#/dashboard");
          try {
            await page.waitForSelector(".kpis li");
            const spills = await page.evaluate(() =>
              Array.from(document.querySelectorAll<HTMLElement>(".kpis li")).flatMap((li) => {
                const box = li.getBoundingClientRect();
                return Array.from(li.querySelectorAll<HTMLElement>(".k, .v, .sub"))
                  .filter((el) => {
                    const r = el.getBoundingClientRect();
                    return el.scrollWidth > el.clientWidth + 1 || r.left < box.left - 0.5 || r.right > box.right + 0.5;
                  })
                  .map((el) => el.textContent ?? "");
              }),
            );
            expect(spills, "text spilling out of a headline card").to.deep.equal([]);
          } finally {
            await page.close();
          }
        });
      });
});
