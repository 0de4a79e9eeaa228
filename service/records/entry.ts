/**
 * The log form of a ledger entry, and privacy commitments.
 *
 * Everything in a {@link LedgerEntry} is public: it is canonicalised with
 * RFC 8785 and becomes a leaf of the Merkle log. Private values never appear
 * here; each is replaced by a salted commitment
 *   SHA-256(salt ‖ JCS(value))   with a fresh 32-byte salt,
 * and the value and salt are kept off-log, so they can be erased later while
 * the log still verifies.
 */
import { commitmentOf, fromHex, opensCommitment, toHex, type JsonValue, type Opening as LogOpening } from "../log";
import { PUBLIC_ENTRY_VERSION, type LedgerKind, type Role } from "../format";

/** The public entry format's version (service/format). */
export const LEDGER_ENTRY_VERSION = PUBLIC_ENTRY_VERSION;

export interface Actor {
  /** The official's canonical id (service/format/officials.ts): what "another official" compares. */
  readonly official: string;
  /** The official's display name, when the token gives one. */
  readonly name?: string;
  readonly agency: string;
  readonly role: Role;
}

export interface LedgerEntry {
  readonly v: typeof LEDGER_ENTRY_VERSION;
  readonly id: string;
  readonly kind: LedgerKind;
  /** RFC 3339 UTC, millisecond precision, from the injected clock. */
  readonly recordedAt: string;
  /** From the authenticated token, never from the request body. */
  readonly actor: Actor;
  /** Entry ids this entry depends on (programme, application, decision, payout or correction target). */
  readonly refs: readonly string[];
  readonly body: { readonly [field: string]: JsonValue };
  /** Private field name → hex commitment. Absent when the entry has no private fields. */
  readonly commitments?: { readonly [field: string]: string };
}

/** A private value and the salt of its commitment, kept off-log. Private values are strings. */
export interface Opening extends LogOpening {
  readonly value: string;
}

export type Openings = Readonly<Record<string, Opening>>;

/** SHA-256(salt ‖ JCS(value)), hex. */
export function commitment(value: string, saltHex: string): string {
  return commitmentOf(value, fromHex(saltHex));
}

/** Whether an opening matches a commitment. */
export function opens(commitmentHex: string, opening: Opening): boolean {
  return opensCommitment(commitmentHex, opening);
}

/**
 * Commits every private value with a fresh salt from `randomBytes`.
 * Returns the commitments for the log and the openings for the off-log store.
 */
export function commitPrivate(
  values: Readonly<Record<string, string>>,
  randomBytes: (n: number) => Uint8Array,
): { commitments: Record<string, string>; openings: Record<string, Opening> } {
  const commitments: Record<string, string> = {};
  const openings: Record<string, Opening> = {};
  for (const field of Object.keys(values).sort()) {
    const value = values[field]!;
    const salt = randomBytes(32);
    commitments[field] = commitmentOf(value, salt);
    openings[field] = { value, salt: toHex(salt) };
  }
  return { commitments, openings };
}
