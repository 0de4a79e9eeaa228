/**
 * Gas of LedgerAnchor.anchor at tree sizes 1, 1,000, 1,000,000 and 2^32, and gas per entry at
 * several checkpoint sizes.
 *
 *   npm run gas                      (in-process Hardhat network)
 *   npm run gas -- --network <name>  (any configured network; deploys fresh contracts there)
 *
 * Trees that large cannot be built, so the leaves are all one hash (see UniformTree): the roots
 * and consistency proofs are still genuine RFC 6962 ones, produced by the log core's plan
 * functions. For each size N a fresh contract first anchors an earlier checkpoint M, then the
 * receipt of anchor(N) is measured, because the gas depends on the proof from M to N:
 *   - "cadence": M = N − 1000, the anchorer's normal step (M = 1 when N = 1000);
 *   - "worst in window": the M in [N − 1000, N − 1] whose proof is longest and, among those,
 *     needs the most SHA-256 calls to check;
 *   - N = 1 is the first anchor, with no previous checkpoint and no proof.
 * An anchor at an odd index fills two new storage slots (its root, and the size and time of its
 * pair of checkpoints); one at an even index fills one and rewrites the head (see the storage
 * layout in contracts/LedgerAnchor.sol). Each row measures both: the second checkpoint of a fresh
 * contract (index 1) and, when M > 1, the third (index 2, after anchoring M − 1 and M). Anchors
 * alternate, so the mean of the two is what an anchor costs over a log's life.
 *
 * Then gas per entry at 1,000,000 entries for several checkpoint sizes c (anchor(N) after N − c,
 * both parities, mean / c), which is what a cadence rule has to keep at or under 100.
 *
 * Targets (issue 15): every anchor at 1,000,000 entries at most 100,000 gas (both parities, both
 * cases), and at most 100 gas per entry at 1,000-entry checkpoints. Prints PASS/FAIL for each and
 * exits non-zero when either fails.
 */
import hre, { ethers } from "hardhat";
import { hashLeaf, planConsistency, toHex } from "../service/log";
import { UniformTree } from "./lib/uniform-tree";

/** No anchor at TARGET_SIZE entries may use more. */
const TARGET_GAS = 100_000n;
/** Mean gas per entry at CADENCE-entry checkpoints may not exceed this. */
const TARGET_PER_ENTRY = 100;
const TARGET_SIZE = 1_000_000;
const CADENCE = 1000;
/** Checkpoint sizes for the gas-per-entry table. */
const CHECKPOINT_SIZES = [100, 200, 500, 1000, 2000, 5000];
/** The slow write rate the cadence rule must serve at TARGET_PER_ENTRY gas per entry. */
const SLOW_RATE = 200;

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

/**
 * SHA-256 calls the contract makes to check the consistency proof from m to n (0 < m < n): one per
 * hash of the new root's path, plus one per hash that is also on the old root's path (every
 * sibling on the left). Mirrors _consistencyProofShape in contracts/LedgerAnchor.sol.
 */
function hashCalls(m: number, n: number): number {
  const bits = (x: bigint): number => (x === 0n ? 0 : x.toString(2).length);
  const ones = (x: bigint): number => [...x.toString(2)].filter((c) => c === "1").length;
  const size1 = BigInt(m);
  const shift = bits(size1 & -size1) - 1;
  const last = size1 - 1n;
  const fullInner = bits(last ^ (BigInt(n) - 1n));
  const inner = fullInner - shift;
  const mask = last >> BigInt(shift);
  const border = ones(last >> BigInt(fullInner));
  return inner + ones(mask & ((1n << BigInt(inner)) - 1n)) + 2 * border;
}

/** The earlier size in [max(1, size − CADENCE), size − 1] with the longest proof to `size`, then the most hash calls. */
function worstPrevious(size: number): number {
  let best = size - 1;
  let bestKey = -1;
  for (let m = Math.max(1, size - CADENCE); m < size; m++) {
    const key = planConsistency(m, size).ranges.length * 1000 + hashCalls(m, size);
    if (key > bestKey) {
      best = m;
      bestKey = key;
    }
  }
  return best;
}

const fmt = (n: number | bigint): string => n.toLocaleString("en-US");

/** The worse of the two parities of a row. */
const maxGas = (r: Row): bigint => (r.gasUsedEven !== undefined && r.gasUsedEven > r.gasUsed ? r.gasUsedEven : r.gasUsed);

async function main(): Promise<void> {
  const rows: Row[] = [await measure(1, undefined, "first anchor")];
  for (const size of [1_000, TARGET_SIZE, 2 ** 32]) {
    rows.push(await measure(size, Math.max(1, size - CADENCE), "cadence"));
    rows.push(await measure(size, worstPrevious(size), "worst in window"));
  }

  const network = hre.network.name;
  const hardfork = network === "hardhat" ? ` (hardfork ${hre.config.networks.hardhat.hardfork})` : "";
  console.log(`LedgerAnchor.anchor gas on network "${network}"${hardfork}\n`);
  console.log("| tree size N | previous checkpoint | case | proof length | gas, odd index (two new slots) | gas, even index (one new slot) | mean | mean per entry |");
  console.log("|---:|---:|---|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    const prev = r.previous === undefined ? "none" : fmt(r.previous);
    const even = r.gasUsedEven === undefined ? "—" : fmt(r.gasUsedEven);
    const mean = r.gasUsedEven === undefined ? undefined : (r.gasUsed + r.gasUsedEven) / 2n;
    // Per entry only where the step is the cadence's; the worst-in-window step is not a checkpoint size.
    const perEntry = mean === undefined || r.previous === undefined || r.label !== "cadence" ? "—" : (Number(mean) / (r.size - r.previous)).toFixed(1);
    console.log(`| ${fmt(r.size)} | ${prev} | ${r.label} | ${r.proofLength} | ${fmt(r.gasUsed)} | ${even} | ${mean === undefined ? "—" : fmt(mean)} | ${perEntry} |`);
  }

  console.log(`\nGas per entry at ${fmt(TARGET_SIZE)} entries, by entries per checkpoint c (anchor(N) after N − c)\n`);
  console.log(`| entries per checkpoint | gas, odd index | gas, even index | mean | gas per entry | checkpoint interval at ${SLOW_RATE} entries/s |`);
  console.log("|---:|---:|---:|---:|---:|---:|");
  let perEntryAtCadence = Number.POSITIVE_INFINITY;
  for (const c of CHECKPOINT_SIZES) {
    const r = await measure(TARGET_SIZE, TARGET_SIZE - c, `c = ${c}`);
    const mean = (r.gasUsed + (r.gasUsedEven ?? r.gasUsed)) / 2n;
    const perEntry = Number(mean) / c;
    if (c === CADENCE) perEntryAtCadence = perEntry;
    console.log(`| ${fmt(c)} | ${fmt(r.gasUsed)} | ${r.gasUsedEven === undefined ? "—" : fmt(r.gasUsedEven)} | ${fmt(mean)} | ${perEntry.toFixed(1)} | ${(c / SLOW_RATE).toFixed(1)} s |`);
  }

  const atTarget = rows.filter((r) => r.size === TARGET_SIZE);
  const worst = atTarget.reduce((a, b) => (maxGas(b) > maxGas(a) ? b : a));
  const worstGas = maxGas(worst);
  const gasOk = worstGas <= TARGET_GAS;
  const perEntryOk = perEntryAtCadence <= TARGET_PER_ENTRY;
  // Entries a checkpoint needs so that even the most expensive anchor stays within the per-entry target.
  const minEntries = Math.ceil(Number(worstGas) / TARGET_PER_ENTRY);
  console.log(
    `\n${gasOk ? "PASS" : "FAIL"}: every anchor at ${fmt(TARGET_SIZE)} entries uses at most ${fmt(worstGas)} gas ` +
      `(proof of ${worst.proofLength} hashes from ${fmt(worst.previous ?? 0)}); target ≤ ${fmt(TARGET_GAS)}.`,
  );
  console.log(
    `${perEntryOk ? "PASS" : "FAIL"}: ${perEntryAtCadence.toFixed(1)} gas per entry at ${fmt(CADENCE)}-entry checkpoints; target ≤ ${TARGET_PER_ENTRY}.`,
  );
  console.log(
    `Cadence: at most ${TARGET_PER_ENTRY} gas per entry needs checkpoints of at least ${fmt(minEntries)} entries ` +
      `(${fmt(worstGas)} / ${TARGET_PER_ENTRY}); at ${SLOW_RATE} entries/s that is one every ${(minEntries / SLOW_RATE).toFixed(2)} s.`,
  );
  if (!gasOk || !perEntryOk) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
