/**
 * The memory twin of the LevelDB store, for tests. Same contract, plus fault
 * hooks: a commit can be made to fail before anything is stored, or after
 * the batch is stored (as when the disk write succeeded but the process died
 * before hearing so).
 */
import { nodeKey, planRoot, type NodeId } from "../log";
import type { Openings } from "../records/entry";
import type { IndexRef } from "../records/rules";
import type { StateDoc, StateKey } from "../records/state";
import {
  scrubbedForErasure,
  StoreUnavailableError,
  type CommitBatch,
  type IdempotencyRecord,
  type LedgerStore,
  type StoredLeaf,
  type TokenRecord,
  type TreeHead,
} from "./store";

export type CommitFault = "fail-before-persist" | "fail-after-persist";

export class MemoryStore implements LedgerStore {
  private _head: TreeHead = { size: 0, compact: [] };
  private readonly _leaves: StoredLeaf[] = [];
  private readonly _ids = new Map<string, number>();
  private readonly _nodes = new Map<string, Uint8Array>();
  private readonly _state = new Map<StateKey, StateDoc>();
  private readonly _indexes = new Map<string, number[]>();
  private readonly _openings = new Map<string, Openings>();
  private readonly _idempotency = new Map<string, IdempotencyRecord>();
  private readonly _tokens = new Map<string, TokenRecord>();
  private readonly _faults: CommitFault[] = [];
  /** How many commits have been stored. */
  commits = 0;

  /** Makes the next commit fail in the given way; queue several for several commits. */
  injectFault(fault: CommitFault): void {
    this._faults.push(fault);
  }

  async head(): Promise<TreeHead> {
    return this._head;
  }

  async commit(batch: CommitBatch): Promise<void> {
    const fault = this._faults.shift();
    if (fault === "fail-before-persist") throw new StoreUnavailableError("injected fault before persisting");
    // Validate the whole batch before changing anything: all or nothing.
    batch.leaves.forEach((leaf, i) => {
      if (leaf.index !== this._leaves.length + i) throw new StoreUnavailableError(`leaf ${leaf.index} out of order`);
    });
    if (batch.head.size !== this._leaves.length + batch.leaves.length)
      throw new StoreUnavailableError(`head size ${batch.head.size} does not follow ${batch.leaves.length} leaves after ${this._leaves.length}`);
    if (batch.head.compact.length !== planRoot(batch.head.size).length)
      throw new StoreUnavailableError(`head of size ${batch.head.size} needs ${planRoot(batch.head.size).length} compact hashes`);
    for (const leaf of batch.leaves) {
      this._leaves.push({ index: leaf.index, id: leaf.id, bytes: leaf.bytes, recordedAt: leaf.recordedAt });
      this._ids.set(leaf.id, leaf.index);
      for (const n of leaf.nodes) this._nodes.set(nodeKey(n.id), n.hash);
      for (const ref of leaf.indexes) {
        const k = `${ref.name}/${ref.value}`;
        const list = this._indexes.get(k) ?? [];
        list.push(leaf.index);
        this._indexes.set(k, list);
      }
      if (leaf.openings) this._openings.set(leaf.id, structuredClone(leaf.openings));
    }
    for (const [k, v] of batch.state) this._state.set(k, structuredClone(v));
    for (const [k, v] of batch.idempotency) this._idempotency.set(k, structuredClone(v));
    const erased = new Set(batch.erasures ?? []);
    if (erased.size > 0) {
      for (const id of erased) this._openings.delete(id);
      for (const [k, v] of this._idempotency) this._idempotency.set(k, scrubbedForErasure(v, erased));
    }
    this._head = { size: batch.head.size, compact: [...batch.head.compact] };
    this.commits += 1;
    if (fault === "fail-after-persist") throw new StoreUnavailableError("injected fault after persisting");
  }

  async leaf(index: number): Promise<StoredLeaf | undefined> {
    return this._leaves[index];
  }

  async leaves(start: number, end: number): Promise<StoredLeaf[]> {
    return this._leaves.slice(Math.max(0, start), Math.max(0, end));
  }

  async indexOf(entryId: string): Promise<number | undefined> {
    return this._ids.get(entryId);
  }

  async nodes(ids: readonly NodeId[]): Promise<(Uint8Array | undefined)[]> {
    return ids.map((id) => this._nodes.get(nodeKey(id)));
  }

  async state(key: StateKey): Promise<StateDoc | undefined> {
    const doc = this._state.get(key);
    return doc === undefined ? undefined : structuredClone(doc);
  }

  async indexed(ref: IndexRef, options: { after?: number; limit?: number } = {}): Promise<number[]> {
    const list = this._indexes.get(`${ref.name}/${ref.value}`) ?? [];
    const after = options.after ?? -1;
    return list.filter((i) => i > after).slice(0, options.limit ?? Infinity);
  }

  async openings(entryId: string): Promise<Openings | undefined> {
    const o = this._openings.get(entryId);
    return o === undefined ? undefined : structuredClone(o);
  }

  async eraseOpenings(entryId: string): Promise<void> {
    this._openings.delete(entryId);
  }

  async idempotency(scopedKey: string): Promise<IdempotencyRecord | undefined> {
    return this._idempotency.get(scopedKey);
  }

  async expireIdempotency(cutoff: string): Promise<number> {
    let n = 0;
    for (const [k, v] of this._idempotency)
      if (v.createdAt < cutoff) {
        this._idempotency.delete(k);
        n++;
      }
    return n;
  }

  async putToken(token: TokenRecord): Promise<void> {
    this._tokens.set(token.hash, { ...token });
  }

  async putFirstToken(token: TokenRecord): Promise<boolean> {
    if (this._tokens.size > 0) return false;
    this._tokens.set(token.hash, { ...token });
    return true;
  }

  async tokenByHash(hash: string): Promise<TokenRecord | undefined> {
    return this._tokens.get(hash);
  }

  async tokens(): Promise<TokenRecord[]> {
    return [...this._tokens.values()];
  }

  private readonly _accessCodeGenerations = new Map<string, number>();

  async accessCodeGeneration(applicationId: string): Promise<number> {
    return this._accessCodeGenerations.get(applicationId) ?? 0;
  }

  async nextAccessCodeGeneration(applicationId: string): Promise<number> {
    const next = (this._accessCodeGenerations.get(applicationId) ?? 0) + 1;
    this._accessCodeGenerations.set(applicationId, next);
    return next;
  }

  async close(): Promise<void> {}
}
