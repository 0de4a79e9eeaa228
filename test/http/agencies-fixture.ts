/**
 * Agencies for HTTP tests: a Hebei chain (province → prefecture → county) and
 * Beijing's 经信局, registered by the world's admin (the deployment-wide
 * admin: its agency, 市财政局, is no registered agency), and for each agency
 * an admin, clerk, approver and payer token.
 */
import { createToken } from "../../service/auth/tokens";
import type { Role } from "../../service/records/schemas";
import { record, type World } from "./helpers";

export const AGENCIES = [
  { code: "130000-FGW", name: "河北省发展和改革委员会" },
  { code: "130100-FGW", name: "石家庄市发展和改革委员会", parent: "130000-FGW" },
  { code: "130123-FGW", name: "正定县发展和改革局", parent: "130100-FGW" },
  { code: "110000-JXJ", name: "北京市经济和信息化局" },
] as const;

export type AgencyCode = (typeof AGENCIES)[number]["code"];

export interface AgencyTokens {
  /** agency code → role → bearer token. */
  readonly tokens: Record<AgencyCode, Record<Role, string>>;
  /** agency code → entry id of its `agency` entry. */
  readonly ids: Record<AgencyCode, string>;
}

/** Registers {@link AGENCIES} in `w` and creates their officials' tokens. */
export async function registerAgencies(w: World): Promise<AgencyTokens> {
  const tokens = {} as Record<AgencyCode, Record<Role, string>>;
  const ids = {} as Record<AgencyCode, string>;
  for (const a of AGENCIES) {
    ids[a.code] = await record(w, "/v1/agencies", "admin", a);
    const byRole = {} as Record<Role, string>;
    for (const role of ["admin", "clerk", "approver", "payer"] as const) {
      byRole[role] = (await createToken(w.store, w.clock, { official: `${role}.${a.code.toLowerCase()}`, agency: a.code, role })).token;
    }
    tokens[a.code] = byRole;
  }
  return { tokens, ids };
}
