/**
 * The LedgerAnchor ABI and bytecode, from the TypeChain bindings that
 * `hardhat compile` writes to .cache/typechain. Loaded on first use rather
 * than imported, so a service started without a compile fails with one line
 * saying what to run instead of a module-resolution stack trace. The types
 * are imported as types only and cost nothing at run time.
 */
import type { LedgerAnchorInterface } from "../../.cache/typechain/contracts/LedgerAnchor";

type FactoryModule = typeof import("../../.cache/typechain/factories/contracts/LedgerAnchor__factory");

/** Something needed to talk to the chain is missing or misconfigured; the message says what to do. */
export class ChainSetupError extends Error {
  override readonly name = "ChainSetupError";
}

let cached: { iface: LedgerAnchorInterface; bytecode: string } | undefined;

/** The typed LedgerAnchor interface and its creation bytecode. Throws ChainSetupError if the contracts were never compiled. */
export function ledgerAnchorArtifacts(): { readonly iface: LedgerAnchorInterface; readonly bytecode: string } {
  if (cached === undefined) {
    let mod: FactoryModule;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      mod = require("../../.cache/typechain/factories/contracts/LedgerAnchor__factory") as FactoryModule;
    } catch (cause) {
      throw new ChainSetupError("the LedgerAnchor contract bindings are missing: run `npm run compile` first", { cause });
    }
    cached = { iface: mod.LedgerAnchor__factory.createInterface(), bytecode: mod.LedgerAnchor__factory.bytecode };
  }
  return cached;
}
