/**
 * Signs C2SP checkpoints of the ledger's durable tree. Signing is cheap
 * (one Ed25519 signature) but the same size is only ever signed once; the
 * note is cached until the tree grows.
 */
import { signCheckpoint, type NoteSigner } from "../log";
import type { Ledger } from "./ledger";

export class CheckpointSigner {
  private _cached: { size: number; note: string } | undefined;

  constructor(
    private readonly _ledger: Ledger,
    private readonly _signer: NoteSigner,
    readonly origin: string,
  ) {}

  /** The signed checkpoint of the current durable tree, as C2SP signed-note text. */
  latest(): string {
    const size = this._ledger.size;
    if (this._cached?.size !== size) {
      const note = signCheckpoint({ origin: this.origin, size, rootHash: this._ledger.root(), extensions: [] }, this._signer);
      this._cached = { size, note };
    }
    return this._cached.note;
  }
}
