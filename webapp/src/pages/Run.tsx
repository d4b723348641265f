import { A, useParams, useSearchParams } from "@solidjs/router";
import { createEffect, createResource, createSignal, For, on, onCleanup, Show, type JSX } from "solid-js";
import { createStore, reconcile } from "solid-js/store";
import { fetchPipeline, fetchRun, RUN_UPDATED, type Job, type Run, type RunSummary } from "../lib/api";
import { live, RunVersions, type LiveStatus } from "../lib/live";
import { durationMs, formatDuration, shortSha, timeAgo, valueOf } from "../lib/format";
import { StatusBadge } from "../components/StatusBadge";
import { ErrorState, Loading } from "../components/States";
import { RunActions } from "../features/runs/RunActions";
import { JobDetails } from "../features/runs/JobDetails";
import { useTitle } from "../lib/title";

/** The job to show first: the one named in the address, else a failed one, else a running one. */
function defaultJob(run: Run, wanted: string): Job | undefined {
  return (
    run.jobs.find((j) => j.id === wanted) ??
    run.jobs.find((j) => j.state === "FAILURE" || j.state === "TIMEOUT") ??
    run.jobs.find((j) => j.state === "RUNNING") ??
    run.jobs[0]
  );
}

function why(run: Run): string {
  switch (run.triggerType) {
    case "cron":
      return `Scheduled (cron${run.triggerRef ? ` ${run.triggerRef}` : ""})`;
    case "push":
      return `Push to ${run.branch || run.ref}`;
    case "pull_request":
      return `Pull request ${run.triggerRef || run.ref}`;
    case "tag":
      return `Tag ${run.triggerRef || run.ref}`;
    case "rerun":
      return "Re-run";
    case "manual":
      return "Started by hand";
    case "api":
      return "Started from the API or the web UI";
    default:
      return run.triggerType || "—";
  }
}

export default function RunPage(): JSX.Element {
  const route = useParams<{ id: string }>();
  const [params, setParams] = useSearchParams();
  const [state, setState] = createStore<{ run: Run | null; error: unknown; loading: boolean }>({ run: null, error: null, loading: true });
  const [liveStatus, setLiveStatus] = createSignal<LiveStatus>("connecting");
  useTitle(() => (state.run ? `${state.run.status.label} · ${state.run.pipeline} ${shortSha(state.run.commitSha)}` : "Run"));
  const [permission] = createResource(
    () => state.run?.pipeline,
    async (name) => (await fetchPipeline(name)).permission,
  );

  const load = async (id: string): Promise<void> => {
    setState({ loading: true, error: null });
    try {
      const run = await fetchRun(id);
      if (id === route.id) setState({ run, loading: false });
    } catch (error) {
      if (id === route.id) setState({ error, loading: false });
    }
  };

  createEffect(
    on(
      () => route.id,
      (id) => {
        setState({ run: null });
        void load(id);
      },
    ),
  );

  // Live: every change of this run (its pipeline's runUpdated, this run only). The
  // update's own fields show at once; its jobs and steps are read again with a query
  // (a subscription's nested jobs were seen stale: see the branch's report).
  let refresh: ReturnType<typeof setTimeout> | undefined;
  const reread = (id: string): void => {
    if (refresh !== undefined) return;
    refresh = setTimeout(() => {
      refresh = undefined;
      fetchRun(id)
        .then((fresh) => {
          if (fresh.id === route.id && (!state.run || fresh.version >= state.run.version)) {
            setState("run", reconcile(fresh, { key: "id", merge: true }));
          }
        })
        .catch(() => {
          // keep what is shown; the next update tries again
        });
    }, 150);
  };
  onCleanup(() => clearTimeout(refresh));

  createEffect(
    on(
      () => state.run?.pipeline,
      (pipeline) => {
        if (!pipeline) return;
        const versions = new RunVersions();
        const stop = live<{ runUpdated: RunSummary }>({
          query: RUN_UPDATED,
          variables: () => ({ pipeline }),
          onData: ({ runUpdated: run }) => {
            if (run.id !== route.id || !versions.accept(run.id, run.version)) return;
            if (!state.run || run.version <= state.run.version) return;
            setState("run", (shown) => (shown ? { ...shown, ...run } : shown));
            reread(run.id);
          },
          onResync: () => reread(route.id),
          onStatus: setLiveStatus,
        });
        onCleanup(stop);
      },
    ),
  );

  const update = (change: Partial<Run>): void => {
    if (state.run) setState("run", (r) => (r ? { ...r, ...change } : r));
  };
  const selected = (): Job | undefined => (state.run ? defaultJob(state.run, typeof params.job === "string" ? params.job : "") : undefined);

  return (
    <Show when={!state.error} fallback={<ErrorState error={state.error} retry={() => void load(route.id)} />}>
      <Show when={state.run} fallback={<Loading what="the run" />}>
        {(run) => (
          <section>
            <div class="breadcrumbs">
              <A href="/">Pipelines</A> / <A href={`/pipelines/${encodeURIComponent(run().pipeline)}`}>{run().pipeline}</A> /
            </div>
            <div class="page-header">
              <h1>
                Run <span class="mono">{shortSha(run().commitSha) || run().id.slice(0, 8)}</span>
              </h1>
              <StatusBadge state={run().state} label={run().status.label} cancelling={run().cancelRequested && !run().status.terminal} />
              <Show when={liveStatus() === "reconnecting"}>
                <span class="muted">reconnecting…</span>
              </Show>
              <A class="btn btn-small" href={`/audit?run=${run().id}`}>
                Audit trail & time travel
              </A>
              <RunActions run={run()} update={update} permission={valueOf(permission)} />
            </div>

            <div class="card card-body">
              <dl class="run-meta">
                <div>
                  <dt>Why</dt>
                  <dd>{why(run())}</dd>
                </div>
                <div>
                  <dt>Who</dt>
                  <dd>{run().actor || "—"}</dd>
                </div>
                <Show when={run().deliveryId}>
                  <div>
                    <dt>Webhook delivery</dt>
                    <dd class="mono">{run().deliveryId}</dd>
                  </div>
                </Show>
                <Show when={run().retryOf}>
                  {(of) => (
                    <div>
                      <dt>Re-run of</dt>
                      <dd>
                        <A href={`/runs/${of()}`} class="mono">
                          {of().slice(0, 8)}
                        </A>
                      </dd>
                    </div>
                  )}
                </Show>
                <div>
                  <dt>Ref</dt>
                  <dd class="mono">{run().ref}</dd>
                </div>
                <div>
                  <dt>Commit</dt>
                  <dd class="mono" title={run().commitSha}>
                    {shortSha(run().commitSha)}
                  </dd>
                </div>
                <div>
                  <dt>Requested</dt>
                  <dd title={run().requestedAt}>{timeAgo(run().requestedAt)}</dd>
                </div>
                <div>
                  <dt>Duration</dt>
                  <dd>{formatDuration(durationMs(run().startedAt, run().finishedAt))}</dd>
                </div>
                <Show when={run().waitingReason && !run().startedAt}>
                  <div>
                    <dt>Waiting</dt>
                    <dd>{run().waitingReason}</dd>
                  </div>
                </Show>
              </dl>
            </div>

            <div class="layout-2col" style={{ "margin-top": "1rem" }}>
              <nav class="card" aria-label="Jobs">
                <div class="card-header">
                  <strong>Jobs</strong>
                </div>
                <Show when={run().jobs.length > 0} fallback={<p class="empty-state">No jobs yet.</p>}>
                  <ul class="job-list">
                    <For each={run().jobs}>
                      {(job) => (
                        <li>
                          <A
                            href={`/runs/${run().id}?job=${job.id}`}
                            classList={{ selected: selected()?.id === job.id }}
                            aria-current={selected()?.id === job.id ? "true" : undefined}
                            onClick={(e) => {
                              e.preventDefault();
                              setParams({ job: job.id });
                            }}
                          >
                            <StatusBadge state={job.state} label={job.status.label} />
                            <span>{job.name}</span>
                            <span class="job-duration">{formatDuration(durationMs(job.startedAt, job.finishedAt))}</span>
                          </A>
                        </li>
                      )}
                    </For>
                  </ul>
                </Show>
              </nav>
              <div>
                <Show when={selected()?.id} keyed>
                  {(id) => (
                    <Show when={run().jobs.find((j) => j.id === id)}>{(job) => <JobDetails job={job()} />}</Show>
                  )}
                </Show>
              </div>
            </div>
          </section>
        )}
      </Show>
    </Show>
  );
}
