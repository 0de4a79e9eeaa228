/**
 * The side-by-side audit benchmark's log (scripts/lib/bench-audit-log.ts):
 * the store, the export and the chain agree, and a kept directory is reused
 * with the chain topped up rather than rebuilt.
 */
import { expect } from "chai";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { ChainClient, HttpJsonRpc } from "../../service/chain/client";
import { anchorSizes, prepareAuditLog } from "../../scripts/lib/bench-audit-log";
import { CompactRange, hashLeaf, parseVerifierKey, toHex, verifyCheckpoint } from "../../service/log";
import { LevelStore } from "../../service/store/level";

describe("the audit benchmark's log", function () {
  this.timeout(180_000);
  let dir: string;
  const quiet = () => {};

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "bench-audit-log-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe("when built from nothing", () => {
    it("writes the same leaves to the store and the export, and anchors every planned checkpoint with the log's roots", async () => {
      const log = await prepareAuditLog({ dir, entries: 600, anchorEvery: 256, say: quiet });
      try {
        expect(log.reused).to.equal(false);
        expect(log.checkpoints).to.equal(anchorSizes(600, 256).length);

        const lines = (await readFile(log.exportFile, "utf8")).trim().split("\n");
        const header = JSON.parse(lines[0]!) as { treeSize: number; checkpoint: string; logKey: string };
        expect(header.treeSize).to.equal(600);
        expect(lines).to.have.length(601);
        const range = new CompactRange();
        const roots = new Map<number, string>();
        for (const line of lines.slice(1)) {
          const text = line.slice(line.indexOf(",") + 1, -1);
          range.append(hashLeaf(Buffer.from(text, "utf8")));
          roots.set(range.size, `0x${toHex(range.root())}`);
        }
        const cp = verifyCheckpoint(header.checkpoint, [parseVerifierKey(log.logKey)]);
        expect(toHex(cp.rootHash)).to.equal(toHex(range.root()));

        const store = await LevelStore.open(log.storeDir);
        try {
          expect((await store.head()).size).to.equal(600);
          const stored = await store.leaves(0, 600);
          expect(Buffer.from(stored[599]!.bytes).toString("utf8")).to.equal(lines[600]!.slice(lines[600]!.indexOf(",") + 1, -1));
        } finally {
          await store.close();
        }

        const chain = new ChainClient({ transport: new HttpJsonRpc(log.rpcUrl), address: log.contract, chainId: 31337 });
        for (const [i, size] of anchorSizes(600, 256).entries()) {
          const c = await chain.checkpointAt(i);
          expect(c.treeSize).to.equal(size);
          expect(c.rootHex).to.equal(roots.get(size));
        }
      } finally {
        await log.stop();
      }
    });
  });

  describe("when the directory holds a log of the same size and interval", () => {
    it("reuses it, with the chain that holds its checkpoints", async () => {
      const log = await prepareAuditLog({ dir, entries: 600, anchorEvery: 256, say: quiet });
      try {
        expect(log.reused).to.equal(true);
        expect(log.anchorSeconds).to.equal(0);
        expect(log.checkpoints).to.equal(3);
      } finally {
        await log.stop();
      }
    });
  });

  describe("when it holds a log of another size", () => {
    it("builds a new one and a new chain", async () => {
      const log = await prepareAuditLog({ dir, entries: 300, anchorEvery: 256, say: quiet });
      try {
        expect(log.reused).to.equal(false);
        expect(log.checkpoints).to.equal(2);
      } finally {
        await log.stop();
      }
    });
  });
});
