// A study with all its series; a patient with all studies on a timeline.
import { useEffect, useState } from "preact/hooks";
import { api, fmtDate, type Patient, type StudyDetail } from "../api";
import { ErrorBox, Loading } from "../components/States";
import { Thumb } from "../components/Thumb";

function SeriesStrip({ study }: { study: StudyDetail }) {
  return (
    <div class="strip">
      {study.series.map((s) => (
        <a class="mini" key={s.series_uid} href={`/series/${s.series_uid}`} title={s.description}>
          <Thumb s={s} />
          <span class="small">
            <b>{s.modality}</b> {s.description || "(none)"} · {s.num_instances}
          </span>
        </a>
      ))}
    </div>
  );
}

export function StudyPage({ uid }: { uid: string }) {
  const [data, setData] = useState<StudyDetail | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    setData(null);
    api.study(uid).then(setData, setError);
  }, [uid]);
  if (error) return <ErrorBox error={error} />;
  if (!data) return <Loading what="Loading study" />;
  const st = data.study;
  return (
    <main class="page">
      <h1>{st.description || "Study"}</h1>
      <p class="muted">
        {fmtDate(st.study_date)} · patient{" "}
        <a href={`/patients/${encodeURIComponent(st.patient_id)}`}>
          {st.patient_id} ({st.patient_name})
        </a>{" "}
        · {st.modalities.join(", ")} · accession {st.accession_number || "—"} ·{" "}
        {st.institution || "—"}
      </p>
      <h2>{data.series.length} series</h2>
      <SeriesStrip study={data} />
    </main>
  );
}

export function PatientPage({ id }: { id: string }) {
  const [data, setData] = useState<Patient | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    setData(null);
    api.patient(id).then(setData, setError);
  }, [id]);
  if (error) return <ErrorBox error={error} />;
  if (!data) return <Loading what="Loading patient" />;
  return (
    <main class="page">
      <h1>
        {data.patient_name || "(no name)"} <span class="muted">{data.patient_id}</span>
      </h1>
      <p class="muted">
        sex {data.sex || "—"} · born {fmtDate(data.birth_date)} · {data.studies.length} studies
      </p>
      <ol class="timeline" data-testid="timeline">
        {data.studies.map((s) => (
          <li key={s.study.study_uid}>
            <div class="when">{fmtDate(s.study.study_date)}</div>
            <div class="what">
              <a href={`/studies/${s.study.study_uid}`}>{s.study.description || "Study"}</a>{" "}
              <span class="muted small">
                {s.study.modalities.join(", ")} · {s.series.length} series
              </span>
              <SeriesStrip study={s} />
            </div>
          </li>
        ))}
      </ol>
    </main>
  );
}
