// The gallery: facets on the left, one page of series cards on the right. The URL is
// the state; every change of filter, sort or page is a navigation.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, type Cohort, type Facets, fmtDate, type SeriesPage } from "../api";
import { FacetPanel } from "../components/Facets";
import { SaveCohortDialog } from "../components/SaveCohort";
import { Empty, ErrorBox, Loading } from "../components/States";
import { Thumb } from "../components/Thumb";
import {
  type CategoricalKey,
  emptyFilter,
  type Filter,
  filterJson,
  filterParams,
  isEmpty,
  parseFilter,
  type ScalarKey,
  toSearch,
} from "../filters";
import { afterFirstPage, markFirstPageShown } from "../lazy";
import { getJson, prefetch } from "../prefetch";
import { navigate } from "../router";

export const PAGE_SIZE = 48;

const SORTS: [string, string][] = [
  ["-study_date", "Newest study first"],
  ["study_date", "Oldest study first"],
  ["description", "Description A–Z"],
  ["modality", "Modality"],
  ["patient_id", "Patient ID"],
  ["-num_instances", "Most images"],
  ["slice_thickness", "Thinnest slices"],
  ["-received", "Recently received"],
];

/** The one request behind a gallery view: a page of series and the facet counts
 * (GET /api/v1/gallery = /series + /facets). index.html builds the same URL. */
export function galleryUrl(f: Filter): string {
  const params = filterParams(f);
  params.set("sort", f.sort);
  params.set("limit", String(PAGE_SIZE));
  params.set("offset", String((f.page - 1) * PAGE_SIZE));
  return `/api/v1/gallery?${params}`;
}

export function Gallery({ search }: { search: string }) {
  const filter = parseFilter(search);
  const qs = filterParams(filter).toString();
  const [page, setPage] = useState<SeriesPage | null>(null);
  const [facets, setFacets] = useState<Facets | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [retries, setRetries] = useState(0);
  const [saving, setSaving] = useState(false);
  const [saved, setSaved] = useState<Cohort | null>(null);
  const [selected, setSelected] = useState<string[]>([]);
  const [cohorts, setCohorts] = useState<Cohort[]>([]);
  const [notice, setNotice] = useState("");
  const abort = useRef<AbortController | null>(null);
  const cohortId = filter.scalars.cohort ? Number(filter.scalars.cohort) : null;
  const cohortName = cohorts.find((c) => c.id === cohortId)?.name;

  // the new page's requests leave with the click, before the re-render that shows it
  const go = (f: Filter) => {
    prefetch(galleryUrl(f));
    navigate(`/${toSearch(f)}`);
  };
  const toggle = (key: CategoricalKey, value: string) => {
    const cur = filter.lists[key];
    const next = cur.includes(value) ? cur.filter((v) => v !== value) : [...cur, value];
    go({ ...filter, lists: { ...filter.lists, [key]: next }, page: 1 });
  };
  const setScalars = (values: Partial<Record<ScalarKey, string>>) =>
    go({ ...filter, scalars: { ...filter.scalars, ...values }, page: 1 });

  // a layout effect: the requests leave before the browser paints the click's re-render
  useLayoutEffect(() => {
    abort.current?.abort();
    const ctl = new AbortController();
    abort.current = ctl;
    // dim the old results only if the answer is slow: a fast one then costs one repaint
    const slow = setTimeout(() => setLoading(true), 150);
    setError(null);
    getJson<{ series: SeriesPage; facets: Facets }>(galleryUrl(filter), ctl.signal)
      .then(({ series: p, facets: f }) => {
        if (ctl.signal.aborted) return; // a prefetched answer to an outdated filter
        clearTimeout(slow);
        setPage(p);
        setFacets(f);
        setLoading(false);
        // after the frame that shows it: lets benchmarks read "first page shown" from
        // the timeline, and side requests (totals, cohorts) start only now
        requestAnimationFrame(() =>
          setTimeout(() => {
            if (!performance.getEntriesByName("jip:gallery-ready").length)
              performance.mark("jip:gallery-ready");
            markFirstPageShown();
          }, 0),
        );
      })
      .catch((e) => {
        if ((e as Error).name === "AbortError" || ctl.signal.aborted) return;
        clearTimeout(slow);
        setError(e);
        setLoading(false);
      });
    return () => {
      clearTimeout(slow);
      ctl.abort();
    };
  }, [qs, filter.sort, filter.page, retries]);

  useEffect(() => {
    afterFirstPage(() => api.cohorts().then(setCohorts, () => setCohorts([])));
  }, [saved]);

  const total = page?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const toggleSel = (uid: string) =>
    setSelected((s) => (s.includes(uid) ? s.filter((x) => x !== uid) : [...s, uid]));
  const addSelectedTo = async (id: number) => {
    try {
      const r = await api.addToCohort(id, selected);
      setNotice(`Added ${r.changed} series; the cohort now has ${r.size}.`);
      setSelected([]);
    } catch (e) {
      setNotice(`Could not add: ${(e as Error).message}`);
    }
  };

  // the same vnodes while only `loading` changes: Preact then skips the 48 cards
  const cards = useMemo(
    () => (
      <>
        {page?.items.map((s) => (
          <article class="card" key={s.series_uid} data-series-uid={s.series_uid}>
            <a href={`/series/${s.series_uid}`} class="card-link" title="Open viewer">
              <Thumb s={s} />
            </a>
            <div class="card-body">
              <div class="card-title">
                <span class="mod">{s.modality}</span>
                <a href={`/series/${s.series_uid}`}>{s.description || "(no description)"}</a>
              </div>
              <div class="muted small">
                {fmtDate(s.study_date)} · {s.body_part || "—"} · {s.num_instances} img
              </div>
              <div class="small">
                <a href={`/patients/${encodeURIComponent(s.patient_id)}`}>{s.patient_id}</a>
                {" · "}
                <a href={`/studies/${s.study_uid}`}>study</a>
                <label class="select">
                  <input
                    type="checkbox"
                    checked={selected.includes(s.series_uid)}
                    onChange={() => toggleSel(s.series_uid)}
                    aria-label="select series"
                  />
                </label>
              </div>
            </div>
          </article>
        ))}
      </>
    ),
    [page, selected],
  );

  return (
    <div class="gallery-page">
      <FacetPanel facets={facets} filter={filter} toggle={toggle} setScalars={setScalars} />
      <main class="gallery-main">
        <div class="toolbar">
          <span class="total" data-testid="total">
            {page ? `${total.toLocaleString("en")} series` : "…"}
          </span>
          {cohortId !== null && (
            <span class="chip" data-testid="cohort-chip">
              cohort: {cohortName || `#${cohortId}`}
              <button
                type="button"
                class="link"
                aria-label="leave cohort"
                onClick={() => setScalars({ cohort: "" })}
              >
                ×
              </button>
            </span>
          )}
          {!isEmpty(filter) && (
            <button type="button" class="link" onClick={() => go(emptyFilter())}>
              Clear filters
            </button>
          )}
          <span class="spacer" />
          <label class="small">
            Sort{" "}
            <select
              name="sort"
              value={filter.sort}
              onChange={(e) =>
                go({ ...filter, sort: (e.target as HTMLSelectElement).value, page: 1 })
              }
            >
              {SORTS.map(([v, l]) => (
                <option key={v} value={v}>
                  {l}
                </option>
              ))}
            </select>
          </label>
          {selected.length > 0 && cohorts.length > 0 && (
            <select
              name="add-to"
              value=""
              onChange={(e) => {
                const v = (e.target as HTMLSelectElement).value;
                if (v) addSelectedTo(Number(v));
              }}
            >
              <option value="">Add {selected.length} selected to…</option>
              {cohorts.map((c) => (
                <option key={c.id} value={String(c.id)}>
                  {c.name}
                </option>
              ))}
            </select>
          )}
          <button
            type="button"
            class="primary"
            disabled={!page || (total === 0 && !selected.length)}
            onClick={() => setSaving(true)}
          >
            {selected.length ? `Save ${selected.length} selected as cohort` : "Save as cohort"}
          </button>
        </div>
        {saved && (
          <div class="notice" data-testid="saved">
            Saved cohort <a href="/cohorts">{saved.name}</a> with {saved.size} series.
          </div>
        )}
        {notice && <div class="notice">{notice}</div>}
        {error ? (
          <ErrorBox error={error} retry={() => setRetries(retries + 1)} />
        ) : !page ? (
          <Loading what="Loading series" />
        ) : total === 0 ? (
          <Empty>
            No series match these filters.{" "}
            {!isEmpty(filter) && (
              <button type="button" class="link" onClick={() => go(emptyFilter())}>
                Clear filters
              </button>
            )}
          </Empty>
        ) : (
          <>
            <div class={`grid ${loading ? "stale" : ""}`} data-testid="grid">
              {cards}
            </div>
            <nav class="pager" aria-label="pages">
              <button
                type="button"
                disabled={filter.page <= 1}
                onClick={() => go({ ...filter, page: filter.page - 1 })}
              >
                ‹ Prev
              </button>
              <span>
                page {filter.page} of {pages.toLocaleString("en")}
              </span>
              <button
                type="button"
                disabled={filter.page >= pages}
                onClick={() => go({ ...filter, page: filter.page + 1 })}
              >
                Next ›
              </button>
            </nav>
          </>
        )}
      </main>
      {saving && (
        <SaveCohortDialog
          size={total}
          filter={filterJson(filter)}
          selected={selected}
          onClose={() => setSaving(false)}
          onSaved={(c) => {
            setSaving(false);
            setSaved(c);
            setSelected([]);
          }}
        />
      )}
    </div>
  );
}
