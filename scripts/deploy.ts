/**
 * Deploys LedgerAnchor and writes deployments/<network>.json.
 *
 *   LEDGER_RECORDERS=0x…,0x… LEDGER_PAUSERS=0x… npm run deploy -- --network ledger
 *
 * See scripts/lib/deploy.ts for every environment variable. A bad value stops the script
 * before any transaction, with one line naming the variable, and a non-zero exit code.
 */
import hre from "hardhat";
import { DeployConfigError, runDeploy } from "./lib/deploy";

async function main(): Promise<void> {
  const { record, file } = await runDeploy(hre, process.env);
  console.log(`LedgerAnchor deployed on "${record.network}" (chain ${record.chainId}) at ${record.address}`);
  console.log(`  block ${record.block}, tx ${record.txHash}, deployer ${record.deployer}`);
  console.log(`  recorders: ${record.roles.RECORDER_ROLE.accounts.join(", ") || "none"}`);
  console.log(`  pausers:   ${record.roles.PAUSER_ROLE.accounts.join(", ") || "none"}`);
  if (record.admin.pending !== null && record.admin.acceptAfter !== null)
    console.log(
      `  admin transfer to ${record.admin.pending} started; it must call acceptDefaultAdminTransfer() ` +
        `after ${new Date(record.admin.acceptAfter * 1000).toISOString()}`,
    );
  console.log(`  written to ${file}`);
}

main().catch((error: unknown) => {
  if (error instanceof DeployConfigError) console.error(`deploy: ${error.message}`);
  else console.error(error);
  process.exitCode = 1;
});
