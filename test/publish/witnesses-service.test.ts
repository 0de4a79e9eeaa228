/**
 * The running service with LEDGER_WITNESS_POLICY_FILE: three real witnesses
 * on loopback, quorum two, the default local anvil. /tlog/checkpoint serves
 * the anchored checkpoint once two witnesses cosigned it; with one witness
 * stopped publishing goes on; with two stopped the last cosigned checkpoint
 * stays published and /v1/health says why; receipts cite the published
 * checkpoint with its cosignatures and verify offline against the policy.
 * Also, as a process: a bad policy file stops the service with exit 2 and one
 * line, and without a policy the banner says no witnesses are configured.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import pino from "pino";
import { loadChainConfig } from "../../service/chain";
import { loadConfig } from "../../service/config";
import { checkCosignedCheckpoint, parseWitnessPolicy } from "../../service/format";
import { noteKeyFromSeed, parseSignerKey, parseVerifierKey, verifyCheckpoint, type Receipt } from "../../service/log";
import { loadOrCreateLogKey } from "../../service/keys";
import { startService, type RunningService } from "../../service/main";
import type { WitnessingStatus } from "../../service/publish/witnesses";
import { startWitness, type RunningWitness } from "../../service/witness/server";
import { checkReceipt } from "../../scripts/lib/audit";
import { serviceBundle } from "../chain/service-process";
import { recordProgramme, until } from "../helpers/service-http";

const silent = pino({ level: "silent" });
const ORIGIN = "witnessed.example.gov/log";

describe("the running service with three witnesses, quorum two", function () {
  this.timeout(180_000);
  let dir: string;
  let service: RunningService | undefined;
  const witnesses: RunningWitness[] = [];
  before(async function () {
    dir = await mkdtemp(path.join(tmpdir(), "ledger-witnessed-"));
  });
  after(async function () {
    await service?.close();
    await Promise.all(witnesses.map((w) => w.close().catch(() => undefined)));
    await rm(dir, { recursive: true, force: true });
  });

  let programmes = 0;
  /** What the first test leaves for the restart test. */
  let started: { env: { LEDGER_DATA_DIR: string } & Record<string, string>; policy: ReturnType<typeof parseWitnessPolicy>; firstId: string; note2: string } | undefined;
  async function addEntry(): Promise<string> {
    programmes++;
    const res = await recordProgramme(service!.url, service!.firstAdminToken!, `P${programmes}`);
    expect(res.status).to.equal(201);
    return ((await res.json()) as { id: string }).id;
  }
  const published = async () => {
    const r = await fetch(`${service!.url}/tlog/checkpoint`);
    return r.status === 200 ? r.text() : undefined;
  };
  const health = async () => {
    const r = await fetch(`${service!.url}/v1/health`);
    return { status: r.status, body: (await r.json()) as { ok: boolean; witnesses?: WitnessingStatus } };
  };

  it("publishes cosigned checkpoints, goes on with one witness stopped, waits with two stopped and says why in /v1/health", async function () {
    // The log key first, outside the data directory, so the witnesses can be told it.
    const keyDir = await mkdtemp(path.join(tmpdir(), "ledger-witnessed-key-"));
    const logKeyFile = path.join(keyDir, "log.key");
    const logKey = await loadOrCreateLogKey(logKeyFile, ORIGIN);
    for (const i of [1, 2, 3])
      witnesses.push(
        await startWitness({
          signer: parseSignerKey(noteKeyFromSeed(`w${i}.example.org`, new Uint8Array(32).fill(80 + i)).signerKey),
          logs: new Map([[ORIGIN, [parseVerifierKey(logKey.verifierKey)]]]),
          stateDir: await mkdtemp(path.join(tmpdir(), `ledger-witness-${i}-`)),
          host: "127.0.0.1",
          port: 0,
          logger: silent,
        }),
      );
    const policyText =
      witnesses.map((w, i) => `witness w${i + 1} ${w.witness.cosignerKey} http://127.0.0.1:${w.port}\n`).join("") + "group two-of-three 2 w1 w2 w3\nquorum two-of-three\n";
    const policyFile = path.join(keyDir, "witnesses.policy");
    await writeFile(policyFile, policyText);
    const policy = parseWitnessPolicy(policyText);

    const dataDir = path.join(dir, "data");
    const env = {
      PORT: "0",
      LEDGER_DATA_DIR: dataDir,
      LOG_LEVEL: "silent",
      LEDGER_ORIGIN: ORIGIN,
      LEDGER_LOG_KEY_FILE: logKeyFile,
      LEDGER_ANCHOR_EVERY_MS: "200",
      LEDGER_WITNESS_POLICY_FILE: policyFile,
    };
    const config = loadConfig(env);
    service = await startService(config, silent, {
      chain: loadChainConfig(env, config.dataDir),
      witnessing: { everyMs: 100, backoffMinMs: 100, backoffMaxMs: 500, timeoutMs: 3000 },
    });
    const logVerifier = parseVerifierKey(service.verifierKey);

    // Cosigned and published.
    const first = await addEntry();
    const note1 = await until("the first checkpoint published", published);
    expect(verifyCheckpoint(note1, logVerifier, ORIGIN).size).to.equal(1);
    expect(checkCosignedCheckpoint(note1, policy).satisfied).to.equal(true);
    expect(note1.startsWith(service.chain!.anchorer.anchored!.signedCheckpoint)).to.equal(true);
    const h1 = await until("every witness at size 1", async () => {
      const h = await health();
      return h.body.witnesses!.witnesses.every((w) => w.lastCosignedSize === 1) ? h : undefined;
    });
    expect(h1.status).to.equal(200);
    expect(h1.body.witnesses!.waiting).to.equal(null);
    expect(h1.body.witnesses!.witnesses.map((w) => w.lagEntries)).to.deep.equal([0, 0, 0]);

    // A receipt cites it, with the cosignatures, and verifies offline with no chain.
    const receipt = (await (await fetch(`${service.url}/v1/entries/${first}/receipt`)).json()) as Receipt;
    expect(receipt.checkpoint).to.equal(note1);
    const report = await checkReceipt(receipt, { verifiers: [logVerifier], chain: null, policy });
    expect(report.verdict).to.equal("verified-by-witnesses");

    // One witness stopped: publishing goes on.
    await witnesses[2]!.close();
    await addEntry();
    const note2 = await until("size 2 published with w3 stopped", async () => {
      const n = await published();
      return n !== undefined && verifyCheckpoint(n, logVerifier, ORIGIN).size === 2 ? n : undefined;
    });
    expect(checkCosignedCheckpoint(note2, policy).vouched).to.deep.equal(["w1", "w2"]);

    // Two stopped: the anchored checkpoint waits, the last cosigned one stays published, health says why.
    await witnesses[1]!.close();
    await addEntry();
    const h3 = await until("health saying publishing is blocked", async () => {
      const h = await health();
      return h.body.witnesses?.blocked === true && h.body.witnesses.anchoredSize === 3 ? h : undefined;
    });
    expect(h3.status).to.equal(503);
    expect(h3.body.ok).to.equal(false);
    expect(h3.body.witnesses!.publishedSize).to.equal(2);
    expect(h3.body.witnesses!.waiting).to.match(/size 3 lacks the witness quorum "two-of-three"/).and.to.contain("w2 UNREACHABLE").and.to.contain("w3 UNREACHABLE");
    expect(h3.body.witnesses!.witnesses.find((w) => w.name === "w2")).to.deep.include({ lastCosignedSize: 2, lagEntries: 1 });
    expect(await published()).to.equal(note2);
    started = { env, policy, firstId: first, note2 };
  });

  it("after a restart with every witness stopped, serves the saved cosigned checkpoint at once, and receipts keep their cosignatures", async function () {
    const { env, policy, firstId, note2 } = started!;
    await witnesses[0]!.close();
    await service!.close();
    service = undefined;
    const saved = path.join(env.LEDGER_DATA_DIR, "witnesses", "cosigned-checkpoint.json");
    expect((await stat(saved)).mode & 0o777).to.equal(0o600);

    const config = loadConfig(env);
    service = await startService(config, silent, {
      chain: loadChainConfig(env, config.dataDir),
      witnessing: { everyMs: 100, backoffMinMs: 100, backoffMaxMs: 500, timeoutMs: 3000 },
    });
    // No witness can answer: what is served is the saved checkpoint, checked against the policy at start.
    expect(await until("the saved checkpoint published", published, 30_000)).to.equal(note2);
    const receipt = (await (await fetch(`${service.url}/v1/entries/${firstId}/receipt`)).json()) as Receipt;
    expect(receipt.checkpoint).to.equal(note2);
    const report = await checkReceipt(receipt, { verifiers: [parseVerifierKey(service.verifierKey)], chain: null, policy });
    expect(report.verdict).to.equal("verified-by-witnesses");
    const h = await health();
    expect(h.body.witnesses!.publishedSize).to.equal(2);
    expect(h.body.witnesses!.witnesses.filter((w) => w.lastCosignedSize === 2).map((w) => w.name)).to.deep.equal(["w1", "w2"]);
  });
});

describe("the service process and LEDGER_WITNESS_POLICY_FILE", function () {
  this.timeout(120_000);
  let dir: string;
  before(async function () {
    dir = await mkdtemp(path.join(tmpdir(), "ledger-policy-proc-"));
  });
  after(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  function runService(env: Record<string, string>, untilText?: RegExp): Promise<{ code: number | null; out: string; err: string }> {
    return serviceBundle().then(
      (bundle) =>
        new Promise((resolve) => {
          const child = spawn(process.execPath, [bundle], {
            env: { PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ""}`, HOME: process.env.HOME ?? tmpdir(), ...env },
            stdio: ["ignore", "pipe", "pipe"],
          });
          let out = "";
          let err = "";
          child.stdout.on("data", (b: Buffer) => {
            out += b.toString();
            if (untilText !== undefined && untilText.test(out)) child.kill("SIGTERM");
          });
          child.stderr.on("data", (b: Buffer) => (err += b.toString()));
          child.once("exit", (code) => resolve({ code, out, err }));
        }),
    );
  }

  it("refuses a bad policy file with exit 2 and one line naming it, before creating the data directory", async function () {
    const file = path.join(dir, "bad.policy");
    await writeFile(file, "witness w1 not-a-key http://127.0.0.1:7001\nquorum w1\n");
    const dataDir = path.join(dir, "data-bad");
    const r = await runService({ PORT: "0", LEDGER_DATA_DIR: dataDir, LEDGER_CHAIN: "off", LEDGER_WITNESS_POLICY_FILE: file });
    expect(r.code).to.equal(2);
    expect(r.err.trim().split("\n")).to.have.length(1);
    expect(existsSync(dataDir)).to.equal(false);
    expect(r.err).to.match(new RegExp(`^subsidy-ledger: witness policy ${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: line 1: `));
  });

  it("without a policy, says at start-up that no witnesses are configured", async function () {
    const r = await runService({ PORT: "0", LEDGER_DATA_DIR: path.join(dir, "data-none"), LEDGER_CHAIN: "off" }, /witnesses: +no witnesses configured/);
    expect(r.out).to.match(/witnesses: +no witnesses configured/);
    expect(r.out).to.contain('"msg":"no witnesses configured');
  });
});
