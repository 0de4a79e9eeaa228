import { subtask, type HardhatUserConfig } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";
import "@nomicfoundation/hardhat-toolbox";

/**
 * The Solidity compiler version. It must equal the version of the npm `solc`
 * package in package.json: the override below refuses to build otherwise.
 */
const SOLC_VERSION = "0.8.28";

/*
 * Offline compiler. Hardhat normally downloads solc and its release list from
 * binaries.soliditylang.org, which offline build servers (ours, CI, many
 * government networks) cannot reach. We point Hardhat at the solc-js build
 * that ships inside the npm `solc` package instead, so `hardhat compile`
 * never touches the network. solc-js is slower than the native binary but
 * produces identical bytecode for the same version and settings.
 */
subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD).setAction(
  async ({ solcVersion }: { solcVersion: string }) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const solcPackage = require("solc/package.json") as { version: string };
    if (solcVersion !== solcPackage.version) {
      throw new Error(
        `hardhat.config.ts asks for solc ${solcVersion} but the npm "solc" package is ` +
          `${solcPackage.version}; pin them to the same version (no compiler is downloaded).`,
      );
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const solc = require("solc") as { version(): string };
    return {
      compilerPath: require.resolve("solc/soljson.js"),
      isSolcJs: true,
      version: solcVersion,
      longVersion: solc.version(),
    };
  },
);

/** Reads an optional network from the environment; see README "Networks". */
function envNetworks(): HardhatUserConfig["networks"] {
  // The service takes several nodes' URLs separated by commas; a deployment needs one node.
  const url = process.env.LEDGER_RPC_URL?.split(",")[0]?.trim();
  if (!url) return {};
  const chainId = process.env.LEDGER_CHAIN_ID ? Number(process.env.LEDGER_CHAIN_ID) : undefined;
  const key = process.env.LEDGER_DEPLOYER_KEY;
  return {
    ledger: {
      url,
      ...(chainId !== undefined ? { chainId } : {}),
      ...(key ? { accounts: [key] } : {}),
    },
  };
}

const config: HardhatUserConfig = {
  solidity: {
    version: SOLC_VERSION,
    settings: {
      optimizer: { enabled: true, runs: 10_000 },
      // Permissioned chains (Besu QBFT, GoQuorum) often run pre-Shanghai
      // rule sets; "paris" avoids PUSH0 and MCOPY so the contract deploys there.
      evmVersion: "paris",
    },
  },
  networks: {
    hardhat: {},
    localhost: { url: "http://127.0.0.1:8545" },
    ...envNetworks(),
  },
  paths: {
    sources: "./contracts",
    tests: "./test",
    cache: "./.cache/hardhat",
    artifacts: "./.cache/artifacts",
  },
  typechain: {
    outDir: ".cache/typechain",
    target: "ethers-v6",
  },
  mocha: {
    timeout: 120_000,
  },
  gasReporter: {
    enabled: process.env.REPORT_GAS === "true",
  },
};

export default config;
