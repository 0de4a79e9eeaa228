/**
 * The README's administrator walkthrough, run as written against a fresh
 * service with its default local chain: the shell block after the
 * `<!-- walkthrough -->` marker, with only its first line (the service URL
 * and the admin token npm start printed) replaced by this service's values.
 * A README whose walkthrough stops working fails here.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import pino from "pino";
import { loadChainConfig } from "../../service/chain";
import { loadConfig } from "../../service/config";
import { parseVerifierKey } from "../../service/log";
import { startService, type RunningService } from "../../service/main";
import { checkReceipt } from "../../scripts/lib/audit";

const README = path.join(__dirname, "..", "..", "README.md");
const MARKER = "<!-- walkthrough -->";
const FIRST_LINE = /^B=http:\/\/127\.0\.0\.1:8080; ADMIN=sl_… +#.*$/;

/** The walkthrough block of the README: the lines between the ```sh fence after the marker and its closing fence. */
export function walkthroughBlock(readme: string): string[] {
  const lines = readme.split("\n");
  const at = lines.indexOf(MARKER);
  if (at < 0) throw new Error(`README.md has no ${MARKER} line`);
  if (lines[at + 1] !== "```sh") throw new Error(`the line after ${MARKER} must open a sh block`);
  const end = lines.indexOf("```", at + 2);
  if (end < 0) throw new Error("the walkthrough block is not closed");
  return lines.slice(at + 2, end);
}

function bash(script: string, cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("bash", ["-euo", "pipefail", "-c", script], { cwd, timeout: 120_000, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr });
    });
  });
}

describe("the README's administrator walkthrough", function () {
  this.timeout(180_000);
  let dir: string;
  let service: RunningService | undefined;
  before(async function () {
    dir = await mkdtemp(path.join(tmpdir(), "ledger-walkthrough-"));
    const env = { PORT: "0", LEDGER_DATA_DIR: path.join(dir, "data"), LOG_LEVEL: "silent" };
    const config = loadConfig(env);
    service = await startService(config, pino({ level: "silent" }), { chain: loadChainConfig(env, config.dataDir) });
  });
  after(async function () {
    await service?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("runs as written on a fresh service: every record kind, the enterprise's receipt, an erasure and a delegation", async function () {
    const block = walkthroughBlock(await readFile(README, "utf8"));
    expect(block[0], "the walkthrough's first line sets B and ADMIN as npm start prints them").to.match(FIRST_LINE);
    const script = [`B=${service!.url}; ADMIN=${service!.firstAdminToken!}`, ...block.slice(1)].join("\n");
    const run = await bash(script, dir);
    expect(run.code, `the walkthrough failed:\n${run.stderr}\n${run.stdout}`).to.equal(0);

    // Its printed answers: the ids of the agency, confirmation, correction and erasure, then the enterprise's status.
    const out = run.stdout.trim().split("\n");
    expect(out[0]).to.match(/^agy_[0-9a-f]{24}$/);
    expect(out[1]).to.match(/^cnf_[0-9a-f]{24}$/);
    expect(out[2]).to.match(/^cor_[0-9a-f]{24}$/);
    expect(out[3]).to.equal('partially-paid {"applications":1,"requestedFen":"8000000","approvedFen":"6000000","paidFen":"5000000"}');
    expect(out[4]).to.match(/^era_[0-9a-f]{24}$/);
    // The second agency, its delegation, and the application its clerk recorded under it.
    expect(out[5]).to.match(/^agy_[0-9a-f]{24}$/);
    expect(out[6]).to.match(/^dlg_[0-9a-f]{24}$/);
    expect(out[7]).to.match(/^app_[0-9a-f]{24}$/);
    expect(out).to.have.length(8);

    // Every kind was recorded: two agencies, a programme, two applications, a decision, a payout,
    // a confirmation, a correction, an erasure and a delegation.
    expect(service!.ledger.size).to.equal(11);

    // The receipt it saved is the enterprise's, for the payout, with its private values, and verifies.
    const receipt = JSON.parse(await readFile(path.join(dir, "receipt.json"), "utf8")) as { entry: { id: string; kind: string }; openings?: unknown };
    expect(receipt.entry.kind).to.equal("payout");
    expect(receipt.openings, "the enterprise's receipt carries the payout's openings").to.not.equal(undefined);
    const report = await checkReceipt(receipt, { verifiers: [parseVerifierKey(service!.verifierKey)], chain: null });
    expect(report.ok, JSON.stringify(report.checks)).to.equal(true);
  });
});
