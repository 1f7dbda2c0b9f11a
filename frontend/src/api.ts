// Typed client of the JIP REST API (/api/v1). Every call throws ApiError with the
// server's message, so pages can show it instead of going blank.

export interface Series {
  series_uid: string;
  study_uid: string;
  patient_id: string;
  patient_name: string;
  modality: string;
  description: string;
  study_description: string;
  body_part: string;
  manufacturer: string;
  model: string;
  institution: string;
  patient_sex: string;
  patient_age: number | null;
  slice_thickness: number | null;
  study_date: string;
  num_instances: number;
  series_number: number | null;
  thumbnail_url: string;
}

export interface SeriesPage {
  total: number;
  limit: number;
  offset: number;
  sort: string;
  items: Series[];
}

export interface FacetValue {
  value: string;
  count: number;
}

export interface Bucket {
  key: string;
  start: string;
  end: string;
  count: number;
}

export interface Facets {
  total: number;
  facets: Record<string, FacetValue[]>;
  distinct: Record<string, number>;
  study_date: { interval: string; buckets: Bucket[]; unknown: number; min: string; max: string };
  patient_age: Bucket[];
  slice_thickness: FacetValue[];
}

export interface Instance {
  sop_instance_uid: string;
  sop_class_uid: string;
  transfer_syntax_uid: string;
  instance_number: number | null;
  rows: number | null;
  columns: number | null;
  number_of_frames: number | null;
}

export interface SeriesDetail {
  series: Series;
  instances: Instance[];
  dicomweb_series_url: string;
}

export interface Study {
  study_uid: string;
  patient_id: string;
  patient_name: string;
  patient_sex: string;
  study_date: string;
  study_time: string;
  description: string;
  accession_number: string;
  institution: string;
  modalities: string[];
  num_series: number;
  num_instances: number;
}

export interface StudyDetail {
  study: Study;
  series: Series[];
}

export interface Patient {
  patient_id: string;
  patient_name: string;
  birth_date: string;
  sex: string;
  studies: StudyDetail[];
}

export interface Cohort {
  id: number;
  name: string;
  description: string;
  owner: string;
  size: number;
  filter: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

export interface CohortMember {
  series_uid: string;
  study_uid: string;
  patient_id: string;
  modality: string;
  description: string;
  study_date: string;
}

/** The parts of /api/v1/health the UI shows: what needs an admin soon. */
export interface Health {
  status: string;
  warnings: string[];
}

export interface Statistics {
  patients: number;
  studies: number;
  series: number;
  instances: number;
  bytes: number;
}

export class ApiError extends Error {
  constructor(
    message: string,
    public status: number,
  ) {
    super(message);
  }
}

/** ``fetch`` whose failures (no connection, an error status) are ``ApiError``s
 * carrying the server's own message; an abort is passed on as it is. */
export async function fetchOk(path: string, init?: RequestInit): Promise<Response> {
  let resp: Response;
  try {
    resp = await fetch(path, init);
  } catch (e) {
    unreachable(e);
  }
  return checked(resp);
}

/** A failed ``fetch`` as an ``ApiError`` (an abort is rethrown as it is). */
export function unreachable(e: unknown): never {
  if ((e as Error).name === "AbortError") throw e;
  throw new ApiError(`The server cannot be reached (${(e as Error).message})`, 0);
}

/** ``resp`` if its status is a success, else an ``ApiError`` with the server's message. */
export async function checked(resp: Response): Promise<Response> {
  if (resp.ok) return resp;
  let detail = `${resp.status} ${resp.statusText}`;
  try {
    const body = await resp.json();
    if (typeof body.detail === "string") detail = body.detail;
    else if (Array.isArray(body.detail))
      detail = body.detail.map((d: { msg: string }) => d.msg).join("; ");
  } catch {
    /* not JSON: keep the status line */
  }
  throw new ApiError(detail, resp.status);
}

async function request<T>(path: string, init?: RequestInit): Promise<T> {
  const resp = await fetchOk(path, init);
  if (resp.status === 204) return undefined as T;
  return (await resp.json()) as T;
}

const json = (method: string, body: unknown): RequestInit => ({
  method,
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify(body),
});

export const api = {
  series: (qs: string, signal?: AbortSignal) =>
    request<SeriesPage>(`/api/v1/series?${qs}`, { signal }),
  facets: (qs: string, signal?: AbortSignal) =>
    request<Facets>(`/api/v1/facets?${qs}`, { signal }),
  seriesDetail: (uid: string) => request<SeriesDetail>(`/api/v1/series/${enc(uid)}`),
  tags: (series: string, sop: string) =>
    request<Record<string, unknown>>(`/api/v1/series/${enc(series)}/instances/${enc(sop)}/tags`),
  studies: (qs: string) =>
    request<{ total: number; limit: number; offset: number; items: Study[] }>(
      `/api/v1/studies?${qs}`,
    ),
  study: (uid: string) => request<StudyDetail>(`/api/v1/studies/${enc(uid)}`),
  patient: (id: string) => request<Patient>(`/api/v1/patients/${enc(id)}`),
  statistics: () => request<Statistics>("/api/v1/statistics"),
  health: () => request<Health>("/api/v1/health"),
  cohorts: () => request<Cohort[]>("/api/v1/cohorts"),
  cohort: (id: number) => request<Cohort>(`/api/v1/cohorts/${id}`),
  cohortMembers: (id: number) => request<CohortMember[]>(`/api/v1/cohorts/${id}/series`),
  createCohort: (body: {
    name: string;
    description: string;
    owner: string;
    filter?: Record<string, unknown>;
    series_uids?: string[];
  }) => request<Cohort>("/api/v1/cohorts", json("POST", body)),
  updateCohort: (id: number, body: Partial<Pick<Cohort, "name" | "description" | "owner">>) =>
    request<Cohort>(`/api/v1/cohorts/${id}`, json("PATCH", body)),
  deleteCohort: (id: number) => request<void>(`/api/v1/cohorts/${id}`, { method: "DELETE" }),
  addToCohort: (id: number, uids: string[]) =>
    request<{ size: number; changed: number }>(
      `/api/v1/cohorts/${id}/series`,
      json("POST", { series_uids: uids }),
    ),
  removeFromCohort: (id: number, uids: string[]) =>
    request<{ size: number; changed: number }>(
      `/api/v1/cohorts/${id}/series/remove`,
      json("POST", { series_uids: uids }),
    ),
  exportUrl: (id: number, format: "csv" | "json") => `/api/v1/cohorts/${id}/export?format=${format}`,
};

export function enc(s: string): string {
  return encodeURIComponent(s);
}

export function fmtDate(d: string): string {
  return d.length === 8 ? `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}` : d || "—";
}

// Shared with the pipeline pages (pipelinesApi.ts): one request helper, one error type.
export { json, request };
