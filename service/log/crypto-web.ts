/**
 * WebCrypto (crypto.subtle) for the log core's asynchronous API: SHA-256 and
 * Ed25519 verification. Runs in browsers (Chromium ≥ 137, Firefox ≥ 129 and
 * Safari ≥ 17 have Ed25519) and in Node ≥ 20, which is how the tests compare
 * it with the synchronous node:crypto path.
 */

function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (s === undefined) throw new Error("WebCrypto (crypto.subtle) is not available: a browser only offers it on https:// or localhost pages");
  return s;
}

/** A view WebCrypto accepts (an ArrayBuffer-backed Uint8Array). */
function buf(b: Uint8Array): Uint8Array<ArrayBuffer> {
  return b.buffer instanceof ArrayBuffer ? (b as Uint8Array<ArrayBuffer>) : new Uint8Array(b);
}

/** SHA-256 of the concatenated parts, with crypto.subtle.digest. */
export async function sha256Async(...parts: Uint8Array[]): Promise<Uint8Array> {
  let data: Uint8Array;
  if (parts.length === 1) data = parts[0]!;
  else {
    data = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      data.set(p, at);
      at += p.length;
    }
  }
  return new Uint8Array(await subtle().digest("SHA-256", buf(data)));
}

/** Imports a raw 32-byte Ed25519 public key for verification. Rejects if WebCrypto refuses it. */
export async function importEd25519PublicKey(raw: Uint8Array): Promise<CryptoKey> {
  return subtle().importKey("raw", buf(raw), { name: "Ed25519" }, true, ["verify"]);
}

/** Ed25519 verification that answers false, never rejects. */
export async function ed25519VerifyAsync(key: CryptoKey, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
  try {
    return await subtle().verify({ name: "Ed25519" }, key, buf(signature), buf(message));
  } catch {
    return false;
  }
}
