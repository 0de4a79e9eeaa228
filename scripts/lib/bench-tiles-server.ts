/**
 * The server of `npm run bench:tiles`: the service's app (createApp, with its
 * request log written to /dev/null at info, as in production) over a
 * LevelStore of synthetic leaves, publishing a checkpoint of all of them.
 *
 *   node -r ts-node/register/transpile-only scripts/lib/bench-tiles-server.ts <data dir> <leaves>
 *
 * Builds the store when it is empty, then listens on a free port and prints it.
 */
import { CompactRange, generateNoteKey, hashLeaf } from "../../service/log";
import { LevelStore } from "../../service/store/level";
import type { LeafWrite } from "../../service/store/store";
import { benchApp, listenAndPrintPort } from "./bench-app";

const ORIGIN = "bench.example/log";

async function main(): Promise<void> {
  const [dir, leavesArg] = process.argv.slice(2);
  const leaves = Number(leavesArg);
  const store = await LevelStore.open(dir!);
  const range = new CompactRange();
  if ((await store.head()).size === 0) {
    const utf8 = new TextEncoder();
    for (let start = 0; start < leaves; start += 1024) {
      const batch: LeafWrite[] = [];
      for (let index = start; index < Math.min(leaves, start + 1024); index++) {
        const bytes = utf8.encode(JSON.stringify({ v: 1, id: `app_${index.toString(16).padStart(8, "0")}`, kind: "application", n: index, pad: "x".repeat(200) }));
        const recordedAt = new Date(Date.UTC(2026, 0, 1) + index).toISOString();
        batch.push({ index, id: `app_${index}`, bytes, recordedAt, nodes: range.append(hashLeaf(bytes)), indexes: [], openings: null });
      }
      await store.commit({ head: { size: range.size, compact: [...range.hashes] }, leaves: batch, state: new Map(), idempotency: new Map() });
    }
  }
  const { app } = await benchApp({ store, origin: ORIGIN, key: generateNoteKey(ORIGIN), rateLimit: { publicPerMinute: 1e9, adminPerMinute: 1e9, tlogPerMinute: 1e9 } });
  listenAndPrintPort(app);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
