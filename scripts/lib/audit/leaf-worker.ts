/** A leaf-reading worker thread (./leaves.ts, LeafReaders): answers each batch with checkBatch. */
import { parentPort } from "node:worker_threads";
import { messageOf } from "./errors";
import { checkBatch } from "./leaves";
import type { LeafBatch } from "./sources";

export function runLeafWorker(): void {
  const port = parentPort!;
  port.on("message", ({ id, batch }: { id: number; batch: LeafBatch }) => {
    try {
      // A Buffer arrives as a plain Uint8Array.
      const result = checkBatch({ ...batch, data: Buffer.from(batch.data.buffer, batch.data.byteOffset, batch.data.byteLength) });
      port.postMessage({ id, result }, [result.hashes.buffer as ArrayBuffer]);
    } catch (e) {
      port.postMessage({ id, error: messageOf(e) });
    }
  });
}
