/**
 * The service's listening sockets: the public port and, when configured, the
 * metrics address. Both are bound before anything durable is created, so a
 * taken port fails a first start having created nothing; until the app is
 * served they answer 503 "starting".
 */
import type { Server } from "node:http";
import type { Express } from "express";
import type { Config } from "../config";
import { closeServer, createStartingServer, type StartingServer } from "../http/server";

/** The configured port could not be bound. The message is the one line to print. */
export class ListenError extends Error {
  override readonly name = "ListenError";
}

/** Requests in flight get this long to finish when the service stops; then their connections are closed. */
export const CLOSE_GRACE_MS = 2000;

/**
 * Binds the configured port, answering 503 "starting" until the app is
 * served. Called before anything durable is created (data directory, keys,
 * chain, first admin token), so that a taken port fails a first start
 * having created nothing. Throws ListenError.
 */
export async function listenFirst(config: Config): Promise<StartingServer> {
  const starting = createStartingServer(config.http);
  try {
    await new Promise<void>((resolve, reject) => {
      starting.server.once("error", reject);
      starting.server.listen(config.port, config.host, () => {
        starting.server.off("error", reject);
        resolve();
      });
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const where = `port ${config.port} on ${config.host}`;
    throw new ListenError(
      code === "EADDRINUSE"
        ? `${where} is already in use (set PORT or HOST to use another)`
        : code === "EACCES"
          ? `${where} needs privileges this user lacks (use a port above 1023)`
          : code === "EADDRNOTAVAIL" || code === "ENOTFOUND"
            ? `cannot listen on ${config.host}: not an address of this machine`
            : `cannot listen on ${where}: ${code ?? (e as Error).message}`,
    );
  }
  return starting;
}

/** Binds LEDGER_METRICS_ADDRESS as {@link listenFirst} binds the public port: before anything durable exists. Throws ListenError. */
export async function listenMetricsFirst(address: { readonly host: string; readonly port: number }, limits: Config["http"]): Promise<StartingServer> {
  const starting = createStartingServer(limits);
  try {
    await new Promise<void>((resolve, reject) => {
      starting.server.once("error", reject);
      starting.server.listen(address.port, address.host, () => {
        starting.server.off("error", reject);
        resolve();
      });
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ListenError(`cannot serve the metrics on ${address.host}:${address.port} (LEDGER_METRICS_ADDRESS): ${code ?? (e as Error).message}`);
  }
  return starting;
}

/** The URL of a listening server, as the banner shows it. */
export function serverUrl(server: Server, host: string, fallbackPort: number): string {
  const a = server.address();
  const port = typeof a === "object" && a !== null ? a.port : fallbackPort;
  const shown = host === "0.0.0.0" || host === "::" ? "localhost" : host.includes(":") ? `[${host}]` : host;
  return `http://${shown}:${port}`;
}

/** The bound sockets of one service. */
export interface BoundServers {
  readonly listening: StartingServer;
  /** Bound only with a metrics address. */
  readonly metricsListening: StartingServer | undefined;
  /**
   * Serves `app` on the public port and, on the metrics address, `metricsApp`
   * (required when one is bound). Returns the service's URL and where GET
   * /metrics is served: on its own address, on the public port behind the
   * token, or nowhere.
   */
  serve(app: Express, metricsApp: Express | undefined): { readonly url: string; readonly metricsUrl: string | undefined };
  /** Closes both, giving requests in flight `graceMs`. */
  close(graceMs: number): Promise<void>;
}

export interface ServerOptions {
  /** Already listening (main binds before it reads anything else); else bound here. */
  readonly listening?: StartingServer | undefined;
  readonly metricsListening?: StartingServer | undefined;
  readonly metricsAddress?: { readonly host: string; readonly port: number } | undefined;
  /** Set when /metrics is served at all; with no metrics address, on the public port. */
  readonly metricsToken?: string | undefined;
}

/**
 * The public port and the metrics address: the servers given, else bound
 * here. A metrics address that cannot be bound closes the public port again.
 * Throws ListenError.
 */
export async function bindServers(config: Config, o: ServerOptions): Promise<BoundServers> {
  const listening = o.listening ?? (await listenFirst(config));
  let metricsListening: StartingServer | undefined;
  try {
    metricsListening = o.metricsListening ?? (o.metricsAddress === undefined ? undefined : await listenMetricsFirst(o.metricsAddress, config.http));
  } catch (e) {
    await closeServer(listening.server, 0);
    throw e;
  }
  return {
    listening,
    metricsListening,
    serve(app, metricsApp) {
      listening.serve(app);
      if (metricsListening !== undefined && metricsApp !== undefined) metricsListening.serve(metricsApp);
      const address = listening.server.address();
      const port = typeof address === "object" && address !== null ? address.port : config.port;
      const url = `http://${config.host === "0.0.0.0" ? "localhost" : config.host}:${port}`;
      const metricsUrl =
        metricsListening !== undefined && o.metricsAddress !== undefined
          ? `${serverUrl(metricsListening.server, o.metricsAddress.host, o.metricsAddress.port)}/metrics`
          : o.metricsToken !== undefined
            ? `${url}/metrics`
            : undefined;
      return { url, metricsUrl };
    },
    async close(graceMs) {
      await closeServer(listening.server, graceMs);
      if (metricsListening !== undefined) await closeServer(metricsListening.server, graceMs);
    },
  };
}
