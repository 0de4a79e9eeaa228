/**
 * scripts/lib/deploy.ts against the in-process network, and scripts/deploy.ts as the operator
 * runs it: configuration is validated before any transaction, the roles and the admin transfer
 * end up on chain, and deployments/<network>.json says what happened.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { takeSnapshot, time, type SnapshotRestorer } from "@nomicfoundation/hardhat-network-helpers";
import {
  DEFAULT_ADMIN_DELAY_SECONDS,
  DeployConfigError,
  parseDeployEnv,
  runDeploy,
  type DeploymentRecord,
} from "../scripts/lib/deploy";

const ROOT = path.resolve(__dirname, "..");

async function accounts(): Promise<string[]> {
  const signers = await ethers.getSigners();
  if (signers.length < 6) throw new Error("the test network needs 6 accounts");
  return signers.map((s) => s.address);
}

/** Runs `fn` and returns the DeployConfigError it must throw. */
async function configError(fn: () => unknown): Promise<DeployConfigError> {
  try {
    await fn();
  } catch (error) {
    if (error instanceof DeployConfigError) return error;
    throw error;
  }
  throw new Error("expected a DeployConfigError, got none");
}

describe("deploy", function () {
  let dir: string;
  let chain: SnapshotRestorer;

  // Each test gets a temporary deployments directory, and the chain (blocks, nonces, time) is
  // put back afterwards so these deployments do not leak into other test files.
  beforeEach(async function () {
    dir = await mkdtemp(path.join(os.tmpdir(), "ledger-deploy-"));
    chain = await takeSnapshot();
  });

  afterEach(async function () {
    await chain.restore();
    await rm(dir, { recursive: true, force: true });
  });

  describe("parseDeployEnv", function () {
    const deployer = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
    const a = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    const b = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
    /** `a` with one letter's case changed: a valid-looking address whose EIP-55 checksum fails. */
    const TYPO = a.replace("C51812dc", "c51812dc");

    it("defaults to the deployer as admin, a 2-day delay, no roles and the deployments directory", function () {
      expect(parseDeployEnv({}, deployer)).to.deep.equal({
        admin: deployer,
        adminDelaySeconds: DEFAULT_ADMIN_DELAY_SECONDS,
        recorders: [],
        pausers: [],
        deploymentsDir: "deployments",
        overwrite: false,
      });
      expect(DEFAULT_ADMIN_DELAY_SECONDS).to.equal(172_800);
    });

    it("reads comma-separated lists, trims spaces and checksums lowercase addresses", function () {
      const config = parseDeployEnv(
        { LEDGER_RECORDERS: ` ${a.toLowerCase()} , ${b}`, LEDGER_PAUSERS: b, LEDGER_ADMIN: a, LEDGER_ADMIN_DELAY: "0", DEPLOYMENTS_DIR: dir },
        deployer,
      );
      expect(config).to.deep.include({ admin: a, adminDelaySeconds: 0, recorders: [a, b], pausers: [b], deploymentsDir: dir });
    });

    describe("when a value is bad", function () {
      const cases: [string, NodeJS.ProcessEnv, string][] = [
        ["not an address", { LEDGER_RECORDERS: "0x1234" }, 'LEDGER_RECORDERS: "0x1234" is not a valid address'],
        ["a checksum typo", { LEDGER_PAUSERS: TYPO }, `LEDGER_PAUSERS: "${TYPO}" is not a valid address`],
        ["the zero address", { LEDGER_RECORDERS: ethers.ZeroAddress }, "LEDGER_RECORDERS: the zero address cannot hold a role"],
        ["an empty list entry", { LEDGER_RECORDERS: `${a},,${b}` }, "LEDGER_RECORDERS: entry 2 is empty"],
        ["a trailing comma", { LEDGER_PAUSERS: `${a},` }, "LEDGER_PAUSERS: entry 2 is empty"],
        ["a duplicate", { LEDGER_RECORDERS: `${a},${a.toLowerCase()}` }, `LEDGER_RECORDERS: ${a} is listed twice`],
        ["a bad admin", { LEDGER_ADMIN: "admin" }, 'LEDGER_ADMIN: "admin" is not a valid address'],
        ["a fractional delay", { LEDGER_ADMIN_DELAY: "1.5" }, 'LEDGER_ADMIN_DELAY: "1.5" is not a whole number of seconds'],
        ["a negative delay", { LEDGER_ADMIN_DELAY: "-1" }, 'LEDGER_ADMIN_DELAY: "-1" is not a whole number of seconds'],
        ["a delay in milliseconds", { LEDGER_ADMIN_DELAY: "172800000" }, "LEDGER_ADMIN_DELAY: 172800000 s exceeds"],
      ];
      for (const [desc, env, message] of cases)
        it(`throws a DeployConfigError naming the variable for ${desc}`, async function () {
          const error = await configError(() => parseDeployEnv(env, deployer));
          expect(error.message).to.include(message);
        });
    });
  });

  describe("runDeploy", function () {
    it("deploys, grants the roles, and writes a record that matches the chain", async function () {
      const [deployer, r1, r2, p1] = await accounts();
      const { record, file } = await runDeploy(hre, {
        DEPLOYMENTS_DIR: dir,
        LEDGER_RECORDERS: `${r1},${r2}`,
        LEDGER_PAUSERS: p1,
        LEDGER_ADMIN_DELAY: "3600",
      });
      expect(file).to.equal(path.join(dir, "hardhat.json"));
      const written = JSON.parse(await readFile(file, "utf8")) as DeploymentRecord;
      expect(written).to.deep.equal(record);

      const anchor = await ethers.getContractAt("LedgerAnchor", record.address);
      const tx = await ethers.provider.getTransactionReceipt(record.txHash);
      expect(tx?.contractAddress).to.equal(record.address);
      expect(tx?.blockNumber).to.equal(record.block);
      expect(record).to.deep.include({ version: 1, contract: "LedgerAnchor", network: "hardhat", chainId: 31337, deployer });
      expect(record.admin).to.deep.equal({ current: deployer, pending: null, acceptAfter: null, delaySeconds: 3600 });
      expect(record.roles.RECORDER_ROLE).to.deep.include({ role: ethers.id("RECORDER_ROLE"), accounts: [r1, r2] });
      expect(record.roles.PAUSER_ROLE).to.deep.include({ role: ethers.id("PAUSER_ROLE"), accounts: [p1] });
      expect(record.roles.RECORDER_ROLE.grantTxHashes).to.have.length(2);

      expect(await anchor.defaultAdmin()).to.equal(deployer);
      expect(await anchor.defaultAdminDelay()).to.equal(3600n);
      for (const account of [r1, r2]) expect(await anchor.hasRole(ethers.id("RECORDER_ROLE"), account!)).to.equal(true);
      expect(await anchor.hasRole(ethers.id("PAUSER_ROLE"), p1!)).to.equal(true);
      expect(await anchor.hasRole(ethers.id("RECORDER_ROLE"), p1!)).to.equal(false);
    });

    it("starts a two-step transfer to LEDGER_ADMIN, which can accept after the delay", async function () {
      const [deployer, , , , admin] = await accounts();
      const { record } = await runDeploy(hre, { DEPLOYMENTS_DIR: dir, LEDGER_ADMIN: admin!, LEDGER_ADMIN_DELAY: "600" });
      expect(record.admin.current).to.equal(deployer);
      expect(record.admin.pending).to.equal(admin);
      const anchor = await ethers.getContractAt("LedgerAnchor", record.address);
      const [pending, schedule] = await anchor.pendingDefaultAdmin();
      expect([pending, Number(schedule)]).to.deep.equal([admin, record.admin.acceptAfter]);

      await time.increaseTo(record.admin.acceptAfter! + 1);
      await anchor.connect(await ethers.getSigner(admin!)).acceptDefaultAdminTransfer();
      expect(await anchor.defaultAdmin()).to.equal(admin);
    });

    it("refuses to overwrite an earlier record unless LEDGER_DEPLOY_OVERWRITE=1", async function () {
      const file = path.join(dir, "hardhat.json");
      await writeFile(file, '{"earlier":true}\n');
      const error = await configError(() => runDeploy(hre, { DEPLOYMENTS_DIR: dir }));
      expect(error.message).to.include("already exists");
      expect(await readFile(file, "utf8")).to.equal('{"earlier":true}\n');
      const { record } = await runDeploy(hre, { DEPLOYMENTS_DIR: dir, LEDGER_DEPLOY_OVERWRITE: "1" });
      expect((JSON.parse(await readFile(file, "utf8")) as DeploymentRecord).address).to.equal(record.address);
    });

    it("sends no transaction and writes nothing when the configuration is bad", async function () {
      const [deployer, r1] = await accounts();
      const nonce = await ethers.provider.getTransactionCount(deployer!);
      await configError(() => runDeploy(hre, { DEPLOYMENTS_DIR: dir, LEDGER_RECORDERS: `${r1},nope` }));
      expect(await ethers.provider.getTransactionCount(deployer!)).to.equal(nonce);
      const missing = await readFile(path.join(dir, "hardhat.json")).then(
        () => "exists",
        (error: NodeJS.ErrnoException) => error.code,
      );
      expect(missing).to.equal("ENOENT");
    });
  });

  describe("npm run deploy", function () {
    it("exits non-zero with one line naming the bad variable", function () {
      const result = spawnSync(process.execPath, [path.join(ROOT, "node_modules/hardhat/internal/cli/bootstrap.js"), "run", "--no-compile", "scripts/deploy.ts"], {
        cwd: ROOT,
        env: { ...process.env, DEPLOYMENTS_DIR: dir, LEDGER_RECORDERS: "0xnot-an-address" },
        encoding: "utf8",
        timeout: 60_000,
      });
      expect(result.status, result.stderr).to.equal(1);
      expect(result.stderr).to.include('deploy: LEDGER_RECORDERS: "0xnot-an-address" is not a valid address');
      expect(result.stderr).not.to.match(/\n\s+at /); // no stack trace
    });
  });
});
