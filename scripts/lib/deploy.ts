/**
 * Deploys LedgerAnchor, grants its roles and records the deployment as JSON. Used by
 * scripts/deploy.ts (`npm run deploy -- --network <name>`) and by test/deploy.test.ts.
 *
 * Configuration comes from the environment and is validated in full before anything is sent:
 *
 *   LEDGER_RECORDERS    comma-separated addresses to grant RECORDER_ROLE (may anchor); optional
 *   LEDGER_PAUSERS      comma-separated addresses to grant PAUSER_ROLE (may pause); optional
 *   LEDGER_ADMIN        the default admin; optional, defaults to the deployer
 *   LEDGER_ADMIN_DELAY  seconds an admin transfer must wait before it can be accepted;
 *                       optional, default 172800 (2 days), at most 7776000 (90 days)
 *   DEPLOYMENTS_DIR     where <network>.json is written; optional, default "deployments"
 *   LEDGER_DEPLOY_OVERWRITE  "1" to replace an existing <network>.json; otherwise refused
 *
 * The contract is deployed with the deployer as its admin so that the deployer can grant the
 * roles. When LEDGER_ADMIN names someone else, the deployer then starts the two-step admin
 * transfer: the new admin must call acceptDefaultAdminTransfer() once the delay has passed, and
 * until then the deployer stays admin. The JSON records that pending transfer and its schedule.
 */
import { mkdir, rename, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { getAddress, isAddress, ZeroAddress } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";

/** Default admin-transfer delay: long enough to notice and cancel a hijacked transfer. */
export const DEFAULT_ADMIN_DELAY_SECONDS = 2 * 24 * 60 * 60;
/** Upper bound on the delay, to catch a value given in milliseconds that would lock the admin for years. */
export const MAX_ADMIN_DELAY_SECONDS = 90 * 24 * 60 * 60;
/** Version tag of the deployment JSON. */
export const DEPLOYMENT_FORMAT_VERSION = 1;

/** Bad deployment configuration: the operator's fault, reported as one clear line. */
export class DeployConfigError extends Error {
  override readonly name = "DeployConfigError";
}

export interface DeployConfig {
  /** The admin the contract should end up with (the deployer, or a pending transfer to this account). */
  readonly admin: string;
  readonly adminDelaySeconds: number;
  readonly recorders: readonly string[];
  readonly pausers: readonly string[];
  readonly deploymentsDir: string;
  readonly overwrite: boolean;
}

export interface RoleRecord {
  /** The role identifier, keccak256 of its name. */
  readonly role: string;
  readonly accounts: readonly string[];
  /** Hashes of the grantRole transactions, one per account, in order. */
  readonly grantTxHashes: readonly string[];
}

export interface DeploymentRecord {
  readonly version: typeof DEPLOYMENT_FORMAT_VERSION;
  readonly contract: "LedgerAnchor";
  readonly network: string;
  readonly chainId: number;
  readonly address: string;
  readonly block: number;
  readonly txHash: string;
  readonly deployer: string;
  readonly admin: {
    /** The default admin now. */
    readonly current: string;
    /** The account a transfer was started to, or null. */
    readonly pending: string | null;
    /** Unix time (s) from which `pending` can accept, or null. */
    readonly acceptAfter: number | null;
    readonly delaySeconds: number;
  };
  readonly roles: {
    readonly RECORDER_ROLE: RoleRecord;
    readonly PAUSER_ROLE: RoleRecord;
  };
}

function parseAddress(raw: string, variable: string): string {
  const value = raw.trim();
  // isAddress also rejects a mixed-case address whose EIP-55 checksum is wrong (a typo).
  if (!isAddress(value)) throw new DeployConfigError(`${variable}: "${value}" is not a valid address`);
  const address = getAddress(value);
  if (address === ZeroAddress) throw new DeployConfigError(`${variable}: the zero address cannot hold a role`);
  return address;
}

function parseAddressList(raw: string | undefined, variable: string): string[] {
  if (raw === undefined || raw.trim() === "") return [];
  const out: string[] = [];
  for (const [i, part] of raw.split(",").entries()) {
    if (part.trim() === "") throw new DeployConfigError(`${variable}: entry ${i + 1} is empty`);
    const address = parseAddress(part, variable);
    if (out.includes(address)) throw new DeployConfigError(`${variable}: ${address} is listed twice`);
    out.push(address);
  }
  return out;
}

function parseDelay(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === "") return DEFAULT_ADMIN_DELAY_SECONDS;
  const value = raw.trim();
  if (!/^\d+$/.test(value)) throw new DeployConfigError(`LEDGER_ADMIN_DELAY: "${value}" is not a whole number of seconds`);
  const seconds = Number(value);
  if (seconds > MAX_ADMIN_DELAY_SECONDS)
    throw new DeployConfigError(
      `LEDGER_ADMIN_DELAY: ${value} s exceeds the ${MAX_ADMIN_DELAY_SECONDS} s (90 days) limit; is it in milliseconds?`,
    );
  return seconds;
}

/**
 * Reads and validates the deployment configuration. Throws DeployConfigError naming the
 * offending variable; never returns a partly valid configuration.
 */
export function parseDeployEnv(env: NodeJS.ProcessEnv, deployer: string): DeployConfig {
  const admin = env.LEDGER_ADMIN?.trim() ? parseAddress(env.LEDGER_ADMIN, "LEDGER_ADMIN") : getAddress(deployer);
  const dir = env.DEPLOYMENTS_DIR?.trim();
  return {
    admin,
    adminDelaySeconds: parseDelay(env.LEDGER_ADMIN_DELAY),
    recorders: parseAddressList(env.LEDGER_RECORDERS, "LEDGER_RECORDERS"),
    pausers: parseAddressList(env.LEDGER_PAUSERS, "LEDGER_PAUSERS"),
    deploymentsDir: dir ? dir : "deployments",
    overwrite: env.LEDGER_DEPLOY_OVERWRITE === "1",
  };
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

/** Where the deployment record of `network` goes. */
export function deploymentFile(config: DeployConfig, network: string): string {
  return path.resolve(config.deploymentsDir, `${network}.json`);
}

/**
 * Deploys and configures LedgerAnchor on `hre`'s network with its first signer, checks the
 * resulting on-chain state against the configuration, and returns the record (not yet written).
 */
export async function deployLedgerAnchor(hre: HardhatRuntimeEnvironment, config: DeployConfig): Promise<DeploymentRecord> {
  const { ethers } = hre;
  const [signer] = await ethers.getSigners();
  if (signer === undefined) throw new DeployConfigError(`network "${hre.network.name}" has no account to deploy from`);
  const deployer = getAddress(signer.address);

  const anchor = await ethers.deployContract("LedgerAnchor", [config.adminDelaySeconds, deployer], signer);
  const deployTx = anchor.deploymentTransaction();
  if (deployTx === null) throw new Error("the deployment transaction is missing");
  const deployReceipt = await deployTx.wait();
  if (deployReceipt === null || deployReceipt.status !== 1) throw new Error(`deployment transaction ${deployTx.hash} failed`);
  const address = await anchor.getAddress();

  const grant = async (role: string, accounts: readonly string[]): Promise<RoleRecord> => {
    const grantTxHashes: string[] = [];
    for (const account of accounts) {
      const receipt = await (await anchor.grantRole(role, account)).wait();
      if (receipt === null || receipt.status !== 1) throw new Error(`granting ${role} to ${account} failed`);
      grantTxHashes.push(receipt.hash);
    }
    return { role, accounts: [...accounts], grantTxHashes };
  };
  const recorderRole = await anchor.RECORDER_ROLE();
  const pauserRole = await anchor.PAUSER_ROLE();
  const recorders = await grant(recorderRole, config.recorders);
  const pausers = await grant(pauserRole, config.pausers);

  let pending: string | null = null;
  let acceptAfter: number | null = null;
  if (config.admin !== deployer) {
    const receipt = await (await anchor.beginDefaultAdminTransfer(config.admin)).wait();
    if (receipt === null || receipt.status !== 1) throw new Error(`starting the admin transfer to ${config.admin} failed`);
    const [newAdmin, schedule] = await anchor.pendingDefaultAdmin();
    pending = getAddress(newAdmin);
    acceptAfter = Number(schedule);
  }

  // Check the result against the configuration, so a half-configured contract fails loudly.
  const problems: string[] = [];
  for (const [role, accounts] of [
    [recorderRole, config.recorders],
    [pauserRole, config.pausers],
  ] as const)
    for (const account of accounts) if (!(await anchor.hasRole(role, account))) problems.push(`${account} lacks role ${role}`);
  if (getAddress(await anchor.defaultAdmin()) !== deployer) problems.push("the deployer is not the default admin");
  if (Number(await anchor.defaultAdminDelay()) !== config.adminDelaySeconds) problems.push("the admin delay differs");
  if (config.admin !== deployer && pending !== config.admin) problems.push(`no pending admin transfer to ${config.admin}`);
  if (problems.length > 0) throw new Error(`deployed contract ${address} is misconfigured: ${problems.join("; ")}`);

  const { chainId } = await ethers.provider.getNetwork();
  return {
    version: DEPLOYMENT_FORMAT_VERSION,
    contract: "LedgerAnchor",
    network: hre.network.name,
    chainId: Number(chainId),
    address,
    block: deployReceipt.blockNumber,
    txHash: deployReceipt.hash,
    deployer,
    admin: { current: deployer, pending, acceptAfter, delaySeconds: config.adminDelaySeconds },
    roles: { RECORDER_ROLE: recorders, PAUSER_ROLE: pausers },
  };
}

/** Writes the record to `file` (via a temporary file and a rename, so it is never half written). */
export async function writeDeployment(file: string, record: DeploymentRecord): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(record, null, 2)}\n`, "utf8");
  await rename(tmp, file);
}

/**
 * The whole deployment: validate `env`, refuse to clobber an earlier record unless told to,
 * deploy, write `<DEPLOYMENTS_DIR>/<network>.json`. Returns the record and the file written.
 */
export async function runDeploy(
  hre: HardhatRuntimeEnvironment,
  env: NodeJS.ProcessEnv,
): Promise<{ record: DeploymentRecord; file: string }> {
  const [signer] = await hre.ethers.getSigners();
  if (signer === undefined) throw new DeployConfigError(`network "${hre.network.name}" has no account to deploy from`);
  const config = parseDeployEnv(env, signer.address);
  const file = deploymentFile(config, hre.network.name);
  if (!config.overwrite && (await exists(file)))
    throw new DeployConfigError(`${file} already exists; move it away or set LEDGER_DEPLOY_OVERWRITE=1 to replace it`);
  const record = await deployLedgerAnchor(hre, config);
  await writeDeployment(file, record);
  return { record, file };
}
