/** Entry point of a leaf-reading worker thread (see ./leaves.ts, LeafReaders). */
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { serveLeafReading } from "./leaves";

export function runLeafWorker(): void {
  if (isMainThread || parentPort === null) throw new Error("runLeafWorker runs in a worker thread");
  serveLeafReading(parentPort);
}

// Loaded as a worker's script by LeafReaders (compiled builds): start serving.
if (!isMainThread && (workerData as { auditLeafWorker?: unknown } | null)?.auditLeafWorker === true) runLeafWorker();
