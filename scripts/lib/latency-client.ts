/**
 * Times random inclusion proofs over keep-alive connections, each asking
 * for the next proof once its answer is read, in a process of its own, and sends the latency percentiles
 * (ms, from request written to body read) to its parent over IPC.
 *
 * A process of its own because the benchmark's process holds the write
 * phase's garbage: its collections would count in the service's latency.
 * Microseconds, because autocannon's histogram rounds to whole
 * milliseconds, which is the size of what is measured.
 *
 * The first `warm-up` proofs are reported apart: after a start or a write
 * phase they can be slower (reading tiles the OS page cache may no longer
 * hold: a machine under memory pressure reclaims pages not used lately), so
 * they show a cold service, the rest a warm one.
 *
 *   (forked by scripts/bench-api.ts) argv: <base URL> <tree size> <warm-up> <count> [<connections>]
 */
import { Agent, get } from "node:http";

export interface LatencyReport {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

/** What the client sends its parent: the warm-up's percentiles (null without one) and the measured proofs'. */
export interface ProofLatencies {
  readonly warmUp: LatencyReport | null;
  readonly measured: LatencyReport;
}

/** Percentiles of `ms` (sorted in place), nearest rank. */
export function percentiles(ms: number[]): LatencyReport {
  ms.sort((a, b) => a - b);
  const at = (p: number) => ms[Math.min(ms.length - 1, Math.ceil(p * ms.length) - 1)]!;
  return { count: ms.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), p999: at(0.999), max: ms[ms.length - 1]! };
}

function once(agent: Agent, url: string): Promise<number> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = get(url, { agent }, (res) => {
      res.resume();
      res.once("end", () => {
        if (res.statusCode !== 200) reject(new Error(`${url}: HTTP ${res.statusCode}`));
        else resolve(Number(process.hrtime.bigint() - started) / 1e6);
      });
    });
    req.once("error", reject);
    // A stalled service fails the benchmark instead of hanging it.
    req.setTimeout(10_000, () => req.destroy(new Error(`${url}: no answer in 10 s`)));
  });
}

async function main(): Promise<void> {
  const [base, sizeArg, warmArg, countArg, connectionsArg = "1"] = process.argv.slice(2);
  const [size, warm, count, connections] = [sizeArg, warmArg, countArg, connectionsArg].map(Number) as [number, number, number, number];
  if (
    base === undefined ||
    !(Number.isSafeInteger(size) && size > 0) ||
    !(Number.isSafeInteger(warm) && warm >= 0) ||
    !(Number.isSafeInteger(count) && count > 0) ||
    !(Number.isSafeInteger(connections) && connections > 0)
  ) {
    throw new Error("usage: latency-client <base URL> <tree size> <warm-up> <count> [<connections>]");
  }
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const time = async (n: number) => {
    const ms: number[] = [];
    let asked = 0;
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (asked < n) {
          asked++;
          ms.push(await once(agent, `${base}/v1/log/proof/inclusion?index=${Math.floor(Math.random() * size)}&size=${size}`));
        }
      }),
    );
    return ms;
  };
  const warmUp = await time(warm);
  const measured = await time(count);
  agent.destroy();
  const report: ProofLatencies = { warmUp: warmUp.length > 0 ? percentiles(warmUp) : null, measured: percentiles(measured) };
  process.send!(report);
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`latency-client: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
