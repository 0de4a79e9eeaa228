/**
 * The HTTP floor: CPU per request of the layers under the service, so the
 * service's own figures can be read against what Node and Express cost on
 * the same machine in the same run.
 *
 *   npm run bench:http-floor -- [--requests 20000] [--connections 64]
 *
 * Each server runs in its own process and answers GET with a small JSON
 * body; autocannon drives it; the server's CPU time (user + system, from
 * /proc) is divided by the requests served. Servers: node:http, a bare
 * Express 5 route, Express 5 with helmet, the same with requests born with
 * the app's prototypes (as service/http/server.ts does), and the service's
 * own GET /v1/health (its bundle, without a chain).
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import { Command } from "commander";

const opts = new Command()
  .option("--requests <n>", "requests per server", (v) => parseInt(v, 10), 20_000)
  .option("--connections <n>", "concurrent connections", (v) => parseInt(v, 10), 64)
  .parse()
  .opts<{ requests: number; connections: number }>();

const PORT = 18_290;

const SERVERS: { name: string; code?: string; service?: true; path: string }[] = [
  { name: "node:http", path: "/", code: `require("node:http").createServer((q, s) => { s.setHeader("content-type", "application/json"); s.end('{"ok":true}'); }).listen(${PORT})` },
  { name: "Express 5, one route", path: "/h", code: `const a = require("express")(); a.get("/h", (q, s) => s.json({ ok: true })); a.listen(${PORT})` },
  { name: "Express 5 + helmet", path: "/h", code: `const a = require("express")(); a.use(require("helmet")()); a.get("/h", (q, s) => s.json({ ok: true })); a.listen(${PORT})` },
  {
    // What service/http/server.ts does: requests and responses constructed with the app's prototypes.
    name: "Express 5 + helmet, born with the app's prototypes",
    path: "/h",
    code: `const h = require("node:http"); const a = require("express")(); a.use(require("helmet")()); a.get("/h", (q, s) => s.json({ ok: true }));
      class Q extends h.IncomingMessage {} class S extends h.ServerResponse {}
      for (const [c, p] of [[Q, a.request], [S, a.response]]) { Object.setPrototypeOf(c.prototype, Object.getPrototypeOf(p)); c.prototype.app = a; }
      a.request = Q.prototype; a.response = S.prototype;
      h.createServer({ IncomingMessage: Q, ServerResponse: S }, a).listen(${PORT})`,
  },
  { name: "the service, GET /v1/health", path: "/v1/health", service: true },
];

function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

async function waitForPort(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(`http://127.0.0.1:${PORT}/`);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error("server did not start");
}

async function main(): Promise<void> {
  execFileSync("npm", ["run", "-s", "build:service"], { stdio: "inherit" });
  console.log("| server | requests/s | server CPU per request (us) |\n|---|---:|---:|");
  for (const s of SERVERS) {
    const dataDir = mkdtempSync(path.join(tmpdir(), "http-floor-"));
    const child = s.service
      ? spawn(process.execPath, [".cache/service/main.js"], {
          env: { ...process.env, PORT: String(PORT), LEDGER_DATA_DIR: dataDir, LEDGER_CHAIN: "off", LOG_LEVEL: "warn", LEDGER_RATE_PUBLIC_PER_MINUTE: "100000000" },
          stdio: "ignore",
        })
      : spawn(process.execPath, ["-e", s.code!], { stdio: "ignore" });
    try {
      await waitForPort();
      const before = cpuSeconds(child.pid!);
      const r = await autocannon({ url: `http://127.0.0.1:${PORT}${s.path}`, connections: opts.connections, amount: opts.requests });
      if (r.non2xx > 0 || r.errors > 0) throw new Error(`${s.name}: ${r.non2xx} non-2xx, ${r.errors} errors`);
      const us = ((cpuSeconds(child.pid!) - before) / r.requests.total) * 1e6;
      console.log(`| ${s.name} | ${r.requests.average.toFixed(0)} | ${us.toFixed(0)} |`);
    } finally {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
