import { Show, type JSX } from "solid-js";

export function Loading(props: { what?: string }): JSX.Element {
  return (
    <p class="loading" role="status">
      <span class="spinner" aria-hidden="true" /> Loading{props.what ? ` ${props.what}` : ""}…
    </p>
  );
}

export function ErrorState(props: { error: unknown; retry?: () => void }): JSX.Element {
  const message = (): string => (props.error instanceof Error ? props.error.message : String(props.error));
  return (
    <div class="error-state" role="alert">
      <p>{message()}</p>
      <Show when={props.retry}>
        {(retry) => (
          <button type="button" class="btn" onClick={() => retry()()}>
            Try again
          </button>
        )}
      </Show>
    </div>
  );
}

export function EmptyState(props: { children: JSX.Element }): JSX.Element {
  return <div class="empty-state">{props.children}</div>;
}
