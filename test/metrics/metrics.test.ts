/**
 * GET /metrics on the HTTP app: what a scrape shows after writes, its token,
 * and the label sets (route patterns, limiters, RPC error kinds) that must
 * stay bounded whatever clients send.
 */
import { expect } from "chai";
import { ServiceMetrics, type AnchoringSnapshot, type MetricSources, type WitnessSnapshot } from "../../service/metrics/metrics";
import { createWorld, expectProblem, get, post, programmeBody, record, approvedApplication, type World } from "../http/helpers";
import type { MemoryStore } from "../../service/store/memory";
import { ChainClient } from "../../service/chain/client";
import request from "supertest";
import { METRICS_TOKEN, sample } from "./helpers";

/** Every label value of `label` among the samples of `name`. */
function labelValues(text: string, name: string, label: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`^${name}\\{[^}]*\\b${label}="([^"]*)"`, "gm");
  for (const m of text.matchAll(re)) out.push(m[1]!);
  return out;
}

function advance(w: World, ms: number): void {
  w.clock.set(new Date(w.clock.now() + ms).toISOString());
}

interface MetricsWorld {
  readonly w: World;
  readonly metrics: ServiceMetrics;
  /** Marks the current tree as anchored, as the anchorer would. */
  anchorAll(): void;
  scrape(token?: string | null): Promise<string>;
}

async function metricsWorld(options: { witnesses?: () => WitnessSnapshot; token?: string | null; publicPerMinute?: number } = {}): Promise<MetricsWorld> {
  let world: World | undefined;
  let anchoredSize = 0;
  let anchoredAt: number | null = null;
  let firstUnanchoredAt: number | null = null;
  const now = () => world!.clock.now();
  const sources: MetricSources = {
    treeSize: () => world!.ledger.size,
    recordingHalted: () => world!.ledger.halted !== null,
    isLeader: () => true,
    anchoring: async (): Promise<AnchoringSnapshot> => {
      const size = world!.ledger.size;
      if (size > anchoredSize) firstUnanchoredAt ??= now();
      return {
        anchoredSize,
        lagEntries: size - anchoredSize,
        lagSeconds: firstUnanchoredAt === null ? 0 : (now() - firstUnanchoredAt) / 1000,
        fatal: false,
      };
    },
    published: () => (anchoredAt === null ? null : { size: anchoredSize, anchoredAt: new Date(anchoredAt).toISOString() }),
    ...(options.witnesses ? { witnesses: options.witnesses } : {}),
    now: () => now() / 1000,
  };
  const metrics = new ServiceMetrics(sources);
  const token = options.token === undefined ? METRICS_TOKEN : options.token;
  world = await createWorld({
    metrics: { metrics, ...(token !== null ? { metricsToken: token } : {}), ledgerObserver: metrics.ledger },
    ...(options.publicPerMinute !== undefined ? { config: { rateLimit: { publicPerMinute: options.publicPerMinute, adminPerMinute: 100_000 } } } : {}),
  });
  const w = world;
  return {
    w,
    metrics,
    anchorAll() {
      anchoredSize = w.ledger.size;
      anchoredAt = now();
      firstUnanchoredAt = null;
    },
    async scrape(t: string | null = METRICS_TOKEN) {
      const req = request(w.server).get("/metrics");
      const res = await (t === null ? req : req.set("Authorization", `Bearer ${t}`));
      expect(res.status, res.text).to.equal(200);
      expect(res.headers["content-type"]).to.match(/^text\/plain; version=0\.0\.4/);
      return res.text;
    },
  };
}

describe("GET /metrics", function () {
  describe("after writes", function () {
    it("shows the tree size and the anchoring lag growing, and the lag back at 0 once anchored", async function () {
      const { w, scrape, anchorAll } = await metricsWorld();
      let text = await scrape();
      expect(sample(text, "ledger_tree_size")).to.equal(0);
      expect(sample(text, "ledger_anchoring_lag_entries")).to.equal(0);
      expect(sample(text, "ledger_checkpoint_age_seconds")).to.be.NaN;

      await record(w, "/v1/programmes", "admin", programmeBody());
      text = await scrape();
      expect(sample(text, "ledger_tree_size")).to.equal(1);
      expect(sample(text, "ledger_anchoring_lag_entries")).to.equal(1);
      advance(w, 30_000);
      await approvedApplication(w);
      text = await scrape();
      expect(sample(text, "ledger_tree_size")).to.equal(w.ledger.size).and.to.be.greaterThan(1);
      expect(sample(text, "ledger_anchoring_lag_entries")).to.equal(w.ledger.size);
      expect(sample(text, "ledger_anchoring_lag_seconds")).to.equal(30);

      anchorAll();
      advance(w, 5_000);
      text = await scrape();
      expect(sample(text, "ledger_anchoring_lag_entries")).to.equal(0);
      expect(sample(text, "ledger_anchoring_lag_seconds")).to.equal(0);
      expect(sample(text, "ledger_anchored_size")).to.equal(w.ledger.size);
      expect(sample(text, "ledger_checkpoint_size")).to.equal(w.ledger.size);
      expect(sample(text, "ledger_checkpoint_age_seconds")).to.equal(5);
    });

    it("counts each commit's entries and time in the sequencer's histograms", async function () {
      const { w, scrape } = await metricsWorld();
      await record(w, "/v1/programmes", "admin", programmeBody());
      await record(w, "/v1/programmes", "admin", programmeBody({ code: "P2" }));
      const text = await scrape();
      expect(sample(text, "ledger_batch_entries_count")).to.equal(2);
      expect(sample(text, "ledger_batch_entries_sum")).to.equal(2);
      expect(sample(text, "ledger_commit_seconds_count")).to.equal(2);
      expect(sample(text, "ledger_commit_failures_total")).to.equal(0);
    });

    it("counts a failed commit, and no batch for it", async function () {
      const { w, scrape } = await metricsWorld();
      (w.store as MemoryStore).injectFault("fail-before-persist");
      const res = await post(w, "/v1/programmes", w.tokens.admin, programmeBody());
      expect(res.status).to.equal(503);
      const text = await scrape();
      expect(sample(text, "ledger_commit_failures_total")).to.equal(1);
      expect(sample(text, "ledger_batch_entries_count")).to.equal(0);
      expect(sample(text, "ledger_tree_size")).to.equal(0);
    });

    it("includes the process metrics, the leader gauge and the halted gauge", async function () {
      const { w, scrape } = await metricsWorld();
      let text = await scrape();
      expect(sample(text, "process_resident_memory_bytes")).to.be.greaterThan(0);
      expect(sample(text, "ledger_leader")).to.equal(1);
      expect(sample(text, "ledger_recording_halted")).to.equal(0);
      w.ledger.halt("split-view", "test");
      text = await scrape();
      expect(sample(text, "ledger_recording_halted")).to.equal(1);
    });
  });

  describe("its protection", function () {
    it("refuses a scrape without the token or with a wrong one with 401 problem+json that shows no metric", async function () {
      const { w } = await metricsWorld();
      await record(w, "/v1/programmes", "admin", programmeBody());
      for (const auth of [undefined, `Bearer ${"x".repeat(40)}`, `Bearer ${METRICS_TOKEN}x`, `Basic ${METRICS_TOKEN}`, METRICS_TOKEN, `Bearer ${w.tokens.admin}`]) {
        const req = request(w.server).get("/metrics");
        const res = await (auth === undefined ? req : req.set("Authorization", auth));
        const body = expectProblem(res, 401);
        expect(body["type"]).to.match(/unauthorized$/);
        expect(res.headers["www-authenticate"]).to.match(/^Bearer/);
        expect(res.text).to.not.match(/ledger_|process_|# HELP/);
      }
    });

    it("is not served (404) on the app when no token is given", async function () {
      const { w } = await metricsWorld({ token: null });
      expectProblem(await request(w.server).get("/metrics").set("Authorization", `Bearer ${METRICS_TOKEN}`), 404);
      expectProblem(await get(w, "/metrics"), 404);
    });
  });

  describe("its labels", function () {
    it("name a request's route by its pattern, never by its raw path", async function () {
      const { w, scrape } = await metricsWorld();
      const id = await record(w, "/v1/programmes", "admin", programmeBody());
      expect((await get(w, `/v1/entries/${id}`)).status).to.equal(200);
      expect((await get(w, `/v1/programmes/${id}`)).status).to.equal(200);
      expect((await get(w, "/v1/no/such/path/xyz123")).status).to.equal(404);
      expect((await get(w, "/v1/entries/not-an-id")).status).to.equal(400);
      const text = await scrape();
      expect(text).to.not.contain(id);
      expect(text).to.not.contain("xyz123");
      expect(text).to.not.contain("not-an-id");
      expect(sample(text, "ledger_http_requests_total", { method: "GET", route: "/v1/entries/:id", status: "200" })).to.equal(1);
      expect(sample(text, "ledger_http_requests_total", { method: "GET", route: "/v1/entries/:id", status: "400" })).to.equal(1);
      expect(sample(text, "ledger_http_requests_total", { method: "GET", route: "/v1/programmes/:id", status: "200" })).to.equal(1);
      expect(sample(text, "ledger_http_requests_total", { method: "POST", route: "/v1/programmes", status: "201" })).to.equal(1);
      expect(sample(text, "ledger_http_requests_total", { method: "GET", route: "none", status: "404" })).to.equal(1);
      expect(sample(text, "ledger_http_request_seconds_count", { method: "GET", route: "/v1/entries/:id" })).to.equal(2);
      for (const route of labelValues(text, "ledger_http_requests_total", "route")) expect(route).to.match(/^(none|\/[a-z0-9/:_*-]*)$/);
    });

    it("count rate-limit refusals by limiter", async function () {
      const { w, scrape } = await metricsWorld({ publicPerMinute: 2 });
      for (let i = 0; i < 4; i++) await get(w, "/v1/health");
      const text = await scrape();
      expect(sample(text, "ledger_rate_limited_total", { limiter: "public" })).to.equal(2);
      expect(sample(text, "ledger_http_requests_total", { method: "GET", route: "/v1/health", status: "429" })).to.equal(2);
    });

    it("count the chain client's retried RPC failures by kind and method", async function () {
      const { metrics, scrape } = await metricsWorld();
      const listeners: ((method: string, error: { code: string }) => void)[] = [];
      const client = {
        onRetry(l: (method: string, error: { code: string }) => void) {
          listeners.push(l);
          return () => listeners.splice(listeners.indexOf(l), 1);
        },
      };
      const unwatch = metrics.watchChain(client);
      listeners[0]!("eth_blockNumber", { code: "UNAVAILABLE" });
      listeners[0]!("eth_blockNumber", { code: "UNAVAILABLE" });
      listeners[0]!("eth_sendRawTransaction", { code: "UNAVAILABLE" });
      listeners[0]!("<script>", { code: "UNAVAILABLE" });
      unwatch();
      expect(listeners).to.have.length(0);
      const text = await scrape();
      expect(sample(text, "ledger_rpc_errors_total", { kind: "UNAVAILABLE", method: "eth_blockNumber" })).to.equal(2);
      expect(sample(text, "ledger_rpc_errors_total", { kind: "UNAVAILABLE", method: "eth_sendRawTransaction" })).to.equal(1);
      expect(sample(text, "ledger_rpc_errors_total", { kind: "UNAVAILABLE", method: "other" })).to.equal(1);
    });
  });

  describe("with the real chain client", function () {
    it("counts each retried failure of an RPC call, not the call that finally succeeds", async function () {
      const { metrics, scrape } = await metricsWorld();
      let calls = 0;
      const transport = {
        async request(): Promise<unknown> {
          calls += 1;
          if (calls <= 2) throw Object.assign(new Error("internal error"), { code: -32603 });
          return "0x10";
        },
      };
      const client = new ChainClient({ transport, chainId: 31337, address: `0x${"11".repeat(20)}`, clock: { sleep: async () => {} } });
      const unwatch = metrics.watchChain(client);
      expect(await client.rpc("eth_blockNumber")).to.equal("0x10");
      unwatch();
      expect(sample(await scrape(), "ledger_rpc_errors_total", { kind: "UNAVAILABLE", method: "eth_blockNumber" })).to.equal(2);
    });
  });

  describe("witness lag", function () {
    it("is shown per witness when a witness policy is set", async function () {
      const witnesses = (): WitnessSnapshot => ({
        blocked: false,
        witnesses: [
          { name: "w1.example", lagEntries: 0, alarm: null },
          { name: "w2.example", lagEntries: 7, alarm: "SPLIT_VIEW" },
        ],
      });
      const text = await (await metricsWorld({ witnesses })).scrape();
      expect(sample(text, "ledger_witness_lag_entries", { witness: "w1.example" })).to.equal(0);
      expect(sample(text, "ledger_witness_lag_entries", { witness: "w2.example" })).to.equal(7);
      expect(sample(text, "ledger_witness_alarm", { witness: "w2.example" })).to.equal(1);
      expect(sample(text, "ledger_witness_quorum_blocked")).to.equal(0);
    });

    it("is absent without a witness policy", async function () {
      const text = await (await metricsWorld()).scrape();
      expect(text).to.not.contain("ledger_witness_");
    });
  });
});
