/**
 * Durable file replacement: the new contents are either fully there after a
 * crash or power loss, or the old ones are. Write a temporary file beside the
 * target, fsync it, rename it over the target, fsync the directory (the rename
 * is only durable once the directory entry is).
 */
import { promises as fs } from "node:fs";
import path from "node:path";

/** Atomically and durably replaces `file` with `data`, creating the directory if needed. Resolves once durable. */
export async function writeFileDurably(file: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  // pid and a counter keep two writers in one process (or two processes) off each other's temp file.
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${++tempCounter}.tmp`);
  const handle = await fs.open(tmp, "w", mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
  await syncDirectory(dir);
}

let tempCounter = 0;

/** fsyncs a directory so a rename or create inside it survives power loss. A no-op where directories cannot be opened (Windows). */
export async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === "win32") return;
  const handle = await fs.open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
