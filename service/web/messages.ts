/**
 * What a failed request means, in the page's language. The API's problem
 * details are written in English for developers; the portal never shows
 * them raw. A problem's `type` (and, for refused rules, its `rule`) picks a
 * localised message, and anything unknown gets a generic one that names the
 * HTTP status only.
 */
import { ApiError } from "./api";
import { dict, fill } from "./i18n";

const PROBLEM = "urn:subsidy-ledger:problem:";

/** A localised sentence for `e`; `subject` is what the page asked for (an id or a code), named in a "not found". */
export function apiMessage(e: unknown, subject?: string): string {
  const m = dict().errors;
  if (!(e instanceof ApiError)) return m.unexpected;
  const slug = e.type.startsWith(PROBLEM) ? e.type.slice(PROBLEM.length) : e.type;
  switch (slug) {
    case "network":
      return m.network;
    case "not-found":
      return subject === undefined ? m.notFound : fill(m.notFoundId, { id: subject });
    case "validation-failed":
    case "bad-range":
    case "bad-request":
    case "bad-tile-path":
      return m.invalid;
    case "rate-limited":
    case "access-code-rate-limited":
      return e.retryAfter === null ? m.rateLimited : fill(m.rateLimitedAfter, { s: e.retryAfter });
    case "anchoring-off":
      return m.anchoringOff;
    case "not-published":
      return m.notPublished;
    case "unhealthy":
    case "store-unavailable":
    case "recording-halted":
    case "internal":
    case "portal-not-built":
      return m.unavailable;
    default:
      if (e.status === 404) return subject === undefined ? m.notFound : fill(m.notFoundId, { id: subject });
      if (e.status === 429) return m.rateLimited;
      if (e.status >= 500) return m.unavailable;
      return fill(m.generic, { status: e.status });
  }
}
