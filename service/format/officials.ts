/**
 * Official ids: how two actors are known to be the same person. Pure.
 *
 * An official's id is compared in one canonical form, {@link officialId}:
 * NFKC, then case folded. NFKC rather than NFC because Chinese input methods
 * easily produce full-width forms ("Ｄｕａｌ－１"), which NFKC maps to their
 * ASCII letters; case folding so "Dual-1" and "dual-1" are one official. JS
 * has no full case fold, so it is approximated by upper- then lower-casing
 * (ß → ss) and mapping final sigma to sigma, with NFKC again at the end
 * because case mapping can leave a string unnormalised.
 */

/** The canonical id of an official: what entries record and what "another official" compares. */
export function officialId(official: string): string {
  return official.normalize("NFKC").toUpperCase().toLowerCase().replace(/ς/g, "σ").normalize("NFKC");
}

/** Whether two recorded officials are the same person (their canonical ids are equal). */
export function sameOfficial(a: string, b: string): boolean {
  return officialId(a) === officialId(b);
}
