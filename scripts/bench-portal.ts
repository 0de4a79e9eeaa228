/**
 * Portal performance on localhost with Debian's Chromium (playwright-core):
 *   - JavaScript bytes of the first page load (every script response body, uncompressed);
 *   - time to interactive: navigation start → the page's "portal-ready" mark
 *     (first view rendered, with its data, and focus set);
 *   - time to verify one entry in the browser: the WebCrypto work (leaf hash,
 *     checkpoint signature, inclusion proof) and the whole check including
 *     its requests (receipt, and the chain read over RPC).
 * Each measure is taken over --runs fresh browser contexts (no cache); the
 * median and the worst are printed. Targets: < 200 KB JS, < 1 s, < 50 ms.
 *
 *   npm run bench:portal [-- --runs 7]
 */
import { Command } from "commander";
import { launchChromium, createPortalWorld } from "./lib/portal-world";

interface Verification {
  cryptoMs: number;
  totalMs: number;
  state: string;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function main(): Promise<void> {
  const opts = new Command().option("--runs <n>", "runs per measure", "7").parse().opts<{ runs: string }>();
  const runs = Math.max(1, Number(opts.runs));
  process.stdout.write("starting the service (local anvil) and recording test data…\n");
  const world = await createPortalWorld();
  const browser = await launchChromium();
  const url = world.service.url;
  const rows: Record<string, number[]> = { jsFirst: [], jsDashboard: [], tti: [], verifyCrypto: [], verifyTotal: [] };
  try {
    for (let i = 0; i < runs + 1; i++) {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      let js = 0;
      page.on("response", (r) => {
        if (r.request().resourceType() === "script") void r.body().then((b) => (js += b.length), () => undefined);
      });
      await page.goto(`${url}/`);
      await page.waitForSelector('body[data-ready="1"]');
      const tti = await page.evaluate(() => performance.getEntriesByName("portal-ready")[0]!.startTime);
      await page.waitForLoadState("networkidle");
      const first = js;
      await page.goto(`${url}/#/dashboard`);
      await page.waitForSelector('body[data-ready="1"] #chart-programmes svg');
      await page.waitForLoadState("networkidle");
      const dashboard = js;
      await page.goto(`${url}/#/entry/${world.records.payouts[0]}`);
      await page.reload();
      await page.waitForSelector('body[data-ready="1"] #verify[data-verify-state="verified"]');
      const v = await page.evaluate(() => (window as unknown as { __lastVerification: Verification }).__lastVerification);
      await ctx.close();
      if (i === 0) continue; // warm-up: the service's and Chromium's first run
      rows.jsFirst!.push(first);
      rows.jsDashboard!.push(dashboard);
      rows.tti!.push(tti);
      rows.verifyCrypto!.push(v.cryptoMs);
      rows.verifyTotal!.push(v.totalMs);
    }
  } finally {
    await browser.close();
    await world.close();
  }
  const line = (name: string, key: string, unit: string, target: string, scale = 1, digits = 1) => {
    const xs = rows[key]!.map((x) => x / scale);
    process.stdout.write(`| ${name} | ${median(xs).toFixed(digits)} ${unit} | ${Math.max(...xs).toFixed(digits)} ${unit} | ${target} |\n`);
  };
  process.stdout.write(`\nportal on ${url}, Chromium ${browser.version()}, ${runs} runs (fresh context each, after one warm-up)\n\n`);
  process.stdout.write("| measure | median | worst | target |\n|---|---:|---:|---:|\n");
  line("JavaScript, first page load (/)", "jsFirst", "KB", "< 200 KB", 1000);
  line("JavaScript, / then the dashboard (chart library included)", "jsDashboard", "KB", "", 1000);
  line("time to interactive (/)", "tti", "ms", "< 1000 ms", 1, 0);
  line("verify one entry: WebCrypto work (leaf, signature, proof)", "verifyCrypto", "ms", "< 50 ms", 1, 1);
  line("verify one entry: whole check incl. receipt and chain requests", "verifyTotal", "ms", "", 1, 1);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench-portal: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
