/**
 * The service's app as the benchmark servers run it: createApp over a store,
 * its request log written to /dev/null at info (as in production), publishing
 * one signed checkpoint of the whole log at /v1/log/checkpoint and
 * /tlog/checkpoint.
 */
import type { Express } from "express";
import type { Server } from "node:http";
import pino from "pino";
import { AccessCodes } from "../../service/auth/access-codes";
import { systemClock } from "../../service/clock";
import { createApp, type AppConfig } from "../../service/http/app";
import { Tokens } from "../../service/http/tokens";
import { Ledger } from "../../service/ledger/ledger";
import { parseSignerKey, signCheckpoint } from "../../service/log";
import { Queries } from "../../service/queries/queries";
import { TileQueries } from "../../service/queries/tiles";
import type { LevelStore } from "../../service/store/level";

export interface BenchAppOptions {
  readonly store: LevelStore;
  readonly origin: string;
  readonly key: { readonly signerKey: string; readonly verifierKey: string };
  readonly rateLimit: AppConfig["rateLimit"];
}

/** The app over `store`, and the size of the checkpoint it publishes. */
export async function benchApp(o: BenchAppOptions): Promise<{ app: Express; size: number }> {
  const { store } = o;
  const ledger = await Ledger.open({ store, clock: systemClock });
  const note = signCheckpoint({ origin: o.origin, size: ledger.size, rootHash: ledger.root(), extensions: [] }, parseSignerKey(o.key.signerKey));
  const published = { size: ledger.size, note };
  const app = createApp({
    ledger,
    queries: new Queries({ store, size: () => ledger.size }),
    tokens: new Tokens(store, systemClock),
    logger: pino({ level: "info" }, pino.destination("/dev/null")),
    signedCheckpoint: async () => note,
    config: { rateLimit: o.rateLimit },
    logKey: o.key.verifierKey,
    accessCodes: new AccessCodes(new Uint8Array(32).fill(1)),
    tiles: new TileQueries({ store, published: async () => published }),
  });
  return { app, size: ledger.size };
}

/** Listens on a free port of 127.0.0.1 and prints the port on its own line, for the benchmark that started this process. */
export function listenAndPrintPort(app: Pick<Express, "listen">): Server {
  const server = app.listen(0, "127.0.0.1", () => {
    const a = server.address();
    process.stdout.write(`${typeof a === "object" && a !== null ? a.port : 0}\n`);
  });
  return server;
}
