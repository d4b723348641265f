import { A, useParams, useSearchParams } from "@solidjs/router";
import { createEffect, createMemo, createResource, createSignal, For, on, onCleanup, onMount, Show, type JSX } from "solid-js";
import { createStore } from "solid-js/store";
import { fetchPipeline, fetchRuns, RUN_STATES, RUN_UPDATED, type RunState, type RunsFilter, type RunSummary } from "../lib/api";
import { live, type LiveStatus } from "../lib/live";
import { durationMs, formatDuration, shortSha, timeAgo, valueOf } from "../lib/format";
import { StatusBadge } from "../components/StatusBadge";
import { EmptyState, ErrorState, Loading } from "../components/States";
import { DurationChart } from "../features/runs/DurationChart";
import { latestPerBranch, mergeRun } from "../features/runs/runs";
import { RunButton } from "../features/pipelines/RunButton";
import { useTitle } from "../lib/title";

interface RunList {
  runs: RunSummary[];
  cursor: string | null;
  hasNext: boolean;
  loading: boolean;
  error: unknown;
}

const param = (v: string | string[] | undefined): string => (typeof v === "string" ? v : "");

export default function PipelinePage(): JSX.Element {
  const route = useParams<{ name: string }>();
  const [params, setParams] = useSearchParams();
  const name = (): string => route.name;
  useTitle(name);
  const [pipeline] = createResource(name, fetchPipeline);
  const filter = createMemo<RunsFilter>(() => ({
    pipeline: name(),
    branch: param(params.branch),
    state: (param(params.state) || null) as RunState | null,
    trigger: param(params.trigger),
    actor: param(params.actor),
  }));
  const [list, setList] = createStore<RunList>({ runs: [], cursor: null, hasNext: false, loading: true, error: null });
  const [liveStatus, setLiveStatus] = createSignal<LiveStatus>("connecting");
  let generation = 0;

  const load = async (reset: boolean): Promise<void> => {
    if (!reset && (list.loading || !list.hasNext)) return;
    const mine = reset ? ++generation : generation;
    setList({ loading: true, error: null, ...(reset ? { runs: [], cursor: null, hasNext: false } : {}) });
    try {
      const page = await fetchRuns(filter(), 50, reset ? null : list.cursor);
      if (mine !== generation) return;
      const incoming = page.edges.map((e) => e.node);
      setList((l) => ({
        runs: reset ? incoming : [...l.runs, ...incoming.filter((r) => !l.runs.some((s) => s.id === r.id))],
        cursor: page.pageInfo.endCursor,
        hasNext: page.pageInfo.hasNextPage,
        loading: false,
      }));
    } catch (error) {
      if (mine === generation) setList({ loading: false, error });
    }
  };

  createEffect(on(filter, () => void load(true)));

  onMount(() => {
    const stop = live<{ runUpdated: RunSummary }>({
      query: RUN_UPDATED,
      variables: () => ({ pipeline: name() }),
      onData: ({ runUpdated: run }) => setList("runs", (runs) => mergeRun(runs, run, filter())),
      onResync: () => void load(true),
      onStatus: setLiveStatus,
    });
    onCleanup(stop);
  });

  // Infinite scroll: load the next page when the end of the list comes into view.
  let sentinel: HTMLDivElement | undefined;
  onMount(() => {
    if (typeof IntersectionObserver === "undefined" || !sentinel) return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) void load(false);
    });
    observer.observe(sentinel);
    onCleanup(() => observer.disconnect());
  });

  const branches = createMemo(() => latestPerBranch(list.runs).map((r) => r.branch).filter(Boolean));
  const setFilter = (key: string, value: string): void => setParams({ [key]: value || undefined });
  const filtered = (): boolean => !!(params.branch || params.state || params.trigger || params.actor);

  return (
    <section>
      <div class="breadcrumbs">
        <A href="/">Pipelines</A> /
      </div>
      <div class="page-header">
        <h1>{name()}</h1>
        <Show when={liveStatus() === "reconnecting"}>
          <span class="muted">reconnecting…</span>
        </Show>
        <div class="actions">
          <Show when={valueOf(pipeline)}>{(p) => <RunButton pipeline={p().name} permission={p().permission} branches={branches()} />}</Show>
        </div>
      </div>
      <Show when={pipeline.error}>
        <ErrorState error={pipeline.error} />
      </Show>
      <Show when={valueOf(pipeline)}>
        {(p) => (
          <p class="muted mono" style={{ "margin-top": "-0.5rem" }}>
            {p().repository}
          </p>
        )}
      </Show>

      <div class="card">
        <div class="card-header">
          <h2 style={{ margin: 0, "font-size": "14px" }}>Durations of the last 50 runs</h2>
        </div>
        <div class="card-body">
          <Show when={!(list.loading && list.runs.length === 0)} fallback={<Loading what="runs" />}>
            <DurationChart runs={list.runs.slice(0, 50)} />
          </Show>
        </div>
      </div>

      <h2>Runs</h2>
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filter runs">
        <label>
          Branch
          <input value={param(params.branch)} list="pipeline-branches" onChange={(e) => setFilter("branch", e.currentTarget.value.trim())} />
          <datalist id="pipeline-branches">
            <For each={branches()}>{(b) => <option value={b} />}</For>
          </datalist>
        </label>
        <label>
          State
          <select value={param(params.state)} onChange={(e) => setFilter("state", e.currentTarget.value)}>
            <option value="">any</option>
            <For each={RUN_STATES}>{(s) => <option value={s}>{s.toLowerCase()}</option>}</For>
          </select>
        </label>
        <label>
          Trigger
          <select value={param(params.trigger)} onChange={(e) => setFilter("trigger", e.currentTarget.value)}>
            <option value="">any</option>
            <For each={["push", "pull_request", "tag", "cron", "api", "manual", "rerun"]}>{(t) => <option value={t}>{t}</option>}</For>
          </select>
        </label>
        <label>
          Actor
          <input value={param(params.actor)} onChange={(e) => setFilter("actor", e.currentTarget.value.trim())} />
        </label>
        <Show when={filtered()}>
          <button type="button" class="btn" onClick={() => setParams({ branch: undefined, state: undefined, trigger: undefined, actor: undefined })}>
            Clear filters
          </button>
        </Show>
      </form>

      <Show when={!(list.error && list.runs.length === 0)} fallback={<ErrorState error={list.error} retry={() => void load(true)} />}>
        <Show
          when={list.runs.length > 0 || list.loading}
          fallback={
            <EmptyState>
              <p>{filtered() ? "No run matches these filters." : "This pipeline has not run yet."}</p>
            </EmptyState>
          }
        >
          <div class="card table-wrap">
            <table class="list runs-table">
              <thead>
                <tr>
                  <th scope="col">Status</th>
                  <th scope="col">Run</th>
                  <th scope="col">Branch</th>
                  <th scope="col" class="hide-narrow">
                    Trigger
                  </th>
                  <th scope="col" class="num">
                    Duration
                  </th>
                  <th scope="col" class="hide-narrow">
                    Started
                  </th>
                </tr>
              </thead>
              <tbody>
                <For each={list.runs}>
                  {(run) => (
                    <tr data-run={run.id}>
                      <td>
                        <StatusBadge state={run.state} label={run.status.label} cancelling={run.cancelRequested && !run.status.terminal} />
                      </td>
                      <td>
                        <A href={`/runs/${run.id}`} class="mono">
                          {shortSha(run.commitSha) || run.id.slice(0, 8)}
                        </A>
                        <Show when={run.retryOf}>
                          <span class="muted"> (re-run)</span>
                        </Show>
                      </td>
                      <td>{run.branch || run.ref}</td>
                      <td class="hide-narrow">
                        {run.triggerType}
                        <Show when={run.actor}>
                          <span class="muted"> by {run.actor}</span>
                        </Show>
                      </td>
                      <td class="num">{formatDuration(durationMs(run.startedAt, run.finishedAt))}</td>
                      <td class="hide-narrow" title={run.requestedAt}>
                        {timeAgo(run.requestedAt)}
                      </td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </div>
        </Show>
      </Show>
      <div class="sentinel" ref={sentinel} />
      <Show when={list.loading && list.runs.length > 0}>
        <Loading what="more runs" />
      </Show>
      <Show when={list.error && list.runs.length > 0}>
        <ErrorState error={list.error} retry={() => void load(false)} />
      </Show>
      <Show when={list.hasNext && !list.loading}>
        <p style={{ "text-align": "center" }}>
          <button type="button" class="btn" onClick={() => void load(false)}>
            Load more runs
          </button>
        </p>
      </Show>
    </section>
  );
}
