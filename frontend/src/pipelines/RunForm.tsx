// Start a run: an algorithm, a cohort, and the parameters in a form generated from the
// algorithm's JSON Schema. Checked in the browser first; a 4xx from the server (schema
// error, wrong modality, empty cohort) is shown as sent and marks its field.
import { useEffect, useState } from "preact/hooks";
import { api, type Cohort } from "../api";
import { Empty, ErrorBox, Loading } from "../components/States";
import { navigate } from "../router";
import { type Algorithm, pipelines } from "./api";
import { SchemaFields } from "./SchemaForm";
import {
  type FieldErrors,
  fieldOfServerError,
  type FormValues,
  initialValues,
  parseValues,
} from "./schemaForm";
import { useLoad } from "./useLoad";

export function RunForm({ search }: { search: string }) {
  const q = new URLSearchParams(search);
  const algos = useLoad(pipelines.algorithms, []);
  const cohorts = useLoad(api.cohorts, []);
  const [name, setName] = useState(q.get("algorithm") || "");
  const [cohortId, setCohortId] = useState(q.get("cohort") || "");
  const [values, setValues] = useState<FormValues>({});
  const [asJson, setAsJson] = useState(false);
  const [jsonText, setJsonText] = useState("{}");
  const [errors, setErrors] = useState<FieldErrors>({});
  const [serverError, setServerError] = useState("");
  const [busy, setBusy] = useState(false);
  const [onlyAccepted, setOnlyAccepted] = useState(false);
  const members = useLoad(
    () => (cohortId ? api.cohortMembers(Number(cohortId)) : Promise.resolve([])),
    [cohortId],
  );

  const algo: Algorithm | undefined = algos.data?.find((a) => a.name === name);
  useEffect(() => {
    if (!algos.data?.length) return;
    if (!algo) setName(algos.data[0].name);
  }, [algos.data]);
  useEffect(() => {
    // a new algorithm: its own fields with their defaults
    setValues(algo ? initialValues(algo.parameters) : {});
    setErrors({});
    setServerError("");
    setAsJson(false);
  }, [algo?.name]);
  useEffect(() => {
    if (cohorts.data?.length && !cohortId) setCohortId(String(cohorts.data[0].id));
  }, [cohorts.data]);

  if (algos.error) return <ErrorBox error={algos.error} retry={algos.reload} />;
  if (cohorts.error) return <ErrorBox error={cohorts.error} retry={cohorts.reload} />;
  if (!algos.data || !cohorts.data) return <Loading what="Loading algorithms and cohorts" />;
  if (!algos.data.length) return <Empty>No algorithms installed: nothing to run.</Empty>;
  if (!cohorts.data.length)
    return (
      <Empty>
        No cohorts yet. Filter the <a href="/">gallery</a> and press “Save as cohort”, then
        run an algorithm on it.
      </Empty>
    );
  const cohort: Cohort | undefined = cohorts.data.find((c) => String(c.id) === cohortId);
  // the server refuses a run with a series of a modality the algorithm does not accept:
  // say so before, and offer to run on the accepted series only
  const wanted = algo?.inputs.modalities ?? [];
  const accepted = (members.data ?? []).filter(
    (m) => !wanted.length || wanted.includes(m.modality),
  );
  const refused = (members.data?.length ?? 0) - accepted.length;
  const skip = onlyAccepted && refused > 0;

  const toggleJson = () => {
    if (!algo) return;
    if (!asJson) {
      // carry what parses over into the JSON text; the server judges the rest
      setJsonText(JSON.stringify(parseValues(algo.parameters, values).params, null, 2));
    } else {
      try {
        setValues(initialValues(algo.parameters, JSON.parse(jsonText)));
      } catch {
        /* keep the form as it was */
      }
    }
    const field = fieldOfServerError(serverError);
    setErrors(field && asJson ? { [field]: "was refused by the server (see below)" } : {});
    setAsJson(!asJson);
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!algo || busy) return;
    setServerError("");
    let params: Record<string, unknown>;
    if (asJson) {
      try {
        params = JSON.parse(jsonText);
      } catch (err) {
        setServerError(`The parameters are not valid JSON: ${(err as Error).message}`);
        return;
      }
    } else {
      const parsed = parseValues(algo.parameters, values);
      setErrors(parsed.errors);
      if (Object.keys(parsed.errors).length) return;
      params = parsed.params;
    }
    setBusy(true);
    try {
      const target = skip
        ? { series_uids: accepted.map((m) => m.series_uid) }
        : { cohort_id: cohortId };
      const run = await pipelines.createRun({ algorithm: algo.name, ...target, params });
      navigate(`/runs/${run.id}`);
    } catch (err) {
      const msg = (err as Error).message;
      setServerError(msg);
      const field = fieldOfServerError(msg);
      if (field && !asJson) setErrors({ [field]: "was refused by the server (see below)" });
    } finally {
      setBusy(false);
    }
  };

  const fieldErrorCount = Object.keys(errors).length;
  return (
    <main class="page narrow">
      <p>
        <a href="/runs">‹ All runs</a>
      </p>
      <h1>Run an algorithm</h1>
      <form class="run-form" onSubmit={submit} noValidate>
        <label>
          Algorithm
          <select
            name="algorithm"
            value={name}
            onChange={(e) => setName((e.target as HTMLSelectElement).value)}
          >
            {algos.data.map((a) => (
              <option key={a.name} value={a.name}>
                {a.name} {a.version}
              </option>
            ))}
          </select>
        </label>
        {algo && (
          <p class="muted small" data-testid="algorithm-summary">
            {algo.description} Accepts{" "}
            {algo.inputs.modalities.length ? algo.inputs.modalities.join(", ") : "any modality"};
            produces {algo.outputs.map((o) => o.kind.toUpperCase()).join(", ")}.
          </p>
        )}
        <label>
          Cohort
          <select
            name="cohort"
            value={cohortId}
            onChange={(e) => setCohortId((e.target as HTMLSelectElement).value)}
          >
            {cohorts.data.map((c) => (
              <option key={c.id} value={String(c.id)}>
                {c.name} ({c.size} series)
              </option>
            ))}
          </select>
        </label>
        {cohort && (
          <p class="muted small">
            One job per series: {skip ? accepted.length : cohort.size} job
            {(skip ? accepted.length : cohort.size) === 1 ? "" : "s"}.{" "}
            <a href={`/cohorts/${cohort.id}`}>Open the cohort</a>
          </p>
        )}
        {algo && refused > 0 && (
          <div class="warning" data-testid="modality-warning">
            {refused} of {members.data?.length} series in this cohort{" "}
            {refused === 1 ? "is" : "are"} not {wanted.join(" or ")}, which {algo.name} does not
            accept.
            {accepted.length > 0 ? (
              <label class="inline">
                <input
                  type="checkbox"
                  name="only-accepted"
                  checked={onlyAccepted}
                  onChange={(e) => setOnlyAccepted((e.target as HTMLInputElement).checked)}
                />{" "}
                Run on the {accepted.length} accepted series only (the run is then not linked
                to the cohort)
              </label>
            ) : (
              " Pick another cohort or algorithm."
            )}
          </div>
        )}
        <fieldset>
          <legend>
            Parameters{" "}
            <button type="button" class="link small" onClick={toggleJson}>
              {asJson ? "Edit as form" : "Edit as JSON"}
            </button>
          </legend>
          {algo &&
            (asJson ? (
              <textarea
                name="params-json"
                class="json"
                rows={8}
                value={jsonText}
                onInput={(e) => setJsonText((e.target as HTMLTextAreaElement).value)}
              />
            ) : (
              <SchemaFields
                schema={algo.parameters}
                values={values}
                errors={errors}
                onChange={setValues}
              />
            ))}
        </fieldset>
        {fieldErrorCount > 0 && !serverError && (
          <div class="field-error" data-testid="form-invalid">
            Fix the marked field{fieldErrorCount > 1 ? "s" : ""}: nothing was sent.
          </div>
        )}
        {serverError && (
          <div class="state error" role="alert" data-testid="run-error">
            <strong>The server refused the run.</strong> <span>{serverError}</span>
          </div>
        )}
        <div class="toolbar">
          <button type="submit" class="primary" disabled={busy || !algo}>
            {busy ? "Starting…" : "Start run"}
          </button>
        </div>
      </form>
    </main>
  );
}
