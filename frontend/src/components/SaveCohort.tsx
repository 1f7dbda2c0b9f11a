// "Save as cohort": the whole current filter, or only the ticked series.
import { useState } from "preact/hooks";
import { api, type Cohort } from "../api";

interface Props {
  size: number;
  filter: Record<string, unknown>;
  selected: string[];
  onClose: () => void;
  onSaved: (c: Cohort) => void;
}

export function SaveCohortDialog({ size, filter, selected, onClose, onSaved }: Props) {
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [owner, setOwner] = useState(localStorage.getItem("jip.owner") || "");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const count = selected.length || size;
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      localStorage.setItem("jip.owner", owner);
      const body = selected.length
        ? { name, description, owner, series_uids: selected }
        : { name, description, owner, filter };
      onSaved(await api.createCohort(body));
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="modal-backdrop" role="dialog" onClick={onClose}>
      <form
        class="modal"
        aria-label="Save as cohort"
        onClick={(e) => e.stopPropagation()}
        onSubmit={submit}
      >
        <h2>Save {count} series as a cohort</h2>
        <label>
          Name
          <input
            name="name"
            required
            maxLength={128}
            value={name}
            onInput={(e) => setName((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          Description
          <textarea
            name="description"
            value={description}
            onInput={(e) => setDescription((e.target as HTMLTextAreaElement).value)}
          />
        </label>
        <label>
          Owner
          <input
            name="owner"
            maxLength={64}
            value={owner}
            onInput={(e) => setOwner((e.target as HTMLInputElement).value)}
          />
        </label>
        {error && <div class="state error">{error}</div>}
        <div class="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy || !name.trim()}>
            {busy ? "Saving…" : "Save cohort"}
          </button>
        </div>
      </form>
    </div>
  );
}
