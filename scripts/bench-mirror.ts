/**
 * Mirror sync: entries per second of a first full sync (service/mirror) from
 * the service's /tlog/ over HTTP on localhost, into an empty directory, with
 * every tile and bundle authenticated before it is written and re-checked
 * after, and each file fsynced. Then a second sync after nothing changed.
 *
 *   npm run bench:mirror -- [--leaves 1000000] [--json]
 *
 * The upstream is scripts/lib/bench-tiles-server.ts (the service's app over a
 * LevelStore of synthetic leaves of about 300 bytes), in its own process; the
 * store is built once per run in a temporary directory, and not timed.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { httpLogReader } from "../service/format/log-reader";
import { parseVerifierKey } from "../service/log";
import { Mirror } from "../service/mirror/mirror";

const opts = new Command("bench:mirror")
  .description("Entries/s of a first full mirror sync (npm run mirror's code) from the service's /tlog/ over HTTP on localhost, then of a second sync with nothing new.")
  .option(
    "--leaves <n>",
    "leaves in the log (at least 1)",
    (v) => {
      if (!/^[0-9]+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError("a whole number of at least 1");
      return Number(v);
    },
    1_000_000,
  )
  .option("--json", "print the results as JSON instead of a Markdown table")
  .addHelpText(
    "after",
    `
The upstream (the service's app over a LevelStore of synthetic leaves of
about 300 bytes) is built in a temporary directory first, not timed. The sync
authenticates every tile and bundle against the signed checkpoint before it
writes it, re-checks it after, and fsyncs each file. The load average is
printed beside the figures: they depend on what else the machine runs.`,
  )
  .parse()
  .opts<{ leaves: number; json?: boolean }>();

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), "bench-mirror-"));
  const started = Date.now();
  const child = spawn(
    process.execPath,
    ["-r", "ts-node/register/transpile-only", path.join(__dirname, "lib/bench-tiles-server.ts"), path.join(dir, "upstream"), String(opts.leaves)],
    {
      stdio: ["ignore", "pipe", "inherit"],
    }
  );
  try {
    const port = await new Promise<number>((ok, fail) => {
      child.stdout.once("data", (d: Buffer) => ok(Number(d.toString().trim())));
      child.once("exit", (code) => fail(new Error(`server exited with ${code}`)));
    });
    const say = (line: string) => (opts.json ? process.stderr.write(`${line}\n`) : console.log(line));
    say(`upstream log of ${opts.leaves} leaves ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const base = `http://127.0.0.1:${port}`;
    const verifier = parseVerifierKey((await (await fetch(`${base}/v1/log/key`)).text()).trim());
    const mirror = await Mirror.open(path.join(dir, "mirror"), { verifier });
    const upstream = httpLogReader(`${base}/tlog`, fetch);

    let t = process.hrtime.bigint();
    const r = await mirror.sync(upstream);
    const first = Number(process.hrtime.bigint() - t) / 1e9;
    if (r.size !== opts.leaves) throw new Error(`synced ${r.size} entries, expected ${opts.leaves}`);
    t = process.hrtime.bigint();
    const again = await mirror.sync(upstream);
    const second = Number(process.hrtime.bigint() - t) / 1e9;
    const load = loadavg().map((l) => l.toFixed(2));
    if (opts.json) {
      console.log(
        JSON.stringify(
          {
            bench: "mirror",
            node: process.version,
            at: new Date().toISOString(),
            entries: r.size,
            first: { filesWritten: r.written, seconds: Number(first.toFixed(2)), entriesPerSecond: Math.round(r.size / first) },
            again: { filesWritten: again.written, seconds: Number(second.toFixed(3)) },
            loadAverage: load.map(Number),
            cpus: availableParallelism(),
          },
          null,
          2,
        ),
      );
      return;
    }
    console.log(`bench:mirror (${process.version}, ${new Date().toISOString()}), load average ${load.join(" ")} on ${availableParallelism()} CPUs at the end`);
    console.log("| sync | entries | files written | seconds | entries/s |\n|---|---:|---:|---:|---:|");
    console.log(`| first, into an empty directory | ${r.size.toLocaleString("en-US")} | ${r.written.toLocaleString("en-US")} | ${first.toFixed(1)} | ${Math.round(r.size / first).toLocaleString("en-US")} |`);
    console.log(`| again, nothing new | 0 | ${again.written} | ${second.toFixed(2)} | – |`);
  } finally {
    child.kill("SIGTERM");
    await new Promise((ok) => child.once("exit", ok));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
