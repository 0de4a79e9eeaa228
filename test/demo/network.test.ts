/**
 * `npm run demo -- --witnesses 3 --mirror` (service/demo/network.ts and the
 * command line in service/main.ts): the demo history, three local witnesses
 * with a quorum of two and a verified mirror; the service publishes the
 * demo's checkpoint with two or more cosignatures, the mirror copies it and
 * serves the same note; one witness stopped, publishing goes on. A restart
 * keeps the witnesses' keys, so the policy stays the same.
 */
import { expect } from "chai";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { loadChainConfig } from "../../service/chain";
import { loadConfig } from "../../service/config";
import { loadDemoIntoDataDir } from "../../service/demo";
import { startDemoNetwork, type DemoNetwork, type RunningDemoMirror } from "../../service/demo/network";
import { checkCosignedCheckpoint } from "../../service/format";
import { parseVerifierKey, verifyCheckpoint } from "../../service/log";
import { loadOrCreateLogKey } from "../../service/keys";
import { parseArguments, startService, type RunningService } from "../../service/main";
import { recordProgramme, until as untilFor } from "../helpers/service-http";

const silent = pino({ level: "silent" });

/** The demo starts several servers: wait longer than the helper's default. */
const until = <T>(what: string, f: () => Promise<T | undefined>): Promise<T> => untilFor(what, f, 90_000);

describe("the demo with witnesses and a mirror", function () {
  describe("on the command line", function () {
    const run = (argv: string[]) => {
      let err = "";
      const r = parseArguments(argv, () => undefined, (s) => (err += s));
      return { r, err };
    };

    it("takes --witnesses n and --mirror with --demo", function () {
      expect(run(["--demo", "--witnesses", "3", "--mirror"]).r).to.deep.equal({ run: true, demo: true, network: { witnesses: 3, mirror: true } });
      expect(run(["--demo", "--witnesses", "1"]).r).to.deep.equal({ run: true, demo: true, network: { witnesses: 1, mirror: false } });
      expect(run(["--demo"]).r).to.deep.equal({ run: true, demo: true });
    });

    for (const [argv, said] of [
      [["--witnesses", "3"], "go with --demo"],
      [["--demo", "--mirror"], "--mirror goes with --witnesses"],
      [["--demo", "--witnesses", "0"], "a number from 1 to 9"],
      [["--demo", "--witnesses", "three"], "a number from 1 to 9"],
      [["--demo", "--witnesses", "10"], "a number from 1 to 9"],
    ] as const)
      it(`refuses ${argv.join(" ")} with exit 2 and one line`, function () {
        const { r, err } = run([...argv]);
        expect(r).to.deep.equal({ run: false, exitCode: 2 });
        expect(err.trim().split("\n")).to.have.length(1);
        expect(err).to.contain(said);
      });
  });

  describe("its start-up lines", function () {
    let dir: string;
    let network: DemoNetwork | undefined;
    before(async function () {
      dir = await mkdtemp(path.join(tmpdir(), "ledger-demo-lines-"));
      const key = await loadOrCreateLogKey(path.join(dir, "log.key"), "demo.example/log");
      network = await startDemoNetwork({ dataDir: dir, origin: "demo.example/log", logVerifierKey: key.verifierKey, witnesses: 3, logger: silent });
    });
    after(async function () {
      await network?.close();
      await rm(dir, { recursive: true, force: true });
    });

    it("give an audit of the mirror and a receipt check that both verify the cosignatures against the demo's policy", function () {
      const mirror: RunningDemoMirror = {
        url: "http://127.0.0.1:9",
        dir: path.join(dir, "mirror"),
        last: () => ({ result: null, error: null }),
        syncNow: () => Promise.reject(new Error("not started")),
        close: () => Promise.resolve(),
      };
      const lines = network!.lines(mirror, { rpcUrl: "http://127.0.0.1:8545", contract: "0x5FbDB2315678afecb367f032d93F642f64180aa3" });
      const audit = lines.find((l) => l.includes("npm run verify -- --tlog"));
      expect(audit).to.contain(`--witness-policy ${network!.policyFile}`);
      const receipt = lines.find((l) => l.includes("npm run verify -- --receipt"));
      expect(receipt).to.contain(`--witness-policy ${network!.policyFile}`).and.not.contain("--rpc");
    });
  });

  describe("running", function () {
    this.timeout(240_000);
    let dir: string;
    let service: RunningService | undefined;
    let network: DemoNetwork | undefined;
    let mirror: RunningDemoMirror | undefined;
    let umask: number | undefined;
    before(async function () {
      // As main does (makeCreatedFilesPrivate), but only for this suite: the umask is the whole mocha process's.
      umask = process.umask(0o077);
      dir = await mkdtemp(path.join(tmpdir(), "ledger-demo-net-"));
    });
    after(async function () {
      await mirror?.close();
      await service?.close();
      await network?.close();
      await rm(dir, { recursive: true, force: true });
      if (umask !== undefined) process.umask(umask);
    });

    it("publishes the demo's checkpoint cosigned by at least two of three witnesses, and the mirror serves the same note; with one witness stopped publishing goes on", async function () {
      const env = { PORT: "0", HOST: "127.0.0.1", LEDGER_DATA_DIR: path.join(dir, "data"), LOG_LEVEL: "silent" };
      const config = loadConfig(env);
      const demo = await loadDemoIntoDataDir(config.dataDir);
      const key = await loadOrCreateLogKey(config.logKeyFile, config.origin);
      network = await startDemoNetwork({ dataDir: config.dataDir, origin: config.origin, logVerifierKey: key.verifierKey, witnesses: 3, logger: silent });
      expect(network.quorum).to.equal(2);
      expect((await stat(path.join(network.dir, "w1.key"))).mode & 0o777).to.equal(0o600);
      service = await startService(config, silent, {
        chain: loadChainConfig(env, config.dataDir),
        witnessPolicy: network.policy,
        witnessing: { everyMs: 100, backoffMinMs: 100, backoffMaxMs: 500, timeoutMs: 5000 },
      });
      mirror = await network.startMirror(service.url, 200);
      const verifier = parseVerifierKey(key.verifierKey);

      const published = async () => {
        const r = await fetch(`${service!.url}/tlog/checkpoint`);
        if (r.status !== 200) return undefined;
        const note = await r.text();
        return verifyCheckpoint(note, verifier, config.origin).size === demo.size ? note : undefined;
      };
      const note = await until("the demo's checkpoint published", published);
      const check = checkCosignedCheckpoint(note, network.policy);
      expect(check.satisfied).to.equal(true);
      expect(check.vouched.length).to.be.at.least(2);

      const mirrored = await until("the mirror at the demo's size", async () => {
        if (mirror!.last().result?.size !== demo.size) return undefined;
        const r = await fetch(`${mirror!.url}/tlog/checkpoint`);
        return r.status === 200 ? r.text() : undefined;
      });
      expect(mirrored).to.equal(note);
      const status = (await (await fetch(`${mirror.url}/mirror/status`)).json()) as { size: number; lastError: string | null };
      expect(status).to.deep.include({ size: demo.size, lastError: null });

      const lines = network.lines(mirror, { rpcUrl: "http://127.0.0.1:8545", contract: service.chain!.client.address });
      expect(lines.join("\n")).to.contain("quorum 2 of 3").and.contain(`${mirror.url}/tlog/checkpoint`).and.contain(`npm run verify -- --tlog ${mirror.url}/tlog`);

      // One witness stopped: the next checkpoint is still published and mirrored.
      await network.witnesses[0]!.running.close();
      expect((await recordProgramme(service.url, service.firstAdminToken!, "DEMO-EXTRA")).status).to.equal(201);
      const next = await until("the next checkpoint published with w1 stopped", async () => {
        const r = await fetch(`${service!.url}/tlog/checkpoint`);
        const n = r.status === 200 ? await r.text() : undefined;
        return n !== undefined && verifyCheckpoint(n, verifier, config.origin).size === demo.size + 1 ? n : undefined;
      });
      expect(checkCosignedCheckpoint(next, network.policy).vouched).to.deep.equal(["w2", "w3"]);
      await until("the mirror following", async () => (mirror!.last().result?.size === demo.size + 1 ? true : undefined));
    });
  });
});
