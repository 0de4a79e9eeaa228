/**
 * Child process for the crash test: saves ever larger checkpoints for one
 * origin in a state directory, printing "saved <size>" after each save
 * resolves, until killed.
 */
import { createHash } from "node:crypto";
import { signCheckpoint } from "../../service/log";
import { directoryStateStore } from "../../service/witness/state";
import { LOG, ORIGIN } from "../log/note-keys";

async function main(): Promise<void> {
  const store = directoryStateStore(process.argv[2]!);
  // Large notes (many extension lines) make each write long enough for a kill to land inside it.
  const padding = Array.from({ length: 12 }, (_, i) => `${i}`.repeat(64 * 1024));
  for (let size = 1; ; size++) {
    const rootHash = createHash("sha256").update(String(size)).digest();
    await store.save(ORIGIN, signCheckpoint({ origin: ORIGIN, size, rootHash, extensions: padding }, LOG.signer));
    process.stdout.write(`saved ${size}\n`);
  }
}
// Only when run as the child: mocha loads every file under test/, and must not start the loop.
if (require.main === module) void main();
