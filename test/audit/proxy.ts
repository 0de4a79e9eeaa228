/**
 * A service in front of the real one, for the auditor's tests: it passes
 * requests through, injects transport faults (429 with Retry-After, 5xx,
 * reset connections, cut-short JSON) where a test asks, and can serve a
 * tampered log (leaves deleted, inserted, swapped or cut off) from
 * /v1/log/entries while its proofs stay the real service's: a database whose
 * leaf table was edited and whose tree was not.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** What to do with one request: pass it, answer a status (with Retry-After seconds), drop the connection, or cut the body short. */
export type Fault = "pass" | "reset" | "truncate" | { readonly status: number; readonly retryAfter?: number };

export interface LogEntryView {
  readonly leafIndex: number;
  readonly leaf: string;
  readonly entry: unknown;
}

export interface ProxyOptions {
  /** Decides each request's fate; `n` counts requests to the same path (without the query) from 1. */
  readonly fault?: (pathAndQuery: string, n: number) => Fault;
  /** Edits the log /v1/log/entries serves (the leaves are renumbered 0, 1, 2, … after it). */
  readonly entries?: (leaves: LogEntryView[]) => LogEntryView[];
  /** Serves at most this many entries a page (the real service's cap is 1000). */
  readonly pageCap?: number;
}

export interface Proxy {
  readonly url: string;
  /** Every request received (path and query), faults included. */
  readonly requests: string[];
  close(): Promise<void>;
}

export async function faultyProxy(upstream: string, options: ProxyOptions = {}): Promise<Proxy> {
  const requests: string[] = [];
  const counts = new Map<string, number>();

  const entriesPage = async (u: URL): Promise<{ status: number; body: string }> => {
    const all = (await (await fetch(`${upstream}/v1/log/entries?start=0&end=1000`)).json()) as { entries: LogEntryView[] };
    const log = (options.entries ? options.entries(all.entries) : all.entries).map((e, i) => ({ ...e, leafIndex: i }));
    const start = Number(u.searchParams.get("start") ?? 0);
    if (start > log.length) return { status: 400, body: JSON.stringify({ title: "Invalid range", detail: `start ${start} is beyond the tree size ${log.length}` }) };
    const end = Math.min(Number(u.searchParams.get("end") ?? log.length), log.length, start + (options.pageCap ?? 1000));
    return { status: 200, body: JSON.stringify({ treeSize: log.length, start, end, entries: log.slice(start, end) }) };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const u = new URL(req.url ?? "/", "http://proxy.invalid");
    requests.push(`${u.pathname}${u.search}`);
    const n = (counts.get(u.pathname) ?? 0) + 1;
    counts.set(u.pathname, n);
    const fault = options.fault?.(`${u.pathname}${u.search}`, n) ?? "pass";
    if (fault === "reset") {
      req.socket.destroy();
      return;
    }
    if (typeof fault === "object") {
      res.writeHead(fault.status, { "content-type": "application/problem+json", ...(fault.retryAfter !== undefined ? { "retry-after": String(fault.retryAfter) } : {}) });
      res.end(JSON.stringify({ title: "injected", status: fault.status, detail: "a fault injected by the test" }));
      return;
    }
    let status: number;
    let body: string;
    let type = "application/json; charset=utf-8";
    if (u.pathname === "/v1/log/entries" && (options.entries !== undefined || options.pageCap !== undefined)) ({ status, body } = await entriesPage(u));
    else {
      const r = await fetch(`${upstream}${u.pathname}${u.search}`);
      status = r.status;
      type = r.headers.get("content-type") ?? type;
      body = await r.text();
    }
    if (fault === "truncate") body = body.slice(0, Math.floor(body.length / 2));
    res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) });
    res.end(body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      res.writeHead(502);
      res.end(String(e));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
