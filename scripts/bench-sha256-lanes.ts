/**
 * Micro-benchmark: RFC 6962 leaf and node hashes with node:crypto (one call
 * a hash, as service/log/hash.ts does) against ./lib/audit/sha256-lanes.ts
 * (a batch a call, four lanes of WebAssembly SIMD), in one run.
 *
 *   npm run bench:sha256-lanes [-- --leaf-bytes 491 --batch 2000 --rounds 15]
 *   npm run bench:sha256-lanes -- --export /tmp/slaudit/entries.jsonl
 *
 * With --export, the leaves are the first --batch of an export file (the
 * ledger's real mix of lengths, 5 to 11 blocks), hashed in log order and in
 * order of block count (as the audit does: a group of four lanes takes as
 * many blocks as its longest message).
 *
 * The lanes' figure includes what the audit pays around the call: copying
 * the batch's bytes into the module's memory, writing the descriptors and
 * copying the digests out. Each figure is the median of --rounds rounds,
 * the two kinds alternating, so the VM's drift hits both alike.
 */
import { openSync, readSync, closeSync } from "node:fs";
import { hashChildren, hashLeaf } from "../service/log";
import { DESCRIPTOR_SIZE, HEAP_BASE, Sha256Lanes } from "./lib/audit/sha256-lanes";
import { prng } from "../service/prng";

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? def : Number(process.argv[i + 1]);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The leaves of the first `count` lines of an export file: [leafIndex,<leaf>] after a header line. */
function leavesOfExport(file: string, count: number): { data: Buffer; starts: number[]; ends: number[] } {
  const fd = openSync(file, "r");
  const buf = Buffer.alloc(count * 1200 + 65536);
  const got = readSync(fd, buf, 0, buf.length, 0);
  closeSync(fd);
  const data = buf.subarray(0, got);
  const starts: number[] = [];
  const ends: number[] = [];
  let at = data.indexOf(10) + 1;
  while (starts.length < count) {
    const nl = data.indexOf(10, at);
    if (nl < 0) throw new Error(`${file} has fewer than ${count} entries in its first ${got} bytes`);
    starts.push(data.indexOf(44, at) + 1); // after "[index,"
    ends.push(nl - 1); // before "]"
    at = nl + 1;
  }
  return { data, starts, ends };
}

function main(): void {
  const leafBytes = arg("leaf-bytes", 491);
  const batch = arg("batch", 2000);
  const rounds = arg("rounds", 15);
  const rnd = prng(7);
  const exportFile = process.argv.includes("--export") ? process.argv[process.argv.indexOf("--export") + 1]! : undefined;
  let data: Buffer;
  let starts: number[] = [];
  let ends: number[] = [];
  if (exportFile !== undefined) ({ data, starts, ends } = leavesOfExport(exportFile, batch));
  else {
    // A batch as the audit gets it: leaves of about leafBytes (± 16) in one buffer, one byte apart.
    const parts: Buffer[] = [];
    let at = 0;
    for (let i = 0; i < batch; i++) {
      const len = leafBytes - 16 + Math.floor(rnd() * 33);
      const b = Buffer.alloc(len + 1);
      for (let j = 0; j < len; j++) b[j] = 32 + Math.floor(rnd() * 90);
      b[len] = 10;
      parts.push(b);
      starts.push(at);
      ends.push(at + len);
      at += len + 1;
    }
    data = Buffer.concat(parts);
  }
  const blocks = (i: number) => Math.floor((ends[i]! - starts[i]! + 9) / 64) + 1;
  const byBlocks = Array.from({ length: batch }, (_, i) => i).sort((a, b) => blocks(a) - blocks(b));
  const meanBytes = ends.reduce((s, e, i) => s + e - starts[i]!, 0) / batch;
  const pairs = new Uint8Array(batch * 64);
  for (let i = 0; i < pairs.length; i++) pairs[i] = Math.floor(rnd() * 256);

  const lanes = Sha256Lanes.create();
  const DATA = HEAP_BASE;
  const DESC = DATA + data.length + 64;
  const OUT = DESC + batch * DESCRIPTOR_SIZE;
  const PAIRS = OUT + batch * 32;
  const NODES = PAIRS + pairs.length;
  lanes.reserve(NODES + batch * 32 - HEAP_BASE);
  const out = new Uint8Array(batch * 32);

  const cryptoLeaves = () => {
    for (let i = 0; i < batch; i++) out.set(hashLeaf(data.subarray(starts[i]!, ends[i]!)), i * 32);
  };
  const lanesLeavesIn = (order: readonly number[]) => () => {
    const mem = lanes.bytes;
    const w = lanes.words;
    mem.set(data, DATA);
    for (let k = 0, d = DESC / 4; k < batch; k++, d += 3) {
      const i = order[k]!;
      w[d] = DATA + starts[i]!;
      w[d + 1] = ends[i]! - starts[i]!;
      w[d + 2] = OUT + 32 * i;
    }
    lanes.hashLeaves(DESC, batch);
    out.set(mem.subarray(OUT, OUT + batch * 32));
  };
  const lanesLeaves = lanesLeavesIn(Array.from({ length: batch }, (_, i) => i));
  const lanesLeavesSorted = lanesLeavesIn(byBlocks);
  const cryptoNodes = () => {
    for (let i = 0; i < batch; i++) out.set(hashChildren(pairs.subarray(64 * i, 64 * i + 32), pairs.subarray(64 * i + 32, 64 * i + 64)), i * 32);
  };
  const lanesNodes = () => {
    lanes.bytes.set(pairs, PAIRS);
    lanes.hashNodes(PAIRS, batch, NODES);
    out.set(lanes.bytes.subarray(NODES, NODES + batch * 32));
  };
  // Same digests, or the figures mean nothing.
  cryptoLeaves();
  const a = out.slice();
  lanesLeaves();
  if (!Buffer.from(a).equals(Buffer.from(out))) throw new Error("lane leaf hashes differ from node:crypto's");
  lanesLeavesSorted();
  if (!Buffer.from(a).equals(Buffer.from(out))) throw new Error("lane leaf hashes (by block count) differ from node:crypto's");
  cryptoNodes();
  const b = out.slice();
  lanesNodes();
  if (!Buffer.from(b).equals(Buffer.from(out))) throw new Error("lane node hashes differ from node:crypto's");

  const fns = { cryptoLeaves, lanesLeaves, lanesLeavesSorted, cryptoNodes, lanesNodes };
  const times: Record<keyof typeof fns, number[]> = { cryptoLeaves: [], lanesLeaves: [], lanesLeavesSorted: [], cryptoNodes: [], lanesNodes: [] };
  for (let w = 0; w < 3; w++) for (const f of Object.values(fns)) f();
  for (let r = 0; r < rounds; r++)
    for (const [k, f] of Object.entries(fns) as [keyof typeof fns, () => void][]) {
      const t = process.hrtime.bigint();
      f();
      times[k].push(Number(process.hrtime.bigint() - t) / 1000 / batch);
    }
  const us = (k: keyof typeof fns) => median(times[k]);
  const line = (what: string, c: number, l: number) => `  ${what.padEnd(30)} node:crypto ${c.toFixed(3)} µs   lanes ${l.toFixed(3)} µs   ×${(c / l).toFixed(2)}`;
  process.stdout.write(
    [
      `bench:sha256-lanes — ${batch} hashes a batch, median of ${rounds} rounds (${process.version})`,
      line(`leaf (${exportFile === undefined ? `${leafBytes} ± 16` : `export, mean ${meanBytes.toFixed(0)}`} bytes)`, us("cryptoLeaves"), us("lanesLeaves")),
      line("  the same, by block count", us("cryptoLeaves"), us("lanesLeavesSorted")),
      line("node (65 bytes)", us("cryptoNodes"), us("lanesNodes")),
      "",
    ].join("\n"),
  );
}

main();
