/**
 * The log core: canonical encoding, RFC 6962 hashing, tree maths, proofs,
 * signed notes and checkpoints. Pure (no I/O, no clock, no globals), shared by the service,
 * the scripts, the auditor and the browser portal.
 */
export * from "./errors";
export * from "./hash";
export * from "./encoding";
export * from "./tree";
export * from "./verify";
export { MemoryTree } from "./memory-tree";
export {
  ED25519_SIGNATURE_TYPE,
  ed25519KeyId,
  ed25519KeyIdAsync,
  encodeVerifierKey,
  fromBase64,
  generateNoteKey,
  isValidKeyName,
  MAX_NOTE_SIZE,
  MAX_SIGNATURES,
  noteKeyFromSeed,
  openNote,
  openNoteAsync,
  parseSignerKey,
  parseVerifierKey,
  parseVerifierKeyAsync,
  SIGNATURE_LINE_PREFIX,
  signNote,
  splitSignedNote,
  toBase64,
  type NoteSignature,
  type NoteSigner,
  type NoteVerifier,
  type OpenedNote,
  type ParsedSignatureLine,
  type WebNoteVerifier,
} from "./note";
export * from "./checkpoint";
export { readVerifierKeyArg } from "./key-arg";
export * from "./commitment";
export * from "./receipt";
export {
  COSIGNATURE_V1_HEADER,
  COSIGNATURE_V1_TYPE,
  cosignatureV1Message,
  cosignCheckpoint,
  cosignerKeyId,
  cosignerKeyOf,
  encodeCosignerKey,
  parseCosignerKey,
  parseCosignerKeyAsync,
  verifyCosignatures,
  verifyCosignaturesAsync,
  type CheckedCosignatures,
  type CosignerVerifier,
  type VerifiedCosignature,
  type WebCosignerVerifier,
} from "./cosignature";
