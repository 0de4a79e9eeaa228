/** A toy log for the witness tests: a MemoryTree and its signed checkpoints. */
import { createHash } from "node:crypto";
import { hashLeaf, MemoryTree, signCheckpoint, type NoteSigner } from "../../service/log";
import { formatAddCheckpointRequest } from "../../service/format";

export class ToyLog {
  readonly tree = new MemoryTree();
  constructor(
    readonly origin: string,
    readonly signer: NoteSigner,
    /** Different seeds give different leaves: two logs of one origin fork. */
    readonly seed = "a",
  ) {}

  grow(n: number): this {
    for (let i = 0; i < n; i++) this.tree.append(hashLeaf(createHash("sha256").update(`${this.seed}:${this.tree.size}`).digest()));
    return this;
  }

  checkpoint(size = this.tree.size, signer = this.signer): string {
    return signCheckpoint({ origin: this.origin, size, rootHash: this.tree.root(size), extensions: [] }, signer);
  }

  /** An add-checkpoint body from `oldSize` to `size`. */
  request(oldSize: number, size = this.tree.size): string {
    return formatAddCheckpointRequest({ oldSize, proof: oldSize === 0 ? [] : this.tree.consistencyProof(oldSize, size), checkpoint: this.checkpoint(size) });
  }
}
