// Runs: the list (state and progress, refreshed while any is active) and one run with
// its per-series jobs, logs and results; cancel and retry.
import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../api";
import { Empty, ErrorBox, Loading } from "../components/States";
import { navigate } from "../router";
import {
  fmtBytes,
  fmtDuration,
  fmtTime,
  isActive,
  type Job,
  pipelines,
  type Run,
  type RunDetail,
  type RunResult,
} from "./api";
import { useLoad } from "./useLoad";

const PAGE = 50;
/** Rows of a big run's job and result tables rendered before "Show all". */
const MAX_ROWS = 200;
const JOB_STATES = ["queued", "preparing", "running", "storing", "succeeded", "failed", "cancelled"];
const STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"];
/** How far a job is through its steps (queued -> prepare -> run -> store -> done). */
const STEP: Record<string, number> = { queued: 0, preparing: 1, running: 2, storing: 3 };

export function StatusBadge({ status }: { status: string }) {
  return (
    <span class={`status status-${status}`} data-testid="status">
      {status}
    </span>
  );
}

export function Progress({ p }: { p: Record<string, number> }) {
  const total = p.total || 0;
  const pct = (k: string) => (total ? ((p[k] || 0) * 100) / total : 0);
  const done = (p.succeeded || 0) + (p.failed || 0) + (p.cancelled || 0);
  const active = (p.preparing || 0) + (p.running || 0) + (p.storing || 0);
  return (
    <div class="progress" data-testid="progress" title={JSON.stringify(p)}>
      <div class="bar-track">
        <span class="seg succeeded" style={{ width: `${pct("succeeded")}%` }} />
        <span class="seg failed" style={{ width: `${pct("failed")}%` }} />
        <span class="seg cancelled" style={{ width: `${pct("cancelled")}%` }} />
        <span
          class="seg active"
          style={{ width: `${pct("preparing") + pct("running") + pct("storing")}%` }}
        />
      </div>
      <span class="small">
        {done} / {total} done
        {active ? ` · ${active} active` : ""}
        {p.failed ? ` · ${p.failed} failed` : ""}
      </span>
    </div>
  );
}

export function RunList({ search }: { search: string }) {
  const q = new URLSearchParams(search);
  const status = q.get("status") || "";
  const algorithm = q.get("algorithm") || "";
  const page = Math.max(1, Number(q.get("page") || "1") || 1);
  const qs = new URLSearchParams({ limit: String(PAGE), offset: String((page - 1) * PAGE) });
  if (status) qs.set("status", status);
  if (algorithm) qs.set("algorithm", algorithm);
  const { data, error, reload } = useLoad(
    () => pipelines.runs(qs.toString()),
    [status, algorithm, page],
    (runs) => (runs.some((r) => isActive(r.status)) ? 1500 : 5000), // new runs appear too
  );
  const cohorts = useLoad(api.cohorts, []);
  const cohortName: Record<string, string> = {};
  for (const c of cohorts.data ?? []) cohortName[String(c.id)] = c.name;
  const setFilter = (k: string, v: string) => {
    const n = new URLSearchParams(search);
    if (v) n.set(k, v);
    else n.delete(k);
    if (k !== "page") n.delete("page");
    navigate(`/runs${n.toString() ? `?${n}` : ""}`);
  };
  return (
    <main class="page">
      <h1>Runs</h1>
      <div class="toolbar">
        <a class="button primary" href="/runs/new">
          New run…
        </a>
        <select
          name="status"
          value={status}
          onChange={(e) => setFilter("status", (e.target as HTMLSelectElement).value)}
        >
          <option value="">any state</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        {algorithm && (
          <span class="chip">
            {algorithm}{" "}
            <button type="button" class="link" onClick={() => setFilter("algorithm", "")}>
              ×
            </button>
          </span>
        )}
      </div>
      {error ? (
        <ErrorBox error={error} retry={reload} />
      ) : !data ? (
        <Loading what="Loading runs" />
      ) : data.length === 0 ? (
        <Empty>
          No runs{status ? ` ${status}` : ""} yet. <a href="/runs/new">Run an algorithm</a> on a
          cohort.
        </Empty>
      ) : (
        <table class="table" data-testid="run-table">
          <thead>
            <tr>
              <th>Run</th>
              <th>Algorithm</th>
              <th>Cohort</th>
              <th>State</th>
              <th>Progress</th>
              <th>Trigger</th>
              <th>Created</th>
              <th class="num">Duration</th>
            </tr>
          </thead>
          <tbody>
            {data.map((r) => (
              <RunRow key={r.id} r={r} cohort={r.cohort_id ? cohortName[r.cohort_id] : undefined} />
            ))}
          </tbody>
        </table>
      )}
      {data && (page > 1 || data.length === PAGE) && (
        <div class="pager">
          <button
            type="button"
            disabled={page <= 1}
            onClick={() => setFilter("page", page > 2 ? String(page - 1) : "")}
          >
            ‹ Newer
          </button>
          <span>Page {page}</span>
          <button
            type="button"
            disabled={data.length < PAGE}
            onClick={() => setFilter("page", String(page + 1))}
          >
            Older ›
          </button>
        </div>
      )}
    </main>
  );
}

function RunRow({ r, cohort }: { r: Run; cohort?: string }) {
  return (
    <tr data-run-id={r.id}>
      <td>
        <a href={`/runs/${r.id}`} class="uid">
          {r.id.slice(0, 12)}
        </a>
      </td>
      <td>
        <a href={`/runs?algorithm=${encodeURIComponent(r.algorithm)}`}>{r.algorithm}</a>{" "}
        <span class="muted small">{r.algorithm_version}</span>
      </td>
      <td>
        {r.cohort_id ? <a href={`/cohorts/${r.cohort_id}`}>{cohort || `#${r.cohort_id}`}</a> : "—"}
      </td>
      <td>
        <StatusBadge status={r.status} />
      </td>
      <td>
        <Progress p={r.progress} />
      </td>
      <td class="small">
        {r.trigger.startsWith("auto:") ? <a href="/triggers">{r.trigger}</a> : r.trigger}
      </td>
      <td class="small">{fmtTime(r.created_at)}</td>
      <td class="num small">{fmtDuration(r.started_at, r.finished_at)}</td>
    </tr>
  );
}

/** The step a failed job stopped in, from its error ("run: algorithm exited ..."). */
const FAILED_IN: Record<string, number> = { prepare: 1, run: 2, store: 3 };

function JobSteps({ j }: { j: Job }) {
  const failedAt = j.status === "failed" ? (FAILED_IN[j.error.split(":")[0]] ?? 3) : 0;
  const cls = (k: number): string => {
    if (j.status === "succeeded") return "done";
    if (failedAt) return k < failedAt ? "done" : k === failedAt ? "bad" : "";
    if (j.status === "cancelled") return "";
    const step = STEP[j.status] ?? 0;
    return k < step ? "done" : k === step ? "now" : "";
  };
  return (
    <span class={`steps ${j.status}`} title="prepare · run · store">
      {[1, 2, 3].map((k) => (
        <span key={k} class={cls(k)} />
      ))}
    </span>
  );
}

function LogView({ run, job, active }: { run: string; job: Job | null; active: boolean }) {
  const { data, error, reload } = useLoad(
    () => (job ? pipelines.jobLogs(run, job.id) : pipelines.runLogs(run)),
    [run, job?.id, job?.status, active], // and once more when a job or the run ends
    () => (active ? 1000 : null),
  );
  const pre = useRef<HTMLPreElement>(null);
  useEffect(() => {
    // follow the tail while the run is going, like `tail -f`
    if (active && pre.current) pre.current.scrollTop = pre.current.scrollHeight;
  }, [data, active]);
  return (
    <section class="logs" data-testid="logs">
      <h3>
        Logs · {job ? `job ${job.id.slice(0, 12)} (${job.series_uid})` : "all jobs"}{" "}
        <button type="button" class="link small" onClick={reload}>
          refresh
        </button>
      </h3>
      {error ? (
        <ErrorBox error={error} retry={reload} />
      ) : data === null ? (
        <Loading what="Loading logs" />
      ) : (
        <pre ref={pre} data-testid="log-text">{data || "(no output yet)"}</pre>
      )}
    </section>
  );
}

function Results({ results, jobs }: { results: RunResult[]; jobs: Job[] }) {
  const source: Record<string, string> = {};
  for (const j of jobs) source[j.id] = j.series_uid;
  const [all, setAll] = useState(false);
  if (!results.length) return <p class="muted">No results yet.</p>;
  const shown = all ? results : results.slice(0, MAX_ROWS);
  return (
    <>
    <table class="table" data-testid="result-table">
      <thead>
        <tr>
          <th>File</th>
          <th>Output</th>
          <th>Kind</th>
          <th class="num">Size</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {shown.map((r) => (
          <tr key={r.id} data-result-id={r.id}>
            <td class="uid">{r.filename}</td>
            <td>{r.output}</td>
            <td>{r.kind.toUpperCase()}</td>
            <td class="num">{fmtBytes(r.size)}</td>
            <td>
              <div class="actions">
                <a href={r.download} download>
                  Download
                </a>
                {r.series_uid && <a href={`/series/${r.series_uid}`}>Open in viewer</a>}
                {r.kind === "seg" && source[r.job_id] && (
                  // the viewer of the source series draws the SEGs that segment it
                  <a href={`/series/${source[r.job_id]}`}>Overlay on source</a>
                )}
              </div>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
    {shown.length < results.length && (
      <p>
        Showing {shown.length} of {results.length} results.{" "}
        <button type="button" class="link" onClick={() => setAll(true)}>
          Show all
        </button>
      </p>
    )}
    </>
  );
}

/** Modality and description of the run's series, for the job table: from the cohort in
 * one request, else per series for small runs; a UID alone when neither is known. */
function useSeriesLabels(run: RunDetail | null): Record<string, string> {
  const [labels, setLabels] = useState<Record<string, string>>({});
  const key = run ? run.id : "";
  useEffect(() => {
    if (!run) return;
    let alive = true;
    const out: Record<string, string> = {};
    const label = (modality: string, description: string) =>
      `${modality || "?"} · ${description || "(no description)"}`;
    const fromCohort = run.cohort_id
      ? api.cohortMembers(Number(run.cohort_id)).then(
          (ms) => ms.forEach((m) => (out[m.series_uid] = label(m.modality, m.description))),
          () => undefined,
        )
      : Promise.resolve();
    fromCohort
      .then(() => {
        const rest = run.jobs.map((j) => j.series_uid).filter((u) => !out[u]);
        if (rest.length > 20) return;
        return Promise.all(
          rest.map((u) =>
            api.seriesDetail(u).then(
              (d) => (out[u] = label(d.series.modality, d.series.description)),
              () => undefined,
            ),
          ),
        );
      })
      .then(() => alive && setLabels(out));
    return () => {
      alive = false;
    };
  }, [key]);
  return labels;
}

export function RunPage({ id }: { id: string }) {
  const { data, error, reload } = useLoad(
    () => pipelines.run(id),
    [id],
    (r) => (isActive(r.status) ? 1000 : null),
  );
  const labels = useSeriesLabels(data);
  const cohortId = data?.cohort_id ?? null;
  const cohort = useLoad(() => (cohortId ? api.cohort(Number(cohortId)) : Promise.resolve(null)), [
    cohortId,
  ]);
  const [logJob, setLogJob] = useState<string | null | undefined>(undefined); // null: all
  const [msg, setMsg] = useState("");
  const [busy, setBusy] = useState(false);
  const [jobFilter, setJobFilter] = useState("");
  const [showAll, setShowAll] = useState(false);
  if (error && !data) return <ErrorBox error={error} retry={reload} />;
  if (!data) return <Loading what="Loading run" />;
  const r: RunDetail = data;
  const active = isActive(r.status);
  const retryable = r.jobs.some((j) => j.status === "failed" || j.status === "cancelled");
  const act = async (what: () => Promise<string>) => {
    setBusy(true);
    setMsg("");
    try {
      setMsg(await what());
    } catch (e) {
      setMsg((e as Error).message);
    } finally {
      setBusy(false);
      reload();
    }
  };
  const cancel = () =>
    act(async () => {
      if (!confirm(`Cancel run ${r.id.slice(0, 12)}? Running jobs are stopped.`)) return "";
      await pipelines.cancel(r.id);
      return "Run cancelled.";
    });
  const retry = () =>
    act(async () => {
      const res = await pipelines.retry(r.id);
      return `${res.requeued} job${res.requeued === 1 ? "" : "s"} queued again.`;
    });
  const filteredJobs = jobFilter ? r.jobs.filter((j) => j.status === jobFilter) : r.jobs;
  const shownJobs = showAll ? filteredJobs : filteredJobs.slice(0, MAX_ROWS);
  const shownJob = logJob ? (r.jobs.find((j) => j.id === logJob) ?? null) : null;
  return (
    <main class="page">
      <p>
        <a href="/runs">‹ All runs</a>
      </p>
      <h1>
        {r.algorithm} <span class="muted small">v{r.algorithm_version}</span>{" "}
        <StatusBadge status={r.status} />
      </h1>
      <p class="muted small" data-testid="run-meta">
        Run <span class="uid">{r.id}</span> · {r.trigger}
        {r.cohort_id && (
          <>
            {" "}
            · cohort <a href={`/cohorts/${r.cohort_id}`}>{cohort.data?.name || `#${r.cohort_id}`}</a>
          </>
        )}{" "}
        · engine {r.engine}, runner {r.runner} · created {fmtTime(r.created_at)} · {active ? "running for" : "took"}{" "}
        {fmtDuration(r.started_at, r.finished_at)}
      </p>
      <Progress p={r.progress} />
      <div class="toolbar">
        {active && (
          <button type="button" class="danger" onClick={cancel} disabled={busy}>
            Cancel run
          </button>
        )}
        {!active && retryable && (
          <button type="button" onClick={retry} disabled={busy}>
            Retry failed jobs
          </button>
        )}
        <button type="button" onClick={() => setLogJob(null)}>
          All logs
        </button>
        <a class="button" href={`/runs/new?algorithm=${encodeURIComponent(r.algorithm)}${r.cohort_id ? `&cohort=${r.cohort_id}` : ""}`}>
          Run again…
        </a>
        {msg && (
          <span class="notice" data-testid="run-msg">
            {msg}
          </span>
        )}
        {error ? <span class="error small">Refresh failed: {(error as Error).message}</span> : null}
      </div>
      <details class="params">
        <summary>Parameters</summary>
        <pre>{JSON.stringify(r.params, null, 2)}</pre>
      </details>
      <h2>Jobs</h2>
      <div class="toolbar" data-testid="job-filter">
        {[
          ["", `all (${r.jobs.length})`],
          ...JOB_STATES.filter((st) => r.progress[st]).map((st) => [st, `${st} (${r.progress[st]})`]),
        ]
          .map(([st, label]) => (
            <button
              key={st}
              type="button"
              class={`chip${jobFilter === st ? " on" : ""}`}
              onClick={() => {
                setJobFilter(st);
                setShowAll(false);
              }}
            >
              {label}
            </button>
          ))}
      </div>
      <table class="table" data-testid="job-table">
        <thead>
          <tr>
            <th>Series</th>
            <th>State</th>
            <th>Steps</th>
            <th class="num">Attempts</th>
            <th class="num">Exit</th>
            <th>Error</th>
            <th class="num">Duration</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {shownJobs.map((j) => (
            <tr key={j.id} data-job-id={j.id} class={logJob === j.id ? "selected" : ""}>
              <td>
                <a href={`/series/${j.series_uid}`}>{labels[j.series_uid] || "series"}</a>
                <div class="uid muted">{j.series_uid}</div>
              </td>
              <td>
                <StatusBadge status={j.status} />
              </td>
              <td>
                <JobSteps j={j} />
              </td>
              <td class="num">{j.attempts}</td>
              <td class="num">{j.exit_code ?? "—"}</td>
              <td class="small error-text">{j.error}</td>
              <td class="num small">{fmtDuration(j.started_at, j.finished_at)}</td>
              <td>
                <button type="button" class="link" onClick={() => setLogJob(j.id)}>
                  Logs
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {filteredJobs.length > shownJobs.length && (
        <p>
          Showing {shownJobs.length} of {filteredJobs.length} jobs.{" "}
          <button type="button" class="link" onClick={() => setShowAll(true)}>
            Show all
          </button>
        </p>
      )}
      {logJob !== undefined && <LogView run={r.id} job={shownJob} active={active} />}
      <h2>Results</h2>
      <Results results={r.results} jobs={r.jobs} />
    </main>
  );
}
