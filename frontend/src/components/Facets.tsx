// The facet sidebar: live counts per value, each facet counted without its own
// condition, so the alternatives of a selected value stay visible.
import { useEffect, useState } from "preact/hooks";
import type { Bucket, FacetValue, Facets } from "../api";
import { fmtDate } from "../api";
import { CATEGORICAL, type CategoricalKey, type Filter, type ScalarKey } from "../filters";

interface Props {
  facets: Facets | null;
  filter: Filter;
  toggle: (key: CategoricalKey, value: string) => void;
  setScalars: (values: Partial<Record<ScalarKey, string>>) => void;
}

export function FacetPanel({ facets, filter, toggle, setScalars }: Props) {
  return (
    <aside class="facets" aria-label="Filters">
      <TextSearch value={filter.scalars.q || ""} onChange={(q) => setScalars({ q })} />
      {CATEGORICAL.map(([key, label]) => (
        <ValueFacet
          key={key}
          name={key}
          label={label}
          values={facets?.facets[key] || []}
          distinct={facets?.distinct[key] || 0}
          selected={filter.lists[key]}
          toggle={(v) => toggle(key, v)}
        />
      ))}
      <DateFacet facets={facets} filter={filter} setScalars={setScalars} />
      <RangeFacet
        name="patient_age"
        label="Patient age (years)"
        lo={filter.scalars.age_min}
        hi={filter.scalars.age_max}
        set={(lo, hi) => setScalars({ age_min: lo, age_max: hi })}
        buckets={facets?.patient_age || []}
      />
      <RangeFacet
        name="slice_thickness"
        label="Slice thickness (mm)"
        lo={filter.scalars.thickness_min}
        hi={filter.scalars.thickness_max}
        set={(lo, hi) => setScalars({ thickness_min: lo, thickness_max: hi })}
        buckets={(facets?.slice_thickness || []).map((v) => ({
          key: v.value,
          start: v.value,
          end: v.value,
          count: v.count,
        }))}
      />
    </aside>
  );
}

function TextSearch({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [value]);
  useEffect(() => {
    if (text === value) return;
    const t = setTimeout(() => onChange(text.trim()), 300);
    return () => clearTimeout(t);
  }, [text]);
  return (
    <section class="facet">
      <h3>Description text</h3>
      <input
        type="search"
        name="q"
        placeholder="e.g. lung, T1, contrast"
        value={text}
        onInput={(e) => setText((e.target as HTMLInputElement).value)}
      />
    </section>
  );
}

function ValueFacet(props: {
  name: string;
  label: string;
  values: FacetValue[];
  distinct: number;
  selected: string[];
  toggle: (v: string) => void;
}) {
  const { name, label, values, distinct, selected, toggle } = props;
  const [open, setOpen] = useState(name !== "description" && name !== "model");
  const [filterText, setFilterText] = useState("");
  const shown = new Map(values.map((v) => [v.value, v.count]));
  for (const s of selected) if (!shown.has(s)) shown.set(s, 0);
  const entries = [...shown.entries()].filter(([v]) =>
    v.toLowerCase().includes(filterText.toLowerCase()),
  );
  return (
    <section class="facet" data-facet={name}>
      <h3>
        <button type="button" class="link" onClick={() => setOpen(!open)} aria-expanded={open}>
          {open ? "▾" : "▸"} {label}
        </button>
        {selected.length > 0 && <span class="badge">{selected.length}</span>}
      </h3>
      {open && (
        <>
          {distinct > 8 && (
            <input
              type="search"
              class="small"
              placeholder={`filter ${distinct} values`}
              value={filterText}
              onInput={(e) => setFilterText((e.target as HTMLInputElement).value)}
            />
          )}
          <ul>
            {entries.length === 0 && <li class="muted">no values</li>}
            {entries.map(([value, count]) => (
              <li key={value}>
                <label class={count === 0 ? "muted" : ""}>
                  <input
                    type="checkbox"
                    checked={selected.includes(value)}
                    onChange={() => toggle(value)}
                  />
                  <span class="value">{value || "(none)"}</span>
                  <span class="count" data-testid={`count-${name}-${value}`}>
                    {count}
                  </span>
                </label>
              </li>
            ))}
          </ul>
          {distinct > values.length && (
            <div class="muted small">showing {values.length} of {distinct}</div>
          )}
        </>
      )}
    </section>
  );
}

function Bars({ buckets, onPick }: { buckets: Bucket[]; onPick: (b: Bucket) => void }) {
  const max = Math.max(1, ...buckets.map((b) => b.count));
  return (
    <div class="bars">
      {buckets.map((b) => (
        <button
          type="button"
          class="bar"
          key={b.key}
          title={`${b.key}: ${b.count}`}
          onClick={() => onPick(b)}
        >
          <span class="fill" style={{ height: `${Math.max(4, (100 * b.count) / max)}%` }} />
          <span class="label">{b.key}</span>
        </button>
      ))}
    </div>
  );
}

function toIso(d: string): string {
  return d.length === 8 ? fmtDate(d) : d;
}

function DateFacet({ facets, filter, setScalars }: Omit<Props, "toggle">) {
  const h = facets?.study_date;
  return (
    <section class="facet" data-facet="study_date">
      <h3>Study date</h3>
      {h && h.buckets.length > 0 && (
        <Bars
          buckets={h.buckets}
          onPick={(b) => setScalars({ date_from: toIso(b.start), date_to: toIso(b.end) })}
        />
      )}
      <div class="range">
        <input
          type="date"
          name="date_from"
          aria-label="from"
          value={toIso(filter.scalars.date_from || "")}
          onChange={(e) => setScalars({ date_from: (e.target as HTMLInputElement).value })}
        />
        <span>–</span>
        <input
          type="date"
          name="date_to"
          aria-label="to"
          value={toIso(filter.scalars.date_to || "")}
          onChange={(e) => setScalars({ date_to: (e.target as HTMLInputElement).value })}
        />
      </div>
      {(filter.scalars.date_from || filter.scalars.date_to) && (
        <button
          type="button"
          class="link small"
          onClick={() => setScalars({ date_from: "", date_to: "" })}
        >
          clear dates
        </button>
      )}
    </section>
  );
}

function RangeFacet(props: {
  name: string;
  label: string;
  lo?: string;
  hi?: string;
  set: (lo: string, hi: string) => void;
  buckets: Bucket[];
}) {
  const { name, label, lo, hi, set, buckets } = props;
  const [a, setA] = useState(lo || "");
  const [b, setB] = useState(hi || "");
  useEffect(() => {
    setA(lo || "");
    setB(hi || "");
  }, [lo, hi]);
  const apply = () => set(a, b);
  return (
    <section class="facet" data-facet={name}>
      <h3>{label}</h3>
      {buckets.length > 0 && <Bars buckets={buckets} onPick={(x) => set(x.start, x.end)} />}
      <div class="range">
        <input
          type="number"
          name={`${name}_min`}
          placeholder="min"
          value={a}
          step="any"
          min="0"
          onInput={(e) => setA((e.target as HTMLInputElement).value)}
          onKeyDown={(e) => e.key === "Enter" && apply()}
          onBlur={apply}
        />
        <span>–</span>
        <input
          type="number"
          name={`${name}_max`}
          placeholder="max"
          value={b}
          step="any"
          min="0"
          onInput={(e) => setB((e.target as HTMLInputElement).value)}
          onKeyDown={(e) => e.key === "Enter" && apply()}
          onBlur={apply}
        />
      </div>
      {(lo || hi) && (
        <button type="button" class="link small" onClick={() => set("", "")}>
          clear
        </button>
      )}
    </section>
  );
}
