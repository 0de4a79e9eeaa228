/**
 * Small files the service reads at start-up: key files, which must stay
 * private, and state files, which may not exist yet. One implementation of
 * "missing is not an error", the permission check, and the create-once write.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { syncDirectory } from "./durable-file";

/** A key file could not be read or created, or others can read it. The message names the file, never its contents. */
export class SecretFileError extends Error {
  override readonly name = "SecretFileError";
}

/** The file's text, or undefined if it does not exist. Other read errors are thrown as they are. */
export async function readTextIfExists(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

/**
 * The trimmed text of a secret file, or undefined if it does not exist.
 * Refuses (SecretFileError) anything but a regular file, and a file group or
 * others can access: a key on a shared machine must not be world-readable.
 */
export async function readSecretFile(file: string, what: string): Promise<string | undefined> {
  let st;
  try {
    st = await fs.stat(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new SecretFileError(`cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? "error"}`);
  }
  if (!st.isFile()) throw new SecretFileError(`${what} ${file} is not a regular file`);
  if (process.platform !== "win32" && (st.mode & 0o077) !== 0)
    throw new SecretFileError(`${what} ${file} is accessible to others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
  try {
    return (await fs.readFile(file, "utf8")).trim();
  } catch (e) {
    throw new SecretFileError(`cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? "error"}`);
  }
}

/**
 * Creates a secret file with mode 0600 (its directory 0700) holding `text`,
 * durably. Never overwrites: returns false, writing nothing, if the file
 * already exists (another process created it meanwhile; read that one).
 */
export async function createSecretFile(file: string, text: string, what: string): Promise<boolean> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, "wx", 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw new SecretFileError(`cannot create ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? "error"}`);
  }
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await syncDirectory(dir);
  return true;
}
