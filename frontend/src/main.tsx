import { render } from "preact";
import { useErrorBoundary, useEffect, useState } from "preact/hooks";
import { api, type Statistics } from "./api";
import { Empty, ErrorBox } from "./components/States";
import { afterFirstPage } from "./lazy";
import { CohortDetail, CohortList } from "./pages/Cohorts";
import { Gallery } from "./pages/Gallery";
import { StudyList } from "./pages/Studies";
import { PatientPage, StudyPage } from "./pages/StudyPatient";
import { Viewer } from "./pages/Viewer";
import { PipelineNav, pipelineRoute } from "./pipelines/routes";
import { onLinkClick, useLocation } from "./router";
import "./style.css";

function route(path: string, search: string) {
  let m: RegExpMatchArray | null;
  if (path === "/" || path === "") return <Gallery search={search} />;
  if (path === "/cohorts") return <CohortList />;
  if (path === "/studies") return <StudyList search={search} />;
  if ((m = path.match(/^\/cohorts\/(\d+)$/))) return <CohortDetail id={Number(m[1])} />;
  if ((m = path.match(/^\/series\/([^/]+)$/))) return <Viewer uid={decodeURIComponent(m[1])} />;
  if ((m = path.match(/^\/studies\/([^/]+)$/))) return <StudyPage uid={decodeURIComponent(m[1])} />;
  if ((m = path.match(/^\/patients\/([^/]+)$/))) return <PatientPage id={decodeURIComponent(m[1])} />;
  const pipelinePage = pipelineRoute(path, search);
  if (pipelinePage) return pipelinePage;
  return (
    <Empty>
      Page not found. <a href="/">Back to the gallery</a>
    </Empty>
  );
}

function Totals() {
  const [s, setS] = useState<Statistics | null>(null);
  useEffect(() => {
    afterFirstPage(() => api.statistics().then(setS, () => setS(null))); // gallery first
  }, []);
  if (!s) return null;
  return (
    <span class="muted small">
      {s.patients.toLocaleString("en")} patients · {s.studies.toLocaleString("en")} studies ·{" "}
      {s.series.toLocaleString("en")} series
    </span>
  );
}

const WARNINGS_EVERY_MS = 60_000;

/** What the site says needs an admin soon (a data disk filling up), above every page:
 * the people browsing are the first to see it, before senders get refusals. */
function SiteWarnings() {
  const [warnings, setWarnings] = useState<string[]>([]);
  useEffect(() => {
    const ask = () => api.health().then((h) => setWarnings(h.warnings ?? []), () => {});
    let timer = 0;
    afterFirstPage(() => {
      ask();
      timer = window.setInterval(ask, WARNINGS_EVERY_MS);
    });
    return () => window.clearInterval(timer);
  }, []);
  if (!warnings.length) return null;
  return (
    <div class="site-warning" role="alert" data-testid="site-warning">
      {warnings.map((w) => (
        <p key={w}>{w}</p>
      ))}
    </div>
  );
}

/** A page that throws while rendering shows the error, never a blank screen. */
function Page({ path, search }: { path: string; search: string }) {
  const [error, reset] = useErrorBoundary();
  if (error) return <ErrorBox error={error} retry={reset} />;
  return route(path, search);
}

function App() {
  const { path, search } = useLocation();
  return (
    <div class="app" onClick={onLinkClick}>
      <nav class="topbar">
        <a class="brand" href="/">
          JIP
        </a>
        <a href="/" class={path === "/" ? "active" : ""}>
          Gallery
        </a>
        <a href="/studies" class={path.startsWith("/studies") ? "active" : ""}>
          Studies
        </a>
        <a href="/cohorts" class={path.startsWith("/cohorts") ? "active" : ""}>
          Cohorts
        </a>
        <PipelineNav path={path} />
        <span class="spacer" />
        <Totals />
        <a href="/docs" target="_blank" rel="noreferrer" class="small">
          API
        </a>
      </nav>
      <SiteWarnings />
      <Page key={path} path={path} search={search} />
    </div>
  );
}

const root = document.getElementById("app")!;
root.textContent = ""; // drop the static "Loading JIP" placeholder of index.html
render(<App />, root);
