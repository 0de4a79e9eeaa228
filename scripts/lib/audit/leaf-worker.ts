/** Entry point of a leaf worker thread (see ./leaves.ts, LeafPool). */
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { serveLeafBatches } from "./leaves";

export function runLeafWorker(): void {
  if (isMainThread || parentPort === null) throw new Error("runLeafWorker runs in a worker thread");
  serveLeafBatches(parentPort, Array.from((workerData as { wanted: Float64Array }).wanted));
}

// Loaded as a worker's script by LeafPool (compiled builds): start serving.
if (!isMainThread && (workerData as { auditLeafWorker?: unknown } | null)?.auditLeafWorker === true) runLeafWorker();
