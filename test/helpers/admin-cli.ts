/**
 * The admin CLI run in this process with its output captured, as the tests of
 * `npm run admin` need it. Standard output, standard error and the environment
 * variables it was given are restored however the run ends.
 */
import { runCli } from "../../scripts/admin";

export interface CliRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Runs `npm run admin -- <args>` with `env` set for the run (undefined unsets a variable). */
export async function runAdmin(args: string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
  let out = "";
  let err = "";
  const o = process.stdout.write.bind(process.stdout);
  const e = process.stderr.write.bind(process.stderr);
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  const setEnv = (vars: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(vars)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  };
  setEnv(env);
  process.stdout.write = ((s: string | Uint8Array) => ((out += String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => ((err += String(s)), true)) as typeof process.stderr.write;
  try {
    return { code: await runCli(args), out, err };
  } finally {
    process.stdout.write = o;
    process.stderr.write = e;
    setEnv(saved);
  }
}
