// Loading, error and empty states: every page shows one of these, never nothing.
import type { ComponentChildren } from "preact";

export function Loading({ what = "Loading" }: { what?: string }) {
  return (
    <div class="state loading" role="status" data-testid="loading">
      <span class="spinner" /> {what}…
    </div>
  );
}

export function ErrorBox({ error, retry }: { error: unknown; retry?: () => void }) {
  const msg = error instanceof Error ? error.message : String(error);
  return (
    <div class="state error" role="alert" data-testid="error">
      <strong>Something went wrong.</strong> <span>{msg}</span>
      {retry && (
        <button type="button" onClick={retry}>
          Retry
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return (
    <div class="state empty" data-testid="empty">
      {children}
    </div>
  );
}
