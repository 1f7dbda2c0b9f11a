// All studies, newest first, searchable by patient or description, paged.
import { useEffect, useState } from "preact/hooks";
import { api, fmtDate, type Study } from "../api";
import { Empty, ErrorBox, Loading } from "../components/States";
import { navigate } from "../router";

const PAGE = 50;

export function StudyList({ search }: { search: string }) {
  const params = new URLSearchParams(search);
  const q = params.get("q") || "";
  const page = Math.max(1, Number(params.get("page") || "1") || 1);
  const [data, setData] = useState<{ total: number; items: Study[] } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [text, setText] = useState(q);
  const [n, setN] = useState(0);
  useEffect(() => {
    setError(null);
    const p = new URLSearchParams({ limit: String(PAGE), offset: String((page - 1) * PAGE) });
    if (q) p.set("q", q);
    api.studies(p.toString()).then(setData, setError);
  }, [q, page, n]);
  const go = (nq: string, np: number) => {
    const p = new URLSearchParams();
    if (nq) p.set("q", nq);
    if (np > 1) p.set("page", String(np));
    navigate(`/studies${p.toString() ? `?${p}` : ""}`);
  };
  const pages = data ? Math.max(1, Math.ceil(data.total / PAGE)) : 1;
  return (
    <main class="page">
      <h1>Studies</h1>
      <form
        class="add-form"
        onSubmit={(e) => {
          e.preventDefault();
          go(text.trim(), 1);
        }}
      >
        <input
          type="search"
          name="q"
          placeholder="patient ID, name or study description"
          value={text}
          onInput={(e) => setText((e.target as HTMLInputElement).value)}
        />
        <button type="submit">Search</button>
      </form>
      {error ? (
        <ErrorBox error={error} retry={() => setN(n + 1)} />
      ) : !data ? (
        <Loading what="Loading studies" />
      ) : data.total === 0 ? (
        <Empty>No studies{q ? ` match “${q}”` : " yet: send DICOM to the site"}.</Empty>
      ) : (
        <>
          <p class="muted" data-testid="study-total">
            {data.total.toLocaleString("en")} studies
          </p>
          <table class="table" data-testid="study-table">
            <thead>
              <tr>
                <th>Date</th>
                <th>Patient</th>
                <th>Description</th>
                <th>Modalities</th>
                <th class="num">Series</th>
                <th class="num">Images</th>
              </tr>
            </thead>
            <tbody>
              {data.items.map((s) => (
                <tr key={s.study_uid}>
                  <td>{fmtDate(s.study_date)}</td>
                  <td>
                    <a href={`/patients/${encodeURIComponent(s.patient_id)}`}>{s.patient_id}</a>{" "}
                    <span class="muted small">{s.patient_name}</span>
                  </td>
                  <td>
                    <a href={`/studies/${s.study_uid}`}>{s.description || "(none)"}</a>
                  </td>
                  <td>{s.modalities.join(", ")}</td>
                  <td class="num">{s.num_series}</td>
                  <td class="num">{s.num_instances}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <nav class="pager">
            <button type="button" disabled={page <= 1} onClick={() => go(q, page - 1)}>
              ‹ Prev
            </button>
            <span>
              page {page} of {pages}
            </span>
            <button type="button" disabled={page >= pages} onClick={() => go(q, page + 1)}>
              Next ›
            </button>
          </nav>
        </>
      )}
    </main>
  );
}
