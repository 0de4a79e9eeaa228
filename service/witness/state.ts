/**
 * The witness's one piece of state: per log origin, the latest checkpoint it
 * cosigned. One file per origin under `<state dir>/checkpoints/`, named by the
 * SHA-256 of the origin (origins are free text), holding the log-signed note
 * as the witness received it.
 *
 * A save is durable before it resolves and atomic under a crash: temp file,
 * fsync, rename, fsync of the directory (../durable-file.ts), so after a
 * kill -9 or power loss a file holds the old note or the new one, never a mix.
 * Serialising check-and-save per origin is the caller's job (./witness.ts).
 */
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";
import { writeFileDurably } from "../durable-file";
import { parseCheckpoint, splitSignedNote, type Checkpoint } from "../log";
import { readTextIfExists } from "../secret-file";

/** The latest cosigned checkpoint of one origin. */
export interface WitnessedCheckpoint {
  readonly checkpoint: Checkpoint;
  /** The signed note as received from the log. */
  readonly note: string;
}

/**
 * Where the witness keeps its latest checkpoints. `latest` resolves
 * undefined, never throws, for an origin never cosigned; `save` resolves once
 * the new state is durable.
 */
export interface WitnessStateStore {
  latest(origin: string): Promise<WitnessedCheckpoint | undefined>;
  save(origin: string, note: string): Promise<void>;
}

/** A stored state file that does not parse: the state directory was edited or damaged. */
export class WitnessStateError extends Error {
  override readonly name = "WitnessStateError";
}

function fileOf(dir: string, origin: string): string {
  return path.join(dir, "checkpoints", createHash("sha256").update(origin, "utf8").digest("hex"));
}

function parseStored(note: string, origin: string, file: string): WitnessedCheckpoint {
  let checkpoint: Checkpoint;
  try {
    checkpoint = parseCheckpoint(splitSignedNote(note).text);
  } catch (cause) {
    throw new WitnessStateError(`state file ${file} does not hold a checkpoint note`, { cause });
  }
  if (checkpoint.origin !== origin) throw new WitnessStateError(`state file ${file} holds origin ${JSON.stringify(checkpoint.origin)}, not ${JSON.stringify(origin)}`);
  return { checkpoint, note };
}

/** The state store in a directory (created on first save, mode 0700, files 0600). */
export function directoryStateStore(dir: string): WitnessStateStore {
  return {
    async latest(origin) {
      const file = fileOf(dir, origin);
      const note = await readTextIfExists(file);
      return note === undefined ? undefined : parseStored(note, origin, file);
    },
    async save(origin, note) {
      parseStored(note, origin, fileOf(dir, origin));
      await writeFileDurably(fileOf(dir, origin), note, 0o600);
    },
  };
}

/** A memory twin for tests, with an optional fault: fail a save before it takes effect. */
export function memoryStateStore(faults: { failSave?: () => boolean } = {}): WitnessStateStore & { readonly saves: number } {
  const notes = new Map<string, string>();
  let saves = 0;
  return {
    get saves() {
      return saves;
    },
    async latest(origin) {
      const note = notes.get(origin);
      return note === undefined ? undefined : parseStored(note, origin, "(memory)");
    },
    async save(origin, note) {
      parseStored(note, origin, "(memory)");
      await Promise.resolve();
      if (faults.failSave?.() === true) throw new Error("injected save failure");
      notes.set(origin, note);
      saves++;
    },
  };
}

/** Another live process holds the state directory. */
export class WitnessStateLockedError extends Error {
  override readonly name = "WitnessStateLockedError";
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Takes the state directory for this process: the per-origin serialisation
 * of check-and-save lives in one process's memory, so two witness processes
 * on one directory could each let a request through. The lock is a file
 * holding the owner's pid; one left by a dead process (kill -9) is taken
 * over. Also removes temp files a killed save left behind. Resolves with a
 * release function.
 */
export async function lockStateDir(dir: string): Promise<() => Promise<void>> {
  await fs.mkdir(path.join(dir, "checkpoints"), { recursive: true, mode: 0o700 });
  const lock = path.join(dir, "witness.lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await fs.open(lock, "wx", 0o600);
      try {
        await handle.writeFile(`${process.pid}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const pid = Number((await readTextIfExists(lock))?.trim());
      if (Number.isSafeInteger(pid) && pid > 0 && alive(pid))
        throw new WitnessStateLockedError(`state directory ${dir} is in use by process ${pid}; if it is not a witness, remove ${lock}`);
      if (attempt === 1) throw new WitnessStateLockedError(`cannot take the lock ${lock}`);
      await fs.rm(lock, { force: true });
    }
  }
  for (const name of await fs.readdir(path.join(dir, "checkpoints")))
    if (name.startsWith(".") && name.endsWith(".tmp")) await fs.rm(path.join(dir, "checkpoints", name), { force: true });
  return async () => {
    if ((await readTextIfExists(lock))?.trim() === String(process.pid)) await fs.rm(lock, { force: true });
  };
}
