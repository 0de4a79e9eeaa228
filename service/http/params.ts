/**
 * Schemas for path and query parameters, and the helper that parses them.
 * Query values are attacker-controlled strings (or arrays of strings, when a
 * parameter is repeated); each is parsed strictly, so `?start=1e3`,
 * `?start=01`, `?start=-1` and `?start=1&start=2` are all 400s.
 */
import type { Request } from "express";
import { z } from "zod";
import { ENTRY_ID, entryIdPattern } from "../format/entry";
import { isGovernmentDivision } from "../records/identifiers";
import { CreditCode, PlainText } from "../records/zod-types";
import { validationProblem } from "./problem";

/** Most log entries, enterprise entries or programmes one page returns. */
export const MAX_PAGE = 1000;
export const DEFAULT_PAGE = 100;

/** A non-negative safe integer written in canonical decimal. */
export const IndexParam = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,15})$/, "a non-negative integer without sign or leading zeros")
  .transform(Number)
  .refine(Number.isSafeInteger, "too large");

const PageLimit = IndexParam.refine((n) => n >= 1 && n <= MAX_PAGE, `between 1 and ${MAX_PAGE}`);

export const PageQuery = z.strictObject({ after: IndexParam.optional(), limit: PageLimit.optional() });
/** Filters of the programme list and the totals (service/queries ProgrammeFilter). */
const FilterFields = {
  /** An agency code, or the free text of a programme from before agencies. */
  agency: PlainText(200).optional(),
  /** A province, prefecture or county-level code in the pinned GB/T 2260 table. */
  region: z.string().refine(isGovernmentDivision, "a GB/T 2260 province, prefecture or county-level code").optional(),
};
export const ProgrammeListQuery = z.strictObject({ after: IndexParam.optional(), limit: PageLimit.optional(), ...FilterFields });
export const TotalsQuery = z.strictObject(FilterFields);
export const LogEntriesQuery = z.strictObject({ start: IndexParam.optional(), end: IndexParam.optional() });
export const InclusionQuery = z.strictObject({ index: IndexParam, size: IndexParam.optional() });
export const ConsistencyQuery = z.strictObject({ from: IndexParam, to: IndexParam.optional() });

export const EntryIdParam = z.strictObject({ id: z.string().regex(ENTRY_ID, "not an entry id") });
export const ProgrammeIdParam = z.strictObject({ id: z.string().regex(entryIdPattern("programme"), "not a programme id") });
export const TokenIdParam = z.strictObject({ id: z.string().regex(/^tok_[0-9a-f]{16}$/, "not a token id") });
export const CreditCodeParam = z.strictObject({ creditCode: CreditCode });

/** Parses `req.query` with `schema`; a failure is a 400 problem listing the issues. */
export function parseQuery<T extends z.ZodType>(req: Request, schema: T): z.output<T> {
  const r = schema.safeParse({ ...(req.query as Record<string, unknown>) });
  if (!r.success) throw validationProblem("query", r.error);
  return r.data;
}

/** Parses `req.params` with `schema`; a failure is a 400 problem listing the issues. */
export function parseParams<T extends z.ZodType>(req: Request, schema: T): z.output<T> {
  const r = schema.safeParse({ ...req.params });
  if (!r.success) throw validationProblem("path", r.error);
  return r.data;
}
