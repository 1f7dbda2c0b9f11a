// Typed client of the pipelines API: algorithms, runs (jobs, logs, results), triggers.
import { enc, fetchOk, json, request } from "../api";

export type JsonSchema = {
  type?: string | string[];
  title?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
};

export interface Algorithm {
  name: string;
  version: string;
  description: string;
  image: string;
  image_digest: string | null;
  inputs: { modalities: string[]; min_instances: number; include_referenced: boolean };
  parameters: JsonSchema;
  outputs: { name: string; kind: "seg" | "json" | "csv"; path: string }[];
  resources: { cpu: number; memory: string; gpu: number };
  timeout_seconds: number;
}

export type RunStatus = "queued" | "running" | "succeeded" | "failed" | "cancelled";
export type JobStatus = RunStatus | "preparing" | "storing";

export interface Run {
  id: string;
  algorithm: string;
  algorithm_version: string;
  image: string;
  params: Record<string, unknown>;
  status: RunStatus;
  engine: string;
  runner: string;
  trigger: string;
  cohort_id: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  progress: Record<string, number>;
}

export interface Job {
  id: string;
  series_uid: string;
  status: JobStatus;
  attempts: number;
  exit_code: number | null;
  error: string;
  started_at: string | null;
  finished_at: string | null;
}

export interface RunResult {
  id: number;
  job_id: string;
  output: string;
  kind: "seg" | "json" | "csv";
  filename: string;
  size: number;
  series_uid: string | null;
  download: string;
}

export interface RunDetail extends Run {
  jobs: Job[];
  results: RunResult[];
}

export interface Trigger {
  id: number;
  algorithm: string;
  series_filter: Record<string, unknown>;
  params: Record<string, unknown>;
  enabled: boolean;
  created_at: string;
}

/** A plain-text resource (logs); errors carry the server's message like ``request``. */
async function text(path: string): Promise<string> {
  return (await fetchOk(path)).text();
}

export const pipelines = {
  algorithms: () => request<Algorithm[]>("/api/v1/algorithms"),
  algorithm: (name: string) => request<Algorithm>(`/api/v1/algorithms/${enc(name)}`),
  runs: (qs = "") => request<Run[]>(`/api/v1/runs${qs ? `?${qs}` : ""}`),
  run: (id: string) => request<RunDetail>(`/api/v1/runs/${enc(id)}`),
  createRun: (body: {
    algorithm: string;
    cohort_id?: string;
    series_uids?: string[];
    params: Record<string, unknown>;
  }) => request<Run>("/api/v1/runs", json("POST", body)),
  cancel: (id: string) => request<Run>(`/api/v1/runs/${enc(id)}/cancel`, { method: "POST" }),
  retry: (id: string) =>
    request<{ run_id: string; requeued: number }>(`/api/v1/runs/${enc(id)}/retry`, {
      method: "POST",
    }),
  runLogs: (id: string) => text(`/api/v1/runs/${enc(id)}/logs`),
  jobLogs: (id: string, job: string) => text(`/api/v1/runs/${enc(id)}/jobs/${enc(job)}/logs`),
  triggers: () => request<Trigger[]>("/api/v1/pipeline-triggers"),
  createTrigger: (body: {
    algorithm: string;
    series_filter: Record<string, unknown>;
    params: Record<string, unknown>;
  }) => request<Trigger>("/api/v1/pipeline-triggers", json("POST", body)),
  deleteTrigger: (id: number) =>
    request<void>(`/api/v1/pipeline-triggers/${id}`, { method: "DELETE" }),
};

export const FINAL_RUN: RunStatus[] = ["succeeded", "failed", "cancelled"];
export const isActive = (s: string) => !FINAL_RUN.includes(s as RunStatus);

/** "2026-11-28T06:13:11.123" (naive UTC from the server) -> "2026-11-28 06:13:11". */
export function fmtTime(t: string | null): string {
  return t ? t.slice(0, 19).replace("T", " ") : "—";
}

/** Seconds between two server times (or until now), as "4.2 s" / "3 min 5 s". */
export function fmtDuration(start: string | null, end: string | null): string {
  if (!start) return "—";
  const t0 = Date.parse(start.endsWith("Z") ? start : `${start}Z`);
  const t1 = end ? Date.parse(end.endsWith("Z") ? end : `${end}Z`) : Date.now();
  const s = Math.max(0, (t1 - t0) / 1000);
  if (s < 60) return `${s.toFixed(1)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
