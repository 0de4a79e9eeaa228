/**
 * Gas of LedgerAnchor.anchor at tree sizes 1, 1,000, 1,000,000 and 2^32.
 *
 *   npm run gas                      (in-process Hardhat network)
 *   npm run gas -- --network <name>  (any configured network; deploys fresh contracts there)
 *
 * Trees that large cannot be built, so the leaves are all one hash (see UniformTree): the roots
 * and consistency proofs are still genuine RFC 6962 ones, produced by the log core's plan
 * functions. For each size N a fresh contract first anchors an earlier checkpoint M, then the
 * receipt of anchor(N) is measured, because the gas depends on the proof from M to N:
 *   - "cadence": M = N − 1000, the anchorer's normal step (M = 1 when N = 1000);
 *   - "worst in window": the M in [N − 1000, N − 1] whose proof is longest;
 *   - N = 1 is the first anchor, with no previous checkpoint and no proof.
 * The contract packs the sizes and times of checkpoints 2k and 2k + 1 into one slot, so an
 * anchor costs less when it completes a pair (an odd checkpoint index, sharing the slot) than
 * when it starts one (an even index, a new slot). Each row measures both: the second checkpoint
 * of a fresh contract (index 1) and, when M > 1, the third (index 2, after anchoring M − 1 and M).
 * Over a log's life anchors alternate, so the mean of the two is what an anchor costs.
 *
 * Prints a markdown table and a PASS/FAIL line against the 120,000 gas target at 1,000,000
 * entries (judged on the worse of the two rows); exits non-zero on FAIL.
 */
import hre, { ethers } from "hardhat";
import { hashLeaf, planConsistency, toHex } from "../service/log";
import { UniformTree } from "./lib/uniform-tree";

const TARGET_GAS = 120_000n;
const TARGET_SIZE = 1_000_000;
const CADENCE = 1000;

interface Row {
  size: number;
  previous: number | undefined;
  label: string;
  proofLength: number;
  gasUsed: bigint;
  /** The same anchor as checkpoint index 2 (a new slot for its size and time); undefined when M = 1. */
  gasUsedEven: bigint | undefined;
}

const tree = new UniformTree(hashLeaf(new TextEncoder().encode('{"v":1,"gas":"probe"}')));
const hex = (b: Uint8Array): string => `0x${toHex(b)}`;

/** Gas of anchor(size) on a fresh contract after anchoring `before` (each with its proof from the one before). */
async function gasAfter(size: number, before: readonly number[]): Promise<{ gasUsed: bigint; proofLength: number }> {
  const [deployer] = await ethers.getSigners();
  if (deployer === undefined) throw new Error("the network has no signer to deploy with");
  const anchor = await ethers.deployContract("LedgerAnchor", [0, deployer.address]);
  await anchor.waitForDeployment();
  await (await anchor.grantRole(await anchor.RECORDER_ROLE(), deployer.address)).wait();
  let last: number | undefined;
  for (const m of before) {
    const p = last === undefined ? [] : tree.consistencyProof(last, m).map(hex);
    await (await anchor.anchor(m, hex(tree.root(m)), p)).wait();
    last = m;
  }
  const proof = last === undefined ? [] : tree.consistencyProof(last, size).map(hex);
  const receipt = await (await anchor.anchor(size, hex(tree.root(size)), proof)).wait();
  if (receipt === null || receipt.status !== 1) throw new Error(`anchor(${size}) failed`);
  return { gasUsed: receipt.gasUsed, proofLength: proof.length };
}

async function measure(size: number, previous: number | undefined, label: string): Promise<Row> {
  const odd = await gasAfter(size, previous === undefined ? [] : [previous]);
  const even = previous !== undefined && previous > 1 ? await gasAfter(size, [previous - 1, previous]) : undefined;
  return { size, previous, label, proofLength: odd.proofLength, gasUsed: odd.gasUsed, gasUsedEven: even?.gasUsed };
}

/** The earlier size in [max(1, size − CADENCE), size − 1] with the longest consistency proof to `size`. */
function worstPrevious(size: number): number {
  let best = size - 1;
  let bestLength = -1;
  for (let m = Math.max(1, size - CADENCE); m < size; m++) {
    const length = planConsistency(m, size).ranges.length;
    if (length > bestLength) {
      best = m;
      bestLength = length;
    }
  }
  return best;
}

const fmt = (n: number | bigint): string => n.toLocaleString("en-US");

async function main(): Promise<void> {
  const rows: Row[] = [await measure(1, undefined, "first anchor")];
  for (const size of [1_000, TARGET_SIZE, 2 ** 32]) {
    rows.push(await measure(size, Math.max(1, size - CADENCE), "cadence"));
    rows.push(await measure(size, worstPrevious(size), "worst in window"));
  }

  const network = hre.network.name;
  const hardfork = network === "hardhat" ? ` (hardfork ${hre.config.networks.hardhat.hardfork})` : "";
  console.log(`LedgerAnchor.anchor gas on network "${network}"${hardfork}\n`);
  console.log("| tree size N | previous checkpoint | case | proof length | gas, odd index (shares a slot) | gas, even index (new slot) | mean | mean per entry over 1,000 entries |");
  console.log("|---:|---:|---|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    const prev = r.previous === undefined ? "none" : fmt(r.previous);
    const even = r.gasUsedEven === undefined ? "—" : fmt(r.gasUsedEven);
    const mean = r.gasUsedEven === undefined ? undefined : (r.gasUsed + r.gasUsedEven) / 2n;
    const perEntry = mean === undefined || r.previous === undefined ? "—" : (Number(mean) / (r.size - r.previous)).toFixed(1);
    console.log(`| ${fmt(r.size)} | ${prev} | ${r.label} | ${r.proofLength} | ${fmt(r.gasUsed)} | ${even} | ${mean === undefined ? "—" : fmt(mean)} | ${perEntry} |`);
  }

  const atTarget = rows.filter((r) => r.size === TARGET_SIZE);
  const costOf = (r: Row): bigint => (r.gasUsedEven !== undefined && r.gasUsedEven > r.gasUsed ? r.gasUsedEven : r.gasUsed);
  const worst = atTarget.map((r) => ({ ...r, gasUsed: costOf(r) })).reduce((a, b) => (b.gasUsed > a.gasUsed ? b : a));
  const verdict = worst.gasUsed < TARGET_GAS ? "PASS" : "FAIL";
  console.log(
    `\n${verdict}: anchor at ${fmt(TARGET_SIZE)} entries uses at most ${fmt(worst.gasUsed)} gas ` +
      `(proof of ${worst.proofLength} hashes from ${fmt(worst.previous ?? 0)}); target < ${fmt(TARGET_GAS)}.`,
  );
  if (verdict === "FAIL") process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
