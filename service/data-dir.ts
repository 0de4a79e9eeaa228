/**
 * The data directory: private to the service's user, and the one note about
 * the first admin token that lives in it.
 *
 * Privacy. The directory holds LevelDB (with private openings of entries),
 * tiles.cache, the keys, the local chain's state and the anchorer's state.
 * It is created 0700, and every process that opens one (the service, the
 * admin CLI, the demo loader) runs with umask 077, so what it creates inside
 * is 0600 (files) or 0700 (directories). Opening refuses a directory that
 * group or others can access at all. Checking the directory itself is what
 * keeps its contents private: nobody else can reach an entry of a 0700
 * directory, whatever the entry's own mode (files of a directory made before
 * this check may be 0644; the chmod printed fixes those too).
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { syncDirectory, writeFileDurably } from "./durable-file";

/** The data directory is not a private directory of this user; the message says how to fix it. */
export class DataDirError extends Error {
  override readonly name = "DataDirError";
}

/** `s` as one shell word. */
function shellWord(s: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** umask 077: what the process creates from now on is private to its user. Call first thing in a process that opens a data directory. */
export function makeCreatedFilesPrivate(): void {
  if (process.platform !== "win32") process.umask(0o077);
}

/**
 * Checks the data directory without creating anything: "missing" when it
 * does not exist yet, "private" when it is a directory only its owner can
 * access; otherwise DataDirError, with the chmod that fixes it.
 */
export async function checkDataDir(dir: string): Promise<"missing" | "private"> {
  const abs = path.resolve(dir);
  let st;
  try {
    st = await fs.stat(abs);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return "missing";
    throw new DataDirError(`cannot read the data directory ${abs}: ${(e as NodeJS.ErrnoException).code ?? "error"}`);
  }
  if (!st.isDirectory()) throw new DataDirError(`the data directory ${abs} is not a directory`);
  if (process.platform !== "win32" && (st.mode & 0o077) !== 0)
    throw new DataDirError(
      `the data directory ${abs} is accessible to other users (mode ${(st.mode & 0o777).toString(8)}); make it private with: chmod -R go-rwx ${shellWord(abs)}`,
    );
  return "private";
}

/** Creates the data directory (and missing parents) with mode 0700 if it does not exist, then checks it as {@link checkDataDir} does. */
export async function openDataDir(dir: string): Promise<void> {
  const abs = path.resolve(dir);
  if ((await checkDataDir(abs)) === "private") return;
  await fs.mkdir(abs, { recursive: true, mode: 0o700 });
  await syncDirectory(path.dirname(abs));
  await checkDataDir(abs);
}

// ------------------------------------------------------------ the first admin token

/**
 * Present while a first admin token has been created but not yet printed.
 * The service writes it (durably) before it creates the token and removes it
 * once the token is printed; the admin CLI removes it when it creates an
 * admin token in the directory. If a start dies in between, the next one
 * finds tokens and this file, and says how to get an admin token.
 * (A file that says "shown" would instead be missing from every data
 * directory made before it existed, which would then all say so forever.)
 */
export const FIRST_TOKEN_PENDING = "first-admin-token.pending";

export async function markFirstAdminTokenPending(dataDir: string): Promise<void> {
  await writeFileDurably(
    path.join(dataDir, FIRST_TOKEN_PENDING),
    "A first admin token was created but maybe never shown. Create one with: npm run admin -- token create --role admin ...\n",
  );
}

export async function firstAdminTokenPending(dataDir: string): Promise<boolean> {
  try {
    await fs.access(path.join(dataDir, FIRST_TOKEN_PENDING));
    return true;
  } catch {
    return false;
  }
}

export async function clearFirstAdminTokenPending(dataDir: string): Promise<void> {
  await fs.rm(path.join(dataDir, FIRST_TOKEN_PENDING), { force: true });
  await syncDirectory(dataDir);
}

/** What to run to get an admin token for `dataDir` (the service must be stopped: the CLI opens the directory). */
export function adminTokenCommand(dataDir: string): string {
  return `npm run admin -- --data-dir ${shellWord(dataDir)} token create --official <id> --agency <code> --role admin`;
}
