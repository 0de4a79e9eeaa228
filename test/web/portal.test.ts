/**
 * The portal in a real browser (Debian's Chromium driven by playwright-core)
 * against a running service with the local anvil chain. Screenshots go to
 * .cache/test-artifacts/portal-*.png.
 *
 * The tamper test changes a stored leaf in LevelDB while the service is
 * stopped (the service then serves the changed entry with the proof nodes of
 * the original), because that is the failure the portal exists to catch: a
 * database changed behind the log's back. The service's own receipt
 * self-check refuses to issue a receipt for it, so the page falls back to the
 * raw proof route and finds the mismatch itself.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { expect } from "chai";
import { Level } from "level";
import type { Browser, Page } from "playwright-core";
import { ARTIFACTS, createPortalWorld, launchChromium, type PortalWorld } from "../../scripts/lib/portal-world";

describe("the transparency portal, in Chromium", function () {
  this.timeout(120_000);
  let world: PortalWorld;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];

  before(async function () {
    await mkdir(ARTIFACTS, { recursive: true });
    world = await createPortalWorld();
    browser = await launchChromium();
  });

  after(async function () {
    await browser?.close();
    await world?.close();
  });

  beforeEach(async function () {
    consoleErrors.length = 0; // each test answers for its own page's errors
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
    page.on("pageerror", (e) => consoleErrors.push(e.message));
  });

  afterEach(async function () {
    const name = (this.currentTest?.title ?? "page").replace(/[^a-z0-9]+/gi, "-").slice(0, 60);
    await page.screenshot({ path: path.join(ARTIFACTS, `portal-${name}.png`), fullPage: true });
    await page.close();
  });

  async function open(hash: string): Promise<void> {
    await page.goto(`${world.service.url}/${hash}`);
    await page.waitForSelector('body[data-ready="1"]');
  }

  it("looks up an enterprise by name and shows its programmes, statuses, amounts and corrections", async function () {
    await open("");
    await page.getByLabel("统一社会信用代码或企业名称").fill("示例科技");
    await page.getByRole("button", { name: "查询" }).click();
    await page.waitForSelector("ul.results a");
    await page.locator("ul.results a").first().click();
    await page.waitForSelector('body[data-ready="1"] table');
    const code = world.records.enterprises["北京示例科技有限公司"];
    expect(await page.locator("h1").textContent()).to.include("北京示例科技");
    const text = await page.locator("main").innerText();
    expect(text).to.include(code);
    expect(text).to.include("中小企业数字化转型补贴");
    expect(text).to.include("部分拨付"); // approved 30 000 yuan, paid 10 000
    expect(text).to.include("¥30,000.00");
    expect(text).to.include("¥10,000.00");
    expect(text).to.include("企业名称录入有误"); // the correction's reason, in the timeline
    expect(text).to.include("110101 · 北京市东城区"); // the region by its name in the division table, not "市辖区"
    expect(text).to.include("属于申请：中小企业数字化转型补贴"); // which application each decision and payout belongs to
    expect(await page.locator("#feed-link").getAttribute("href")).to.equal(`/v1/enterprises/${code}/feed.atom`);
  });

  it("names the enterprise, programme and application on an entry page, with every field labelled", async function () {
    await open(`#/entry/${world.records.payouts[0]}`);
    expect(await page.locator("h1").innerText()).to.equal("拨付 · 北京示例科技股份有限公司");
    const whose = await page.locator(".whose").innerText();
    expect(whose).to.include("中小企业数字化转型补贴");
    expect(whose).to.include(world.records.applications[0]!);
    expect(await page.locator(".whose a", { hasText: "北京示例科技股份有限公司" }).getAttribute("href")).to.equal(`#/enterprise/${world.records.enterprises["北京示例科技有限公司"]}`);
    const fields = await page.locator(".public-fields").innerText();
    for (const label of ["审批决定", "拨付金额", "拨付日期", "需复核确认", "2026年1月15日"]) expect(fields).to.include(label);
    for (const raw of ["decisionId", "amountFen", "needsConfirmation", "false"]) expect(fields).to.not.include(raw);
    expect(await page.locator("#entry-content").innerText()).to.include("拨付人"); // the role, in Chinese
  });

  it("explains a record that does not exist in the page's language, never in the API's English", async function () {
    await open("#/entry/app_000000000000000000000000");
    const zh = await page.locator("main").innerText();
    expect(zh).to.include("没有找到");
    expect(zh).to.not.match(/\bno (entry|such)\b/i);
    await page.getByRole("button", { name: "Switch to English" }).click();
    await page.waitForSelector('body[data-ready="1"]');
    expect(await page.locator("main").innerText()).to.include("Nothing found for");
    await page.getByRole("button", { name: "切换到中文" }).click();
    await page.waitForSelector('body[data-ready="1"]');
  });

  it("opens an entry and verifies it in the browser against the chain itself (green)", async function () {
    await open(`#/entry/${world.records.payouts[0]}`);
    const panel = page.locator("#verify");
    expect(await panel.getAttribute("data-verify-state")).to.equal("verified");
    expect(await panel.locator(".alert.ok").count()).to.equal(1);
    for (const step of ["leaf", "signature", "inclusion", "chain"]) expect(await panel.locator(`[data-step="${step}"]`).getAttribute("class"), step).to.include("ok");
    const text = await panel.innerText();
    expect(text).to.include("直接从链上读取"); // read from the chain by the page, not the service's word
    expect(text).to.include("31337");
    expect(consoleErrors, consoleErrors.join("\n")).to.deep.equal([]);
  });

  it("switches to English and back", async function () {
    await open(`#/entry/${world.records.applications[1]}`);
    await page.getByRole("button", { name: "Switch to English" }).click();
    await page.waitForSelector('body[data-ready="1"] #verify[data-verify-state="verified"]');
    expect(await page.locator("html").getAttribute("lang")).to.equal("en");
    expect(await page.locator("#verify").innerText()).to.include("Verified: this entry is in the checkpoint anchored on the chain.");
    await page.getByRole("button", { name: "切换到中文" }).click();
    await page.waitForSelector('body[data-ready="1"]');
    expect(await page.locator("html").getAttribute("lang")).to.equal("zh-CN");
  });

  it("loads an enterprise receipt file and verifies it, openings included", async function () {
    const code = (await (await fetch(`${world.service.url}/v1/applications/${world.records.applications[0]}/access-code`, { headers: { authorization: `Bearer ${world.adminToken}` } })).json()) as { accessCode: string };
    const res = await fetch(`${world.service.url}/v1/entries/${world.records.payouts[0]}/receipt/private`, { headers: { "x-access-code": code.accessCode } });
    expect(res.status).to.equal(200);
    const file = path.join(ARTIFACTS, "receipt.json");
    await writeFile(file, await res.text());
    await open("#/receipt");
    await page.locator("#receipt-file").setInputFiles(file);
    await page.waitForSelector('#receipt-result[data-verify-state="verified"]');
    const text = await page.locator("#receipt-result").innerText();
    expect(text).to.include("私密字段与承诺值");
    expect(text).to.include("ICBC-2026-01-15"); // the opened bank transaction reference

    // The same receipt with one digit of the amount changed is refused, with the reason.
    const tampered = await (await fetch(`${world.service.url}/v1/entries/${world.records.payouts[0]}/receipt`)).text();
    await page.locator("#receipt-text").fill(tampered.replace('"amountFen":"1000000"', '"amountFen":"9000000"'));
    await page.getByRole("button", { name: "核验", exact: true }).click();
    await page.waitForSelector('#receipt-result[data-verify-state="failed"]');
    expect(await page.locator("#receipt-result .alert.fail").first().innerText()).to.include("包含证明不成立");
    expect(await page.locator("#receipt-entry").getAttribute("data-trust")).to.equal("untrusted");
    expect(await page.locator("#receipt-entry .untrusted-warning").count()).to.equal(1);
    expect(await page.locator('#receipt-result [data-step="leaf"]').getAttribute("class")).to.include("fail");

    // The enterprise receipt with its private value changed: the proof still holds, the opening does not.
    const privateText = await readFile(file, "utf8");
    expect(privateText).to.include("ICBC-2026-01-15");
    await page.locator("#receipt-text").fill(privateText.replace("ICBC-2026-01-15", "ICBC-2026-01-16"));
    await page.getByRole("button", { name: "核验", exact: true }).click();
    await page.waitForSelector('#receipt-result[data-verify-state="failed"]');
    expect(await page.locator("#receipt-result .alert.fail").first().innerText()).to.include("银行交易流水号");
  });

  it("opens the dashboard and shows its five charts, on a phone-sized screen too", async function () {
    await open("#/dashboard");
    for (const id of ["chart-programmes", "chart-regions", "chart-monthly", "chart-history", "chart-lag"])
      expect(await page.locator(`#${id} svg [data-point]`).count(), id).to.be.greaterThan(0);
    const text = (await page.locator("main").textContent()) ?? "";
    expect(text).to.include("数字驾驶舱");
    expect(text).to.include("2026年2月"); // payouts per month
    expect(text).to.include("县"); // rural counties
    // The filter control and 城乡均衡 per prefecture, from the filtered API.
    expect(await page.locator("#dash-filter #filter-agency").count()).to.equal(1);
    expect(await page.locator("#table-prefectures table").count()).to.equal(1);
    await page.locator("#filter-region").fill("330000");
    await page.locator("#dash-filter button").click();
    await page.waitForSelector("#dash-body #chart-programmes");
    await page.locator("#filter-region").fill("");
    await page.locator("#dash-filter button").click();
    await page.waitForSelector("#dash-body #table-prefectures td", { state: "attached" });
    // The table is the card's only content, so it is shown, not folded away.
    expect(await page.locator("#dash-body #table-prefectures td").first().isVisible(), "the per-prefecture table is visible").to.equal(true);
    // The published checkpoint, its signature checked under the pinned log key; no witnesses here.
    await page.waitForSelector("#published [data-signature]");
    expect(await page.locator("#published [data-signature]").getAttribute("data-signature")).to.equal("true");
    expect(await page.locator("#published").innerText()).to.include("未配置见证人");
    // The anchoring-lag headline is the lag chart's last bar (one source for both).
    const lagRows = await page.locator("#chart-lag tbody tr").all();
    expect(lagRows.length).to.be.greaterThan(0);
    const lastBar = await lagRows.at(-1)!.locator("td").nth(1).textContent();
    expect(await page.locator('.kpis li[data-kpi="锚定延迟"] .v').textContent()).to.equal(lastBar);
    // Charts are redrawn at their card's width when the window narrows, with no reload.
    const wide = Number(await page.locator("#chart-programmes svg").getAttribute("width"));
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForFunction((w) => Number(document.querySelector("#chart-programmes svg")?.getAttribute("width")) < w, wide);
    expect(Number(await page.locator("#chart-programmes svg").getAttribute("width"))).to.be.at.most(390);
    await page.reload();
    await page.waitForSelector('body[data-ready="1"] #chart-lag svg');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow, "no horizontal scrolling on a phone").to.be.at.most(0);
  });

  it("shows an erased entry as erased, commitments kept, and still verifies it (green)", async function () {
    const target = world.records.applications[1]!;
    const res = await fetch(`${world.service.url}/v1/entries/${target}/erasure`, {
      method: "POST",
      headers: { authorization: `Bearer ${world.adminToken}`, "content-type": "application/json", "idempotency-key": "portal-erase-1" },
      body: JSON.stringify({ reasonCode: "data-subject-request" }),
    });
    expect(res.status, await res.clone().text()).to.equal(201);
    const erasureId = ((await res.json()) as { id: string }).id;
    await open(`#/entry/${target}`);
    const erased = page.locator('[data-private-values="erased"]');
    expect(await erased.count()).to.equal(1);
    const text = await erased.innerText();
    expect(text).to.include("私密信息已删除，承诺值保留");
    expect(text).to.include(erasureId);
    expect(text).to.include("银行账号"); // the erased field, by its label
    expect(await page.locator("main").innerText()).to.include("承诺值"); // the commitments are still listed
    await page.waitForSelector('#verify[data-verify-state="verified"]');
    expect(consoleErrors, consoleErrors.join("\n")).to.deep.equal([]);
  });

  it("shows red, saying what did not match, for an entry changed in the database", async function () {
    const target = world.records.payouts[1]!;
    const index = ((await (await fetch(`${world.service.url}/v1/entries/${target}`)).json()) as { leafIndex: number }).leafIndex;
    await world.service.close();
    // Change the stored leaf's amount (key 0x03 ‖ u64 index; value: u16 len ‖ id ‖ u16 len ‖ recordedAt ‖ leaf bytes).
    const db = new Level<Uint8Array, Uint8Array>(world.dir, { keyEncoding: "view", valueEncoding: "view" });
    await db.open();
    const key = new Uint8Array(9);
    key[0] = 0x03;
    new DataView(key.buffer).setBigUint64(1, BigInt(index));
    const value = await db.get(key);
    expect(value, "the leaf is stored").to.not.equal(undefined);
    const text = Buffer.from(value!).toString("latin1");
    expect(text).to.include('"amountFen":"2000000"');
    await db.put(key, new Uint8Array(Buffer.from(text.replace('"amountFen":"2000000"', '"amountFen":"9000000"'), "latin1")));
    await db.close();
    await world.restart();

    await open(`#/entry/${target}`);
    const panel = page.locator("#verify");
    expect(await panel.getAttribute("data-verify-state")).to.equal("failed");
    const alert = await panel.locator(".alert.fail").innerText();
    expect(alert).to.include("包含证明不成立");
    expect(alert).to.include("这意味着"); // what the failure means, in words
    await panel.locator("details.tech summary").click();
    expect(await panel.locator("details.tech").innerText()).to.match(/[0-9a-f]{64}/); // the calculated and expected roots, on request
    expect(await panel.locator('[data-step="inclusion"]').getAttribute("class")).to.include("fail");
    // The leaf hash was computed, but it is not the one the ledger committed to: no ✓ on that step either.
    expect(await panel.locator('[data-step="leaf"]').getAttribute("class")).to.include("fail");
    for (const step of ["leaf", "inclusion"]) expect(await panel.locator(`[data-step="${step}"] .mark`).innerText(), step).to.equal("✗");
    // The edited content is shown as untrusted, with a warning above it.
    const content = page.locator("#entry-content");
    expect(await content.getAttribute("data-trust")).to.equal("untrusted");
    expect(await content.locator(".untrusted-warning").innerText()).to.include("此记录的内容未通过核验");
    expect(await content.innerText()).to.include("¥90,000.00");
  });
});
