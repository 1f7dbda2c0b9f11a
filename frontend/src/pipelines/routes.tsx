// The pipeline pages' routes and nav links, kept here so main.tsx only gains two lines.
import { AlgorithmList } from "./Algorithms";
import { RunForm } from "./RunForm";
import { RunList, RunPage } from "./Runs";
import { TriggerList } from "./Triggers";
import "./pipelines.css";

export function pipelineRoute(path: string, search: string) {
  let m: RegExpMatchArray | null;
  if (path === "/algorithms") return <AlgorithmList />;
  if (path === "/runs") return <RunList search={search} />;
  if (path === "/runs/new") return <RunForm search={search} />;
  if ((m = path.match(/^\/runs\/([^/]+)$/))) return <RunPage id={decodeURIComponent(m[1])} />;
  if (path === "/triggers") return <TriggerList />;
  return null;
}

export function PipelineNav({ path }: { path: string }) {
  const cls = (p: string) => (path.startsWith(p) ? "active" : "");
  return (
    <>
      <a href="/algorithms" class={cls("/algorithms")}>
        Algorithms
      </a>
      <a href="/runs" class={cls("/runs")}>
        Runs
      </a>
      <a href="/triggers" class={cls("/triggers")}>
        Triggers
      </a>
    </>
  );
}
