import { Match, Show, Switch, type JSX, type Resource } from "solid-js";

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

/**
 * A resource's four states in one place: its error (with a retry), loading (only before
 * the first answer: a re-read keeps what is shown), empty, or its value.
 */
export function Resourced<T>(props: {
  resource: Resource<T[]>;
  retry: () => void;
  what: string;
  empty: JSX.Element;
  children: (value: () => T[]) => JSX.Element;
}): JSX.Element {
  return (
    <Switch>
      <Match when={props.resource.error}>
        <ErrorState error={props.resource.error} retry={props.retry} />
      </Match>
      <Match when={props.resource.latest === undefined}>
        <Loading what={props.what} />
      </Match>
      <Match when={props.resource.latest?.length === 0}>
        <EmptyState>{props.empty}</EmptyState>
      </Match>
      <Match when={props.resource.latest}>{(value) => props.children(value)}</Match>
    </Switch>
  );
}
