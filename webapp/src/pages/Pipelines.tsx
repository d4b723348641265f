import { A, useSearchParams } from "@solidjs/router";
import { createEffect, createMemo, createResource, For, onCleanup, onMount, Show, type JSX } from "solid-js";
import { createStore, reconcile } from "solid-js/store";
import { fetchPipelines, fetchRuns, RUN_UPDATED, type RunSummary } from "../lib/api";
import { live } from "../lib/live";
import { timeAgo, valueOf } from "../lib/format";
import { StatusBadge, stateClass } from "../components/StatusBadge";
import { EmptyState, ErrorState, Loading } from "../components/States";
import { latestPerBranch } from "../features/runs/runs";
import { useTitle } from "../lib/title";

/** Every pipeline with its last run's status per branch, live. */
export default function PipelinesPage(): JSX.Element {
  useTitle(() => "Pipelines");
  const [params, setParams] = useSearchParams();
  const [pipelines, { refetch }] = createResource(fetchPipelines);
  // pipeline name → newest run per branch
  const [branches, setBranches] = createStore<Record<string, RunSummary[]>>({});

  const loadBranches = async (names: string[]): Promise<void> => {
    await Promise.all(
      names.map(async (name) => {
        try {
          const page = await fetchRuns({ pipeline: name }, 50);
          setBranches(name, reconcile(latestPerBranch(page.edges.map((e) => e.node))));
        } catch {
          setBranches(name, []);
        }
      }),
    );
  };

  createEffect(() => {
    const list = valueOf(pipelines);
    if (list) void loadBranches(list.map((p) => p.name));
  });

  onMount(() => {
    const stop = live<{ runUpdated: RunSummary }>({
      query: RUN_UPDATED,
      variables: () => ({ pipeline: "" }),
      onData: ({ runUpdated: run }) => {
        const known = branches[run.pipeline];
        if (!known) {
          void refetch(); // a pipeline seen for the first time
          return;
        }
        setBranches(run.pipeline, reconcile(latestPerBranch([run, ...known])));
      },
      onResync: () => void refetch(),
    });
    onCleanup(stop);
  });

  const filter = (): string => (typeof params.q === "string" ? params.q : "");
  const shown = createMemo(() => {
    const q = filter().toLowerCase();
    return (valueOf(pipelines) ?? []).filter((p) => !q || p.name.toLowerCase().includes(q) || p.repository.toLowerCase().includes(q));
  });

  return (
    <section>
      <div class="page-header">
        <h1>Pipelines</h1>
        <div class="actions">
          <input
            type="search"
            aria-label="Filter pipelines"
            placeholder="Filter by name or repository"
            value={filter()}
            onInput={(e) => setParams({ q: e.currentTarget.value || undefined }, { replace: true })}
          />
        </div>
      </div>
      <Show when={!pipelines.error} fallback={<ErrorState error={pipelines.error} retry={() => void refetch()} />}>
        <Show when={valueOf(pipelines)} fallback={<Loading what="pipelines" />}>
          <Show
            when={shown().length > 0}
            fallback={
              <EmptyState>
                <Show when={filter()} fallback={<p>No pipelines yet. Add one to the config repository, or trigger a run.</p>}>
                  <p>No pipeline matches “{filter()}”.</p>
                </Show>
              </EmptyState>
            }
          >
            <div class="card table-wrap">
              <table class="list">
                <thead>
                  <tr>
                    <th scope="col">Pipeline</th>
                    <th scope="col">Last run</th>
                    <th scope="col">Branches</th>
                    <th scope="col" class="num hide-narrow">
                      Runs
                    </th>
                  </tr>
                </thead>
                <tbody>
                  <For each={shown()}>
                    {(p) => (
                      <tr>
                        <td>
                          <A href={`/pipelines/${encodeURIComponent(p.name)}`}>
                            <strong>{p.name}</strong>
                          </A>
                          <div class="muted mono hide-narrow">{p.repository}</div>
                        </td>
                        <td>
                          <Show when={p.lastRunId} fallback={<span class="muted">never run</span>}>
                            <A href={`/runs/${p.lastRunId}`} aria-label={`Last run of ${p.name}`}>
                              <StatusBadge state={branches[p.name]?.[0]?.state ?? p.lastState} />
                            </A>{" "}
                            <span class="muted">{timeAgo(branches[p.name]?.[0]?.requestedAt ?? p.lastRequestedAt)}</span>
                          </Show>
                        </td>
                        <td>
                          <div class="branch-pills">
                            <For each={(branches[p.name] ?? []).slice(0, 6)}>
                              {(run) => (
                                <A class="branch-pill" href={`/runs/${run.id}`} title={`${run.branch}: ${run.status.label}`}>
                                  <span class={`dot bg-${stateClass(run.state)}`} />
                                  {run.branch || run.ref}
                                  <span class="sr-only">: {run.status.label}</span>
                                </A>
                              )}
                            </For>
                          </div>
                        </td>
                        <td class="num hide-narrow">{p.runCount}</td>
                      </tr>
                    )}
                  </For>
                </tbody>
              </table>
            </div>
          </Show>
        </Show>
      </Show>
    </section>
  );
}
