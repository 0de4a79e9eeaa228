/**
 * Generates the files of a 4-validator Hyperledger Besu QBFT network (see
 * scripts/chain/README.md; not run in CI: no Besu here):
 *
 *   npx ts-node --transpile-only scripts/chain/generate-qbft.ts \
 *     --out qbft-net --chain-id 20260 --hosts 10.0.0.1,10.0.0.2,10.0.0.3,10.0.0.4 \
 *     --deployer 0x… --recorder 0x… [--block-period 2] [--epoch 30000] [--request-timeout 10]
 *
 * writes into --out (which must not exist yet):
 *   genesis.json               the same on every node
 *   permissions_config.toml    the same on every node: the validators' enodes, the deployer and recorder
 *   validators.json            each validator's address and enode URL
 *   node-1 … node-4/key        that node's private key (0600): copy it to that machine only
 *   node-1 … node-4/config.toml
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { getAddress, Wallet } from "ethers";
import { enodeUrl, nodeConfig, permissionsConfig, qbftGenesis, validatorAddress, type QbftNetworkOptions } from "./qbft";

function fail(message: string): never {
  console.error(`generate-qbft: ${message}`);
  process.exit(2);
}

function positive(name: string, value: string | undefined, dflt: number): number {
  if (value === undefined) return dflt;
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(n) || n <= 0) fail(`--${name} must be a positive whole number`);
  return n;
}

function address(name: string, value: string | undefined): string {
  if (value === undefined || !/^0x[0-9a-fA-F]{40}$/.test(value)) fail(`--${name} must be an address (0x and 40 hex digits)`);
  return getAddress(value.toLowerCase());
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: "string" },
      "chain-id": { type: "string" },
      hosts: { type: "string" },
      deployer: { type: "string" },
      recorder: { type: "string" },
      "block-period": { type: "string" },
      epoch: { type: "string" },
      "request-timeout": { type: "string" },
    },
    strict: true,
  });
  if (values.out === undefined) fail("--out <directory> is required");
  if (values["chain-id"] === undefined) fail("--chain-id is required (pick one no public chain uses)");
  const hosts = (values.hosts ?? "").split(",").map((h) => h.trim());
  if (hosts.length !== 4 || hosts.some((h) => h === "")) fail("--hosts takes the four validators' host names or IP addresses, comma-separated");
  const options: QbftNetworkOptions = {
    chainId: positive("chain-id", values["chain-id"], 0),
    blockPeriodSeconds: positive("block-period", values["block-period"], 2),
    epochLength: positive("epoch", values.epoch, 30_000),
    requestTimeoutSeconds: positive("request-timeout", values["request-timeout"], 10),
    allowedAccounts: [address("deployer", values.deployer), address("recorder", values.recorder)],
    fundedAccount: address("deployer", values.deployer),
    validators: hosts.map((host) => ({ privateKey: Wallet.createRandom().privateKey, host })),
  };
  const out = path.resolve(values.out);
  try {
    await fs.mkdir(out, { recursive: false, mode: 0o700 });
  } catch {
    fail(`${out} exists already (or its parent does not); give a new directory`);
  }
  await fs.writeFile(path.join(out, "genesis.json"), `${JSON.stringify(qbftGenesis(options), null, 2)}\n`);
  await fs.writeFile(path.join(out, "permissions_config.toml"), permissionsConfig(options));
  const summary = options.validators.map((v, i) => ({ node: i + 1, host: v.host, address: validatorAddress(v.privateKey), enode: enodeUrl(v) }));
  await fs.writeFile(path.join(out, "validators.json"), `${JSON.stringify(summary, null, 2)}\n`);
  for (let i = 0; i < options.validators.length; i++) {
    const dir = path.join(out, `node-${i + 1}`);
    await fs.mkdir(dir, { mode: 0o700 });
    await fs.writeFile(path.join(dir, "key"), `${options.validators[i]!.privateKey}\n`, { mode: 0o600 });
    await fs.writeFile(path.join(dir, "config.toml"), nodeConfig(options, i));
  }
  console.log(`QBFT network files for chain ${options.chainId} written to ${out}`);
  for (const s of summary) console.log(`  node-${s.node}  ${s.host}  validator ${s.address}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
