// Saved cohorts: list, open in the gallery, edit members, export, delete (confirmed).
import { useEffect, useState } from "preact/hooks";
import { api, type Cohort, type CohortMember, fmtDate } from "../api";
import { Empty, ErrorBox, Loading } from "../components/States";
import { navigate } from "../router";

function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [n, setN] = useState(0);
  useEffect(() => {
    setError(null);
    load().then(setData, setError);
  }, [...deps, n]);
  return { data, error, reload: () => setN(n + 1) };
}

export function CohortList() {
  const { data, error, reload } = useLoad(api.cohorts, []);
  if (error) return <ErrorBox error={error} retry={reload} />;
  if (!data) return <Loading what="Loading cohorts" />;
  return (
    <main class="page">
      <h1>Cohorts</h1>
      {data.length === 0 ? (
        <Empty>
          No cohorts yet. Filter the <a href="/">gallery</a> and press “Save as cohort”.
        </Empty>
      ) : (
        <table class="table" data-testid="cohort-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Description</th>
              <th>Owner</th>
              <th class="num">Series</th>
              <th>Updated</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {data.map((c) => (
              <CohortRow key={c.id} c={c} onChange={reload} />
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}

function CohortRow({ c, onChange }: { c: Cohort; onChange: () => void }) {
  const [error, setError] = useState("");
  const remove = async () => {
    if (!confirm(`Delete cohort “${c.name}” (${c.size} series)? The images stay.`)) return;
    try {
      await api.deleteCohort(c.id);
      onChange();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <tr data-cohort-id={c.id}>
      <td>
        <a href={`/cohorts/${c.id}`}>{c.name}</a>
      </td>
      <td class="muted">{c.description}</td>
      <td>{c.owner}</td>
      <td class="num">{c.size}</td>
      <td class="small">{c.updated_at.slice(0, 16).replace("T", " ")}</td>
      <td class="actions">
        <a href={`/?cohort=${c.id}`}>Open in gallery</a>
        <a href={api.exportUrl(c.id, "csv")} download>
          CSV
        </a>
        <a href={api.exportUrl(c.id, "json")} download>
          JSON
        </a>
        <button type="button" class="danger" onClick={remove}>
          Delete
        </button>
        {error && <span class="error">{error}</span>}
      </td>
    </tr>
  );
}

export function CohortDetail({ id }: { id: number }) {
  const cohort = useLoad(() => api.cohort(id), [id]);
  const members = useLoad(() => api.cohortMembers(id), [id]);
  const [addText, setAddText] = useState("");
  const [msg, setMsg] = useState("");
  if (cohort.error) return <ErrorBox error={cohort.error} retry={cohort.reload} />;
  if (members.error) return <ErrorBox error={members.error} retry={members.reload} />;
  if (!cohort.data || !members.data) return <Loading what="Loading cohort" />;
  const c = cohort.data;
  const refresh = () => {
    cohort.reload();
    members.reload();
  };
  const removeOne = async (m: CohortMember) => {
    try {
      await api.removeFromCohort(id, [m.series_uid]);
      refresh();
    } catch (e) {
      setMsg((e as Error).message);
    }
  };
  const add = async (e: Event) => {
    e.preventDefault();
    const uids = addText.split(/[\s,;]+/).filter(Boolean);
    if (!uids.length) return;
    try {
      const r = await api.addToCohort(id, uids);
      setMsg(`Added ${r.changed} series.`);
      setAddText("");
      refresh();
    } catch (err) {
      setMsg((err as Error).message);
    }
  };
  const del = async () => {
    if (!confirm(`Delete cohort “${c.name}” (${c.size} series)? The images stay.`)) return;
    try {
      await api.deleteCohort(id);
      navigate("/cohorts");
    } catch (err) {
      setMsg((err as Error).message);
    }
  };
  return (
    <main class="page">
      <p>
        <a href="/cohorts">‹ All cohorts</a>
      </p>
      <h1>{c.name}</h1>
      <p class="muted">
        {c.description || "No description."} Owner: {c.owner || "—"} · {c.size} series · created{" "}
        {c.created_at.slice(0, 10)}
      </p>
      <div class="toolbar">
        <a class="button" href={`/?cohort=${id}`}>
          Open in gallery
        </a>
        <a class="button" href={api.exportUrl(id, "csv")} download>
          Export CSV
        </a>
        <a class="button" href={api.exportUrl(id, "json")} download>
          Export JSON
        </a>
        <a class="button primary" href={`/runs/new?cohort=${id}`}>
          Run on this cohort…
        </a>
        <button type="button" class="danger" onClick={del}>
          Delete cohort
        </button>
      </div>
      <form class="add-form" onSubmit={add}>
        <input
          name="add-uids"
          placeholder="Series Instance UIDs to add (space or comma separated)"
          value={addText}
          onInput={(e) => setAddText((e.target as HTMLInputElement).value)}
        />
        <button type="submit">Add series</button>
      </form>
      {msg && <div class="notice">{msg}</div>}
      {members.data.length === 0 ? (
        <Empty>This cohort has no series.</Empty>
      ) : (
        <table class="table">
          <thead>
            <tr>
              <th>Patient</th>
              <th>Study date</th>
              <th>Modality</th>
              <th>Description</th>
              <th>Series UID</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {members.data.map((m) => (
              <tr key={m.series_uid}>
                <td>
                  <a href={`/patients/${encodeURIComponent(m.patient_id)}`}>{m.patient_id}</a>
                </td>
                <td>{fmtDate(m.study_date)}</td>
                <td>{m.modality}</td>
                <td>
                  <a href={`/series/${m.series_uid}`}>{m.description || "(none)"}</a>
                </td>
                <td class="uid">{m.series_uid}</td>
                <td>
                  <button type="button" class="link" onClick={() => removeOne(m)}>
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
