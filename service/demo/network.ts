/**
 * The demo's publishing network (`npm run demo -- --witnesses 3 --mirror`):
 * local witnesses (the server `npm run witness` runs, service/witness) with a
 * majority quorum, and a verified mirror (service/mirror) of the service's
 * published log, all in the service's process on loopback ports, so a new
 * user sees cosigned checkpoints and a mirror that checks them in one command.
 *
 * Everything lives under `<data dir>/demo-network/`: the witnesses' keys
 * (created once, 0600) and state, the policy the service reads, and the
 * mirror's copy. The ports are chosen afresh at each start and the policy is
 * rewritten with them; the keys stay, so the witnesses' state, the saved
 * cosigned checkpoint and the mirror's copy carry over a restart.
 */
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import type { Logger } from "pino";
import { httpLogReader } from "../format/log-reader";
import { parseWitnessPolicy, type WitnessPolicy } from "../format/witness-policy";
import { parseVerifierKey } from "../log";
import { Mirror, type SyncResult } from "../mirror/mirror";
import { mirrorApp } from "../mirror/serve";
import { generateWitnessKey, readWitnessKey, startWitness, type RunningWitness } from "../witness/server";

/** Most witnesses the demo starts. */
export const MAX_DEMO_WITNESSES = 9;

export interface DemoNetworkOptions {
  readonly dataDir: string;
  /** The log's origin and verifier key: what the witnesses and the mirror trust. */
  readonly origin: string;
  readonly logVerifierKey: string;
  /** How many witnesses (1 to MAX_DEMO_WITNESSES); the quorum is a majority of them. */
  readonly witnesses: number;
  readonly logger: Logger;
}

export interface DemoWitness {
  readonly name: string;
  readonly url: string;
  readonly running: RunningWitness;
}

export interface RunningDemoMirror {
  readonly url: string;
  readonly dir: string;
  /** The last sync's outcome: its result, or the error it met. */
  last(): { readonly result: SyncResult | null; readonly error: string | null };
  /** Syncs now (also done every few seconds). */
  syncNow(): Promise<SyncResult>;
  close(): Promise<void>;
}

export interface DemoNetwork {
  readonly dir: string;
  readonly policy: WitnessPolicy;
  readonly policyFile: string;
  readonly witnesses: readonly DemoWitness[];
  /** The quorum: how many witnesses must cosign. */
  readonly quorum: number;
  /** Starts the mirror of the service at `serviceUrl` (its /tlog/), checked against the log key and the policy. */
  startMirror(serviceUrl: string, everyMs?: number): Promise<RunningDemoMirror>;
  /** The lines the start-up banner prints; with the chain, the command that audits the mirror's copy. */
  lines(mirror: RunningDemoMirror | undefined, chain?: { readonly rpcUrl: string; readonly contract: string }): string[];
  close(): Promise<void>;
}

/** Starts the witnesses and writes their policy; the mirror is started once the service listens. */
export async function startDemoNetwork(o: DemoNetworkOptions): Promise<DemoNetwork> {
  if (!Number.isSafeInteger(o.witnesses) || o.witnesses < 1 || o.witnesses > MAX_DEMO_WITNESSES)
    throw new RangeError(`witnesses must be an integer from 1 to ${MAX_DEMO_WITNESSES}`);
  const dir = path.join(o.dataDir, "demo-network");
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const logs = new Map([[o.origin, [parseVerifierKey(o.logVerifierKey)]]]);
  const witnesses: DemoWitness[] = [];
  const log = o.logger.child({ component: "demo-network" });
  try {
    for (let i = 1; i <= o.witnesses; i++) {
      const keyFile = path.join(dir, `w${i}.key`);
      if (!existsSync(keyFile)) await generateWitnessKey(keyFile, `w${i}.demo-witness.example.org`);
      const signer = await readWitnessKey(keyFile);
      const stateDir = path.join(dir, `w${i}.state`);
      await mkdir(stateDir, { recursive: true, mode: 0o700 });
      const running = await startWitness({ signer, logs, stateDir, host: "127.0.0.1", port: 0, logger: log.child({ witness: `w${i}` }) });
      witnesses.push({ name: `w${i}`, url: `http://127.0.0.1:${running.port}`, running });
    }
  } catch (e) {
    await Promise.allSettled(witnesses.map((w) => w.running.close()));
    throw e;
  }
  const quorum = Math.floor(o.witnesses / 2) + 1;
  const text =
    witnesses.map((w) => `witness ${w.name} ${w.running.witness.cosignerKey} ${w.url}\n`).join("") +
    `group demo-majority ${quorum} ${witnesses.map((w) => w.name).join(" ")}\nquorum demo-majority\n`;
  const policyFile = path.join(dir, "witness-policy.txt");
  await writeFile(policyFile, text, { mode: 0o600 });
  const policy = parseWitnessPolicy(text);
  const mirrors: RunningDemoMirror[] = [];

  return {
    dir,
    policy,
    policyFile,
    witnesses,
    quorum,
    async startMirror(serviceUrl: string, everyMs = 2000): Promise<RunningDemoMirror> {
      const mirrorDir = path.join(dir, "mirror");
      const mirror = await Mirror.open(mirrorDir, { verifier: parseVerifierKey(o.logVerifierKey), origin: o.origin, policy });
      const upstream = httpLogReader(`${serviceUrl}/tlog`, fetch);
      let last: { result: SyncResult | null; error: string | null } = { result: null, error: null };
      let running: Promise<SyncResult> | undefined;
      const syncNow = (): Promise<SyncResult> => {
        running ??= mirror.sync(upstream).then(
          (result) => {
            last = { result, error: null };
            running = undefined;
            return result;
          },
          (e: unknown) => {
            const message = e instanceof Error ? e.message : String(e);
            if (last.error !== message) log.warn({ err: e }, `demo mirror: ${message}`);
            last = { result: last.result, error: message };
            running = undefined;
            throw e;
          },
        );
        return running;
      };
      const timer = setInterval(() => void syncNow().catch(() => undefined), everyMs);
      timer.unref();
      const app = mirrorApp({ dir: mirrorDir, status: () => ({ upstream: `${serviceUrl}/tlog`, size: last.result?.size ?? null, lastError: last.error }) });
      const server = await new Promise<Server>((resolve, reject) => {
        const s = app.listen(0, "127.0.0.1", (err?: Error) => (err === undefined ? resolve(s) : reject(err)));
      });
      const m: RunningDemoMirror = {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        dir: mirrorDir,
        last: () => last,
        syncNow,
        close: async () => {
          clearInterval(timer);
          await running?.catch(() => undefined);
          await new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          });
        },
      };
      mirrors.push(m);
      return m;
    },
    lines(mirror: RunningDemoMirror | undefined, chain?: { readonly rpcUrl: string; readonly contract: string }): string[] {
      const out = [
        `  demo witnesses: ${witnesses.map((w) => `${w.name} ${w.url}`).join(", ")}; quorum ${quorum} of ${witnesses.length} (policy ${policyFile})`,
        `                  /tlog/checkpoint shows each checkpoint with their cosignature lines once ${quorum} cosigned it`,
      ];
      if (mirror !== undefined)
        out.push(
          `  demo mirror:    ${mirror.url}/tlog/checkpoint  (status ${mirror.url}/mirror/status; copy in ${mirror.dir}), checked against the log key and the witness policy`,
        );
      // The printed commands check the cosignatures too: without --witness-policy the auditor only lists them.
      if (mirror !== undefined && chain !== undefined)
        out.push(
          `                  audit it: npm run verify -- --tlog ${mirror.url}/tlog --rpc ${chain.rpcUrl} --contract ${chain.contract} --log-key '${o.logVerifierKey}' --witness-policy ${policyFile}`,
        );
      out.push(
        `  receipts:       verify offline, with no chain: npm run verify -- --receipt receipt.json --log-key '${o.logVerifierKey}' --witness-policy ${policyFile}`,
      );
      return out;
    },
    async close(): Promise<void> {
      await Promise.allSettled(mirrors.map((m) => m.close()));
      await Promise.allSettled(witnesses.map((w) => w.running.close()));
    },
  };
}
