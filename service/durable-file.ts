/**
 * Durable file writes: the new contents are either fully there after a crash
 * or power loss, or the old ones (or none) are. Write a temporary file, fsync
 * it, move it into place (rename(2) to replace, link(2) to create only), fsync
 * the directory (the move is only durable once the directory entry is).
 */
import { randomBytes } from "node:crypto";
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

/** Where and how {@link writeOnceDurably} and {@link replaceFromTempDurably} write. */
export interface PlaceOptions {
  /**
   * Directory for the temporary file, on the target's filesystem. The file is
   * removed afterwards, whether or not it was moved into place; one a killed
   * writer left is the caller's to clear (e.g. by emptying this directory on open).
   */
  readonly tmpDir: string;
  /** Mode of the new file; default 0o644 (these are files others read). */
  readonly mode?: number;
  /** Mode of directories created for the target; default 0o755. */
  readonly dirMode?: number;
  /** Called once the temporary file is durable, just before it is moved into place; tests simulate a crash here. */
  readonly beforePlace?: () => Promise<void> | void;
  /**
   * Whether to fsync the target's directory afterwards; default true. false is
   * for a caller that fsyncs each directory it touched once, at the end: until
   * it does, the new name may not survive power loss.
   */
  readonly syncDirectory?: boolean;
}

/**
 * Creates `file` with `data` unless a file of that name exists, durably: an
 * fsynced temporary file is linked into place with link(2), which fails rather
 * than replace anything, so not even a concurrent writer's file is ever
 * overwritten. Resolves true if this call created the file, false if one was
 * already there: that file is left exactly as it is, whatever its contents
 * (callers that care compare them). The directory is fsynced in both cases.
 */
export async function writeOnceDurably(file: string, data: string | Uint8Array, options: PlaceOptions): Promise<boolean> {
  return place(file, data, options, async (tmp) => {
    try {
      await fs.link(tmp, file);
      return true;
    } catch (e) {
      if ((e as { code?: unknown }).code !== "EEXIST") throw e;
      return false;
    }
  });
}

/** Replaces `file` with `data` as {@link writeFileDurably} does, but with the temporary file in `options.tmpDir` and the options' modes, hook and directory sync. */
export async function replaceFromTempDurably(file: string, data: string | Uint8Array, options: PlaceOptions): Promise<void> {
  await place(file, data, options, async (tmp) => {
    await fs.rename(tmp, file);
    return true;
  });
}

async function place(file: string, data: string | Uint8Array, o: PlaceOptions, move: (tmp: string) => Promise<boolean>): Promise<boolean> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true, mode: o.dirMode ?? 0o755 });
  const tmp = path.join(o.tmpDir, randomBytes(12).toString("hex"));
  let moved: boolean;
  try {
    const handle = await fs.open(tmp, "wx", o.mode ?? 0o644);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await o.beforePlace?.();
    moved = await move(tmp);
  } finally {
    await fs.rm(tmp, { force: true });
  }
  if (o.syncDirectory ?? true) await syncDirectory(dir);
  return moved;
}
