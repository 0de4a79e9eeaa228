/**
 * Talking to a started service over real HTTP, as the process-level tests do
 * (the service, PostgreSQL, tiles, witnesses, mirrors): one small programme,
 * and waiting for a published checkpoint.
 */

/** Records programme `code` (tiny, always open) as the admin, with Idempotency-Key `code` lower-cased; the response as fetch gives it. */
export function recordProgramme(url: string, adminToken: string, code = "P1"): Promise<Response> {
  return fetch(`${url}/v1/programmes`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminToken}`, "idempotency-key": code.toLowerCase(), "content-type": "application/json" },
    body: JSON.stringify({
      code,
      name: "Programme",
      agency: "Agency",
      budgetFen: "100",
      currency: "CNY",
      policyDocument: { sha256: "a".repeat(64), url: "https://example.gov.cn/p.pdf" },
      opensOn: "2020-01-01",
      closesOn: "2099-12-31",
      fourEyesThresholdFen: "50",
    }),
  });
}

/** The note `<url>/tlog/checkpoint` serves once one is published (asked every 250 ms, at most 200 times), or undefined. */
export async function publishedCheckpoint(url: string): Promise<string | undefined> {
  for (let i = 0; i < 200; i++) {
    const r = await fetch(`${url}/tlog/checkpoint`);
    if (r.status === 200) return r.text();
    await new Promise((done) => setTimeout(done, 250));
  }
  return undefined;
}

/** What `f` resolves to once it is not undefined, asked every 100 ms; throws naming `what` after `ms`. */
export async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
