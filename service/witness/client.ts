/**
 * The log's side of c2sp.org/tlog-witness: submit a checkpoint to witnesses
 * and collect their cosignatures until a policy's quorum is met.
 *
 * - {@link submitCheckpoint} makes one add-checkpoint call and verifies the
 *   answer against the witness's cosigner key; a 409 with `text/x.tlog.size`
 *   comes back as the witness's size, so the caller can resubmit from there.
 * - {@link witnessCheckpoint} does that resubmission, a bounded number of times.
 * - {@link collectCosignatures} asks every witness of a policy in parallel and
 *   returns as soon as the cosignatures it has satisfy the quorum.
 *
 * The consistency proofs come from an injected {@link ProofSource}. A witness
 * that refuses a checkpoint as a split view (409 without a size, 422, or a
 * size above ours) fails with a distinct code: that is an alarm for a human,
 * and none of these functions retries it.
 */
import { formatAddCheckpointRequest, parseTlogSize, TLOG_SIZE_CONTENT_TYPE, WitnessRequestError } from "../format/tlog-witness";
import { quorumSatisfied, QUORUM_NONE, type WitnessPolicy } from "../format/witness-policy";
import { CheckpointError, CodedError, parseCheckpoint, splitSignedNote, verifyCosignatures, type CosignerVerifier } from "../log";

/** The RFC 6962 consistency proof between two sizes of the log (oldSize ≥ 1). */
export type ProofSource = (oldSize: number, newSize: number) => Promise<readonly Uint8Array[]>;

export type WitnessClientErrorCode =
  /** 404: the witness does not know this log's origin (its configuration). */
  | "UNKNOWN_ORIGIN"
  /** 403: the witness does not trust the key that signed the checkpoint. */
  | "SIGNATURE_REFUSED"
  /** 400: the witness found the request malformed (a bug on one side). */
  | "REQUEST_REFUSED"
  /** 409 without a size: the witness cosigned a different root at this size. A split view: alarm. */
  | "SPLIT_VIEW"
  /** 422: the witness says our checkpoint does not extend the one it cosigned. Alarm. */
  | "PROOF_REFUSED"
  /** 409 with a size above our checkpoint's: the witness has seen a larger tree of this log. Alarm. */
  | "WITNESS_AHEAD"
  /** The answer was not what the spec allows (bad cosignature, other status, garbled size). */
  | "BAD_RESPONSE"
  /** No answer: connection refused, timeout, abort. */
  | "UNREACHABLE"
  /** Still told a different size after the allowed resubmissions. */
  | "TOO_MANY_RESUBMISSIONS"
  /** Every witness answered or failed and the cosignatures do not satisfy the quorum. */
  | "QUORUM_NOT_MET"
  /** The caller's arguments: a checkpoint that does not parse, a witness without a URL. */
  | "ARGUMENT_INVALID";

/** Refusals that mean the log may be misbehaving (or forked): report, never retry. */
export const ALARM_CODES: ReadonlySet<WitnessClientErrorCode> = new Set(["SPLIT_VIEW", "PROOF_REFUSED", "WITNESS_AHEAD"]);

export class WitnessClientError extends CodedError<WitnessClientErrorCode> {
  override readonly name = "WitnessClientError";
  constructor(
    code: WitnessClientErrorCode,
    message: string,
    readonly detail: { status?: number; failures?: ReadonlyMap<string, WitnessClientError>; partial?: CollectedCosignatures } = {},
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

export type FetchLike = (url: string, init: { method: string; body: string; headers: Record<string, string>; signal?: AbortSignal }) => Promise<Response>;

export interface SubmitOptions {
  /** The witness's submission prefix; the call goes to `<url>/add-checkpoint`. */
  readonly url: string;
  /** The witness's cosigner key: only its cosignatures are accepted from the answer. */
  readonly cosigner: CosignerVerifier;
  /** The log-signed checkpoint note. */
  readonly checkpoint: string;
  /** The size the witness is believed to have cosigned last (0: never, or unknown). */
  readonly oldSize: number;
  readonly proof: ProofSource;
  readonly fetch?: FetchLike;
  readonly signal?: AbortSignal;
}

export type SubmitResult =
  /** The witness cosigned: its verified signature line(s), each ending in a newline. */
  | { readonly kind: "cosigned"; readonly cosignature: string; readonly timestamp: number }
  /** The witness's latest size differs from oldSize: resubmit from `witnessSize`. */
  | { readonly kind: "stale"; readonly witnessSize: number };

function checkpointSize(checkpoint: string): number {
  try {
    return parseCheckpoint(splitSignedNote(checkpoint).text).size;
  } catch (e) {
    if (e instanceof CheckpointError) throw new WitnessClientError("ARGUMENT_INVALID", `checkpoint: ${e.message}`, {}, { cause: e });
    throw e;
  }
}

function endpoint(url: string): string {
  return `${url.replace(/\/+$/, "")}/add-checkpoint`;
}

const keyIdHex = (id: number): string => id.toString(16).padStart(8, "0");

/**
 * Why a 200 carried no cosignature under the expected key, naming the keys it did sign with: most often the
 * policy line holds another witness's key, or its URL points at another witness, and the operator must see which.
 */
function withoutOurCosignature(url: string, cosigner: CosignerVerifier, body: string): string {
  const signers: string[] = [];
  for (const line of body.split("\n")) {
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (m === null) continue;
    const sig = Buffer.from(m[2]!, "base64");
    signers.push(sig.length >= 4 ? `${m[1]!} (key ID ${keyIdHex(sig.readUInt32BE(0))})` : m[1]!);
  }
  const expected = `${cosigner.name} (key ID ${keyIdHex(cosigner.keyId)})`;
  if (signers.length === 0) return `witness at ${url} answered 200 without any cosignature line; the policy expects one from ${expected}`;
  return (
    `witness at ${url} cosigned as ${signers.join(", ")}, not with the key the policy gives it, ${expected}: ` +
    "put the witness's own vkey (it logs it when it starts) on its policy line, or correct the URL if it points at another witness"
  );
}

/** One add-checkpoint call (c2sp.org/tlog-witness). Throws WitnessClientError for every outcome but 200 and a 409 size. */
export async function submitCheckpoint(o: SubmitOptions): Promise<SubmitResult> {
  const size = checkpointSize(o.checkpoint);
  if (!Number.isSafeInteger(o.oldSize) || o.oldSize < 0 || o.oldSize > size)
    throw new WitnessClientError("ARGUMENT_INVALID", `old size ${o.oldSize} must be between 0 and the checkpoint size ${size}`);
  const proof = o.oldSize === 0 ? [] : await o.proof(o.oldSize, size);
  let body: string;
  try {
    body = formatAddCheckpointRequest({ oldSize: o.oldSize, proof, checkpoint: o.checkpoint });
  } catch (e) {
    if (e instanceof WitnessRequestError) throw new WitnessClientError("ARGUMENT_INVALID", e.message, {}, { cause: e });
    throw e;
  }
  const doFetch: FetchLike = o.fetch ?? ((url, init) => fetch(url, init));
  let res: Response;
  let text: string;
  try {
    res = await doFetch(endpoint(o.url), { method: "POST", body, headers: { "Content-Type": "text/plain; charset=utf-8" }, ...(o.signal === undefined ? {} : { signal: o.signal }) });
    text = await res.text();
  } catch (cause) {
    throw new WitnessClientError("UNREACHABLE", `witness at ${o.url}: ${cause instanceof Error ? cause.message : String(cause)}`, {}, { cause });
  }
  const status = res.status;
  const detail = `witness at ${o.url} answered ${status}: ${text.slice(0, 200).trim()}`;
  switch (status) {
    case 200: {
      let checked;
      try {
        checked = verifyCosignatures(o.checkpoint + text, [o.cosigner]);
      } catch (e) {
        throw new WitnessClientError("BAD_RESPONSE", `witness at ${o.url} answered with an invalid cosignature: ${e instanceof Error ? e.message : String(e)}`, { status }, { cause: e });
      }
      const mine = checked.cosignatures[0];
      if (mine === undefined) throw new WitnessClientError("BAD_RESPONSE", withoutOurCosignature(o.url, o.cosigner, text), { status });
      // Keep only the verified line: the spec tells clients to ignore cosignatures from unknown keys.
      return { kind: "cosigned", cosignature: `\u2014 ${mine.name} ${mine.base64}\n`, timestamp: mine.timestamp };
    }
    case 409: {
      if ((res.headers.get("content-type") ?? "").split(";")[0]!.trim() !== TLOG_SIZE_CONTENT_TYPE)
        throw new WitnessClientError("SPLIT_VIEW", `${detail} (it cosigned a different root at size ${size})`, { status });
      let witnessSize: number;
      try {
        witnessSize = parseTlogSize(text);
      } catch (e) {
        throw new WitnessClientError("BAD_RESPONSE", `${detail} (not a size)`, { status }, { cause: e });
      }
      if (witnessSize > size) throw new WitnessClientError("WITNESS_AHEAD", `witness at ${o.url} has cosigned size ${witnessSize}, larger than our ${size}`, { status });
      return { kind: "stale", witnessSize };
    }
    case 400:
      throw new WitnessClientError("REQUEST_REFUSED", detail, { status });
    case 403:
      throw new WitnessClientError("SIGNATURE_REFUSED", detail, { status });
    case 404:
      throw new WitnessClientError("UNKNOWN_ORIGIN", detail, { status });
    case 422:
      throw new WitnessClientError("PROOF_REFUSED", detail, { status });
    default:
      throw new WitnessClientError("BAD_RESPONSE", detail, { status });
  }
}

/** What {@link witnessCheckpoint} got: the cosignature line and the size the witness now holds. */
export interface WitnessedResult {
  readonly cosignature: string;
  readonly timestamp: number;
  readonly size: number;
}

/**
 * Submits a checkpoint to one witness, resubmitting from the witness's size
 * when it answers 409 with one, at most `maxAttempts` calls in all (default 3).
 */
export async function witnessCheckpoint(o: SubmitOptions & { readonly maxAttempts?: number }): Promise<WitnessedResult> {
  const size = checkpointSize(o.checkpoint);
  const maxAttempts = o.maxAttempts ?? 3;
  let oldSize = o.oldSize;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const r = await submitCheckpoint({ ...o, oldSize });
    if (r.kind === "cosigned") return { cosignature: r.cosignature, timestamp: r.timestamp, size };
    oldSize = r.witnessSize;
  }
  throw new WitnessClientError("TOO_MANY_RESUBMISSIONS", `witness at ${o.url} still reports another size after ${maxAttempts} calls`);
}

/** The outcome of {@link collectCosignatures}. */
export interface CollectedCosignatures {
  /** The checkpoint note followed by the cosignatures gathered, in policy order. */
  readonly note: string;
  /** Policy witness names that cosigned, in policy order. */
  readonly vouched: readonly string[];
  /** Each witness's latest size as learned in this round (pass it back next time). */
  readonly sizes: ReadonlyMap<string, number>;
  /** Witnesses that failed, by name; see {@link ALARM_CODES}. Witnesses still pending when the quorum was met are absent. */
  readonly failures: ReadonlyMap<string, WitnessClientError>;
}

export interface CollectOptions {
  readonly policy: WitnessPolicy;
  /** The log-signed checkpoint note. */
  readonly checkpoint: string;
  readonly proof: ProofSource;
  /** The size each witness (by policy name) was last seen to hold; missing: 0, and a 409 corrects it. */
  readonly sizes?: ReadonlyMap<string, number>;
  readonly fetch?: FetchLike;
  /** Per-witness time limit in milliseconds (default 10 000). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * Submits the checkpoint to every witness in the policy at once and resolves
 * as soon as the verified cosignatures satisfy its quorum (the calls still
 * pending are aborted). With `quorum none` it resolves at once with the note
 * unchanged. Throws WitnessClientError QUORUM_NOT_MET, carrying every
 * failure and what was gathered, when all witnesses are done and the quorum
 * is not met; ARGUMENT_INVALID for a checkpoint that does not parse.
 */
export async function collectCosignatures(o: CollectOptions): Promise<CollectedCosignatures> {
  const size = checkpointSize(o.checkpoint);
  const sizes = new Map(o.sizes ?? []);
  const lines = new Map<string, string>();
  const failures = new Map<string, WitnessClientError>();
  const result = (): CollectedCosignatures => {
    const order = o.policy.witnesses.map((w) => w.name).filter((n) => lines.has(n));
    return { note: o.checkpoint + order.map((n) => lines.get(n)!).join(""), vouched: order, sizes: new Map(sizes), failures: new Map(failures) };
  };
  if (o.policy.quorum === QUORUM_NONE || quorumSatisfied(o.policy, new Set())) return result();

  const stop = new AbortController();
  const signals = [stop.signal, AbortSignal.timeout(o.timeoutMs ?? 10_000), ...(o.signal === undefined ? [] : [o.signal])];
  const signal = AbortSignal.any(signals);
  return new Promise<CollectedCosignatures>((resolve, reject) => {
    let pending = o.policy.witnesses.length;
    let done = false;
    const settle = () => {
      if (done) return;
      if (quorumSatisfied(o.policy, new Set(lines.keys()))) {
        done = true;
        stop.abort();
        resolve(result());
      } else if (pending === 0) {
        done = true;
        const partial = result();
        const why = [...failures].map(([n, e]) => `${n}: ${e.code}`).join(", ");
        reject(new WitnessClientError("QUORUM_NOT_MET", `witness quorum ${o.policy.quorum} not met (cosigned: ${partial.vouched.join(", ") || "none"}; failed: ${why || "none"})`, { failures: partial.failures, partial }));
      }
    };
    for (const w of o.policy.witnesses) {
      const run = async () => {
        if (w.url === undefined) throw new WitnessClientError("ARGUMENT_INVALID", `witness ${w.name} has no URL in the policy`);
        return witnessCheckpoint({ url: w.url, cosigner: w.cosigner, checkpoint: o.checkpoint, oldSize: sizes.get(w.name) ?? 0, proof: o.proof, signal, ...(o.fetch === undefined ? {} : { fetch: o.fetch }) });
      };
      run().then(
        (r) => {
          if (done) return;
          lines.set(w.name, r.cosignature);
          sizes.set(w.name, size);
        },
        (e: unknown) => {
          if (done) return;
          failures.set(w.name, e instanceof WitnessClientError ? e : new WitnessClientError("BAD_RESPONSE", `witness ${w.name}: ${String(e)}`, {}, { cause: e }));
        },
      ).finally(() => {
        pending--;
        settle();
      });
    }
  });
}
