// The gallery filter and its URL form: the URL holds the whole filter state, so a
// link or a reload restores exactly the same selection.

export const CATEGORICAL = [
  ["modality", "Modality"],
  ["body_part", "Body part"],
  ["manufacturer", "Manufacturer"],
  ["model", "Model"],
  ["institution", "Institution"],
  ["patient_sex", "Patient sex"],
  ["description", "Series description"],
] as const;

export type CategoricalKey = (typeof CATEGORICAL)[number][0];

export const SCALARS = [
  "date_from",
  "date_to",
  "age_min",
  "age_max",
  "thickness_min",
  "thickness_max",
  "q",
  "cohort",
] as const;

export type ScalarKey = (typeof SCALARS)[number];

export interface Filter {
  lists: Record<CategoricalKey, string[]>;
  scalars: Partial<Record<ScalarKey, string>>;
  sort: string;
  page: number;
}

export const DEFAULT_SORT = "-study_date";

export function parseFilter(search: string): Filter {
  const p = new URLSearchParams(search);
  const lists = {} as Record<CategoricalKey, string[]>;
  for (const [key] of CATEGORICAL) lists[key] = p.getAll(key);
  const scalars: Partial<Record<ScalarKey, string>> = {};
  for (const key of SCALARS) {
    const v = p.get(key);
    if (v) scalars[key] = v;
  }
  const page = Math.max(1, parseInt(p.get("page") || "1", 10) || 1);
  return { lists, scalars, sort: p.get("sort") || DEFAULT_SORT, page };
}

/** Query string of the filter conditions only (what /series and /facets take). */
export function filterParams(f: Filter): URLSearchParams {
  const p = new URLSearchParams();
  for (const [key] of CATEGORICAL) for (const v of f.lists[key]) p.append(key, v);
  for (const key of SCALARS) {
    const v = f.scalars[key];
    if (v) p.set(key, v);
  }
  return p;
}

/** The URL form: conditions plus sort and page when not the defaults. */
export function toSearch(f: Filter): string {
  const p = filterParams(f);
  if (f.sort !== DEFAULT_SORT) p.set("sort", f.sort);
  if (f.page > 1) p.set("page", String(f.page));
  const s = p.toString();
  return s ? `?${s}` : "";
}

/** The JSON form POST /cohorts takes as `filter`. */
export function filterJson(f: Filter): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key] of CATEGORICAL) if (f.lists[key].length) out[key] = f.lists[key];
  for (const key of SCALARS) {
    const v = f.scalars[key];
    if (!v) continue;
    out[key] = ["date_from", "date_to", "q"].includes(key) ? v : Number(v);
  }
  return out;
}

export function isEmpty(f: Filter): boolean {
  return filterParams(f).toString() === "";
}

export function emptyFilter(): Filter {
  return parseFilter("");
}
