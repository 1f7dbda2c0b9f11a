// The algorithms this site can run: what they take, what they produce, what they cost.
import { Empty, ErrorBox, Loading } from "../components/States";
import { type Algorithm, pipelines } from "./api";
import { fieldsOf } from "./schemaForm";
import { useLoad } from "./useLoad";

function AlgorithmCard({ a }: { a: Algorithm }) {
  const params = fieldsOf(a.parameters);
  const r = a.resources;
  return (
    <section class="algo" data-algorithm={a.name}>
      <header>
        <h2>
          {a.name} <span class="muted small">v{a.version}</span>
        </h2>
        <a class="button primary" href={`/runs/new?algorithm=${encodeURIComponent(a.name)}`}>
          Run…
        </a>
      </header>
      <p>{a.description || <span class="muted">No description.</span>}</p>
      <dl class="facts">
        <dt>Inputs</dt>
        <dd data-testid="inputs">
          {a.inputs.modalities.length ? a.inputs.modalities.join(", ") : "any modality"}
          {a.inputs.min_instances > 1 && `, ≥ ${a.inputs.min_instances} instances`}
          {a.inputs.include_referenced && ", with the series it references"}
        </dd>
        <dt>Outputs</dt>
        <dd data-testid="outputs">
          {a.outputs.map((o) => (
            <span key={o.name} class="chip">
              {o.name}: {o.kind.toUpperCase()} <code>{o.path}</code>
            </span>
          ))}
        </dd>
        <dt>Parameters</dt>
        <dd>
          {params.length
            ? params.map((f) => (
                <span key={f.name} class="chip" title={f.schema.description}>
                  {f.name} <span class="muted">{f.kind}</span>
                </span>
              ))
            : "none"}
        </dd>
        <dt>Resources</dt>
        <dd data-testid="resources">
          {r.cpu} CPU · {r.memory} memory{r.gpu ? ` · ${r.gpu} GPU` : ""} · timeout{" "}
          {a.timeout_seconds} s
        </dd>
        <dt>Image</dt>
        <dd class="uid">
          {a.image}
          {a.image_digest ? `@${a.image_digest}` : ""}
        </dd>
      </dl>
    </section>
  );
}

export function AlgorithmList() {
  const { data, error, reload } = useLoad(pipelines.algorithms, []);
  if (error) return <ErrorBox error={error} retry={reload} />;
  if (!data) return <Loading what="Loading algorithms" />;
  return (
    <main class="page">
      <h1>Algorithms</h1>
      {data.length === 0 ? (
        <Empty>
          No algorithms installed. Add a folder with a <code>jip-algorithm.yaml</code> to{" "}
          <code>JIP_ALGORITHMS_DIRS</code>.
        </Empty>
      ) : (
        <div class="algos" data-testid="algorithm-list">
          {data.map((a) => (
            <AlgorithmCard key={a.name} a={a} />
          ))}
        </div>
      )}
    </main>
  );
}
