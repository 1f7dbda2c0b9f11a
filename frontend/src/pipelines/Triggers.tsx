// Auto-triggers: run an algorithm on every completed incoming series that matches a
// filter (globs over modality, body part, description, manufacturer, institution).
import { useEffect, useState } from "preact/hooks";
import { Empty, ErrorBox, Loading } from "../components/States";
import { type Algorithm, fmtTime, pipelines, type Trigger } from "./api";
import { SchemaFields } from "./SchemaForm";
import { type FieldErrors, type FormValues, initialValues, parseValues } from "./schemaForm";
import { useLoad } from "./useLoad";

const FILTER_FIELDS: [string, string][] = [
  ["modality", "Modality"],
  ["body_part", "Body part"],
  ["description", "Series description"],
  ["manufacturer", "Manufacturer"],
  ["institution", "Institution"],
];

function fmtFilter(f: Record<string, unknown>): string {
  const parts = Object.entries(f).map(([k, v]) =>
    Array.isArray(v) ? `${k} ∈ {${v.join(", ")}}` : `${k} = ${String(v)}`,
  );
  return parts.length ? parts.join(" · ") : "every series";
}

function NewTrigger({ algorithms, onCreated }: { algorithms: Algorithm[]; onCreated: () => void }) {
  const [name, setName] = useState(algorithms[0]?.name ?? "");
  const [filter, setFilter] = useState<Record<string, string>>({});
  const [derived, setDerived] = useState(false);
  const [minInstances, setMinInstances] = useState("");
  const [values, setValues] = useState<FormValues>({});
  const [errors, setErrors] = useState<FieldErrors>({});
  const [msg, setMsg] = useState("");
  const algo = algorithms.find((a) => a.name === name);
  useEffect(() => {
    // a new algorithm: its defaults, and its accepted modalities as the first filter
    setValues(algo ? initialValues(algo.parameters) : {});
    setErrors({});
    if (algo) setFilter((f) => ({ ...f, modality: algo.inputs.modalities.join(", ") }));
  }, [algo?.name]);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!algo) return;
    setMsg("");
    const parsed = parseValues(algo.parameters, values);
    setErrors(parsed.errors);
    if (Object.keys(parsed.errors).length) return;
    const series_filter: Record<string, unknown> = {};
    for (const [k] of FILTER_FIELDS) {
      const globs = (filter[k] || "").split(",").map((s) => s.trim()).filter(Boolean);
      if (globs.length) series_filter[k] = globs.length === 1 ? globs[0] : globs;
    }
    if (derived) series_filter.include_derived = true;
    if (minInstances.trim()) {
      const n = Number(minInstances);
      if (!Number.isInteger(n) || n < 1) {
        setMsg("“At least N instances” must be a whole number ≥ 1.");
        return;
      }
      series_filter.min_instances = n;
    }
    try {
      await pipelines.createTrigger({ algorithm: algo.name, series_filter, params: parsed.params });
      setMsg("Trigger saved.");
      onCreated();
    } catch (err) {
      setMsg((err as Error).message);
    }
  };
  return (
    <form class="run-form trigger-form" onSubmit={submit} noValidate data-testid="trigger-form">
      <h2>New trigger</h2>
      <label>
        Algorithm
        <select
          name="trigger-algorithm"
          value={name}
          onChange={(e) => setName((e.target as HTMLSelectElement).value)}
        >
          {algorithms.map((a) => (
            <option key={a.name} value={a.name}>
              {a.name} {a.version}
            </option>
          ))}
        </select>
      </label>
      <fieldset>
        <legend>Series filter (globs like <code>CT</code>, <code>*chest*</code>; commas: any of)</legend>
        <div class="filter-grid">
          {FILTER_FIELDS.map(([k, label]) => (
            <label key={k}>
              {label}
              <input
                name={`filter-${k}`}
                value={filter[k] || ""}
                onInput={(e) => setFilter({ ...filter, [k]: (e.target as HTMLInputElement).value })}
              />
            </label>
          ))}
          <label>
            At least N instances
            <input
              name="filter-min_instances"
              inputMode="numeric"
              value={minInstances}
              onInput={(e) => setMinInstances((e.target as HTMLInputElement).value)}
            />
          </label>
          <label class="inline">
            <input
              type="checkbox"
              name="filter-include_derived"
              checked={derived}
              onChange={(e) => setDerived((e.target as HTMLInputElement).checked)}
            />{" "}
            also series made by pipelines
          </label>
        </div>
      </fieldset>
      {algo && (
        <fieldset>
          <legend>Parameters</legend>
          <SchemaFields schema={algo.parameters} values={values} errors={errors} onChange={setValues} />
        </fieldset>
      )}
      <div class="toolbar">
        <button type="submit" class="primary">
          Add trigger
        </button>
        {msg && (
          <span class="notice" data-testid="trigger-msg">
            {msg}
          </span>
        )}
      </div>
    </form>
  );
}

function TriggerRow({ t, onChange }: { t: Trigger; onChange: () => void }) {
  const [error, setError] = useState("");
  const remove = async () => {
    if (!confirm(`Delete the trigger of ${t.algorithm} on ${fmtFilter(t.series_filter)}?`)) return;
    try {
      await pipelines.deleteTrigger(t.id);
      onChange();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <tr data-trigger-id={t.id}>
      <td>{t.id}</td>
      <td>
        <a href={`/runs?algorithm=${encodeURIComponent(t.algorithm)}`}>{t.algorithm}</a>
      </td>
      <td>{fmtFilter(t.series_filter)}</td>
      <td class="small">
        {Object.entries(t.params)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(" · ")}
      </td>
      <td>{t.enabled ? "on" : "off"}</td>
      <td class="small">{fmtTime(t.created_at)}</td>
      <td>
        <div class="actions">
          <button type="button" class="danger" onClick={remove}>
            Delete
          </button>
          {error && <span class="error">{error}</span>}
        </div>
      </td>
    </tr>
  );
}

export function TriggerList() {
  const triggers = useLoad(pipelines.triggers, []);
  const algos = useLoad(pipelines.algorithms, []);
  if (triggers.error) return <ErrorBox error={triggers.error} retry={triggers.reload} />;
  if (algos.error) return <ErrorBox error={algos.error} retry={algos.reload} />;
  if (!triggers.data || !algos.data) return <Loading what="Loading triggers" />;
  return (
    <main class="page">
      <h1>Auto-triggers</h1>
      <p class="muted">
        Each completed incoming series that matches a trigger’s filter starts a run of its
        algorithm (runs show trigger <code>auto:ID</code>).
      </p>
      {triggers.data.length === 0 ? (
        <Empty>No triggers: incoming series start nothing.</Empty>
      ) : (
        <table class="table" data-testid="trigger-table">
          <thead>
            <tr>
              <th>#</th>
              <th>Algorithm</th>
              <th>Filter</th>
              <th>Parameters</th>
              <th>Enabled</th>
              <th>Created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {triggers.data.map((t) => (
              <TriggerRow key={t.id} t={t} onChange={triggers.reload} />
            ))}
          </tbody>
        </table>
      )}
      {algos.data.length > 0 && <NewTrigger algorithms={algos.data} onCreated={triggers.reload} />}
    </main>
  );
}
