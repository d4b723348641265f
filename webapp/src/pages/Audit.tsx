import { A, useSearchParams } from "@solidjs/router";
import { For, Match, Show, Switch, createEffect, createSignal, on, type JSX } from "solid-js";
import { EmptyState, ErrorState, Loading } from "../components/States";
import "../features/ops/ops.css";
import { TimeTravel } from "../features/ops/TimeTravel";
import { fetchAudit, type AuditEntry, type AuditFilter } from "../features/ops/queries";

const FIELDS = [
  { key: "pipeline", label: "Pipeline", placeholder: "any pipeline" },
  { key: "actor", label: "Actor", placeholder: "e.g. user:alice" },
  { key: "action", label: "Action", placeholder: "e.g. Run.CancelRequested" },
  { key: "run", label: "Run", placeholder: "run id" },
] as const;

type FieldKey = (typeof FIELDS)[number]["key"];

function one(value: string | string[] | undefined): string {
  return (Array.isArray(value) ? value[0] : value)?.trim() ?? "";
}

/**
 * Who did what, when: the audit trail of the whole system or of one run, newest first,
 * filtered by pipeline, actor, action and run (kept in the URL, so a view can be linked);
 * for one run, a time-travel slider over its events.
 */
export default function AuditPage(): JSX.Element {
  const [params, setParams] = useSearchParams();
  const filter = (): AuditFilter => ({
    pipeline: one(params.pipeline),
    actor: one(params.actor),
    action: one(params.action),
    runId: one(params.run),
  });
  const [entries, setEntries] = createSignal<AuditEntry[]>([]);
  const [cursor, setCursor] = createSignal<string | null>(null);
  const [more, setMore] = createSignal(false);
  const [loading, setLoading] = createSignal(true);
  const [error, setError] = createSignal<unknown>(undefined);
  let generation = 0; // answers to an older filter are dropped

  const load = async (append: boolean): Promise<void> => {
    const mine = ++generation;
    setLoading(true);
    setError(undefined);
    try {
      const page = await fetchAudit(filter(), append ? cursor() : null);
      if (mine !== generation) return;
      setEntries(append ? [...entries(), ...page.entries] : page.entries);
      setCursor(page.endCursor);
      setMore(page.hasNextPage);
    } catch (failure) {
      if (mine === generation) setError(failure);
    } finally {
      if (mine === generation) setLoading(false);
    }
  };
  createEffect(on(() => JSON.stringify(filter()), () => void load(false)));

  const submit = (event: SubmitEvent): void => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const next: Partial<Record<FieldKey, string | undefined>> = {};
    for (const field of FIELDS) next[field.key] = String(form.get(field.key) ?? "").trim() || undefined;
    setParams(next);
  };

  return (
    <section class="ops">
      <div class="page-header">
        <h1>Audit</h1>
        <span class="muted">
          <Show when={filter().runId} fallback="The whole system, newest first">
            One run, newest first
          </Show>
        </span>
      </div>
      <form class="filters" role="search" aria-label="Filter the audit trail" onSubmit={submit}>
        <For each={FIELDS}>
          {(field) => (
            <label>
              {field.label}
              <input name={field.key} value={one(params[field.key])} placeholder={field.placeholder} />
            </label>
          )}
        </For>
        <button type="submit" class="btn">
          Filter
        </button>
        <Show when={Object.values(filter()).some(Boolean)}>
          <button type="button" class="btn" onClick={() => setParams({ pipeline: undefined, actor: undefined, action: undefined, run: undefined })}>
            Clear
          </button>
        </Show>
      </form>
      <Show when={filter().runId}>{(runId) => <TimeTravel runId={runId()} />}</Show>
      <div class="card">
        <div class="card-header">
          <h2>Timeline</h2>
        </div>
        <Switch>
          <Match when={error() && entries().length === 0}>
            <ErrorState error={error()} retry={() => void load(false)} />
          </Match>
          <Match when={loading() && entries().length === 0}>
            <Loading what="the audit trail" />
          </Match>
          <Match when={entries().length === 0}>
            <EmptyState>
              <p>Nothing recorded{Object.values(filter()).some(Boolean) ? " that matches these filters" : " yet"}.</p>
            </EmptyState>
          </Match>
          <Match when={entries().length > 0}>
            <div class="table-wrap">
              <table class="list" aria-label="Audit trail">
                <thead>
                  <tr>
                    <th>When</th>
                    <th>Action</th>
                    <th>Actor</th>
                    <th>Pipeline</th>
                    <th>Run</th>
                    <th class="hide-narrow">Details</th>
                  </tr>
                </thead>
                <tbody>
                  <For each={entries()}>{(entry) => <AuditRow entry={entry} />}</For>
                </tbody>
              </table>
            </div>
            <Show when={error()}>
              <ErrorState error={error()} retry={() => void load(true)} />
            </Show>
            <Show when={more()}>
              <div class="card-body">
                <button type="button" class="btn" disabled={loading()} onClick={() => void load(true)}>
                  {loading() ? "Loading…" : "Load older entries"}
                </button>
              </div>
            </Show>
          </Match>
        </Switch>
      </div>
    </section>
  );
}

function AuditRow(props: { entry: AuditEntry }): JSX.Element {
  const e = props.entry;
  const details = (): string =>
    [e.trigger && `trigger ${e.trigger}`, e.reason, e.deliveryId && `delivery ${e.deliveryId}`, e.jobId && `job ${e.jobId.slice(0, 8)}`]
      .filter(Boolean)
      .join(" · ");
  return (
    <tr>
      <td class="mono" title={e.at}>
        {e.at.replace("T", " ").slice(0, 19)}
      </td>
      <td>
        <code>{e.action}</code>
      </td>
      <td>{e.actor || <span class="muted">—</span>}</td>
      <td>
        <Show when={e.pipeline} fallback={<span class="muted">—</span>}>
          <A href={`/pipelines/${encodeURIComponent(e.pipeline)}`}>{e.pipeline}</A>
        </Show>
      </td>
      <td>
        <Show when={e.runId} fallback={<span class="muted">—</span>}>
          <A href={`/audit?run=${e.runId}`} class="mono" title="This run's audit trail and time travel">
            {e.runId.slice(0, 8)}
          </A>
        </Show>
      </td>
      <td class="hide-narrow">
        {details()}
        <Show when={e.detail && typeof e.detail === "object" && Object.keys(e.detail as object).length > 0}>
          <details>
            <summary>more</summary>
            <pre>{JSON.stringify(e.detail, null, 2)}</pre>
          </details>
        </Show>
      </td>
    </tr>
  );
}
