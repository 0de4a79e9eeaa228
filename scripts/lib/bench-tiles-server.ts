/**
 * The server of `npm run bench:tiles`: the service's app (createApp, with its
 * request log written to /dev/null at info, as in production) over a
 * LevelStore of synthetic leaves, publishing a checkpoint of all of them.
 *
 *   node -r ts-node/register/transpile-only scripts/lib/bench-tiles-server.ts <data dir> <leaves>
 *
 * Builds the store when it is empty, then listens on a free port and prints it.
 */
import pino from "pino";
import { AccessCodes } from "../../service/auth/access-codes";
import { systemClock } from "../../service/clock";
import { createApp } from "../../service/http/app";
import { Tokens } from "../../service/http/tokens";
import { Ledger } from "../../service/ledger/ledger";
import { CompactRange, generateNoteKey, hashLeaf, parseSignerKey, signCheckpoint } from "../../service/log";
import { Queries } from "../../service/queries/queries";
import { TileQueries } from "../../service/queries/tiles";
import { LevelStore } from "../../service/store/level";
import type { LeafWrite } from "../../service/store/store";

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
  const ledger = await Ledger.open({ store, clock: systemClock });
  const key = generateNoteKey(ORIGIN);
  const note = signCheckpoint({ origin: ORIGIN, size: ledger.size, rootHash: ledger.root(), extensions: [] }, parseSignerKey(key.signerKey));
  const published = { size: ledger.size, note };
  const app = createApp({
    ledger,
    queries: new Queries({ store, size: () => ledger.size }),
    tokens: new Tokens(store, systemClock),
    logger: pino({ level: "info" }, pino.destination("/dev/null")),
    signedCheckpoint: async () => note,
    config: { rateLimit: { publicPerMinute: 1e9, adminPerMinute: 1e9, tlogPerMinute: 1e9 } },
    logKey: key.verifierKey,
    accessCodes: new AccessCodes(new Uint8Array(32).fill(1)),
    tiles: new TileQueries({ store, published: async () => published }),
  });
  const server = app.listen(0, "127.0.0.1", () => {
    const a = server.address();
    process.stdout.write(`${typeof a === "object" && a !== null ? a.port : 0}\n`);
  });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
