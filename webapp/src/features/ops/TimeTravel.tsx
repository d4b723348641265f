import { A } from "@solidjs/router";
import { For, Match, Show, Switch, createEffect, createResource, createSignal, on, type JSX } from "solid-js";
import { ErrorState, Loading } from "../../components/States";
import { StatusBadge } from "../../components/StatusBadge";
import { formatBytes } from "../../lib/format";
import { fetchEvents, fetchRunAsOf, type RunEvent } from "./queries";

/**
 * A run exactly as it was after each of its events: a slider over the run's event
 * history (GraphQL `events`), and the run as of the chosen one (`run(id, asOfVersion)`).
 */
export function TimeTravel(props: { runId: string }): JSX.Element {
  const [events, { refetch }] = createResource(() => props.runId, fetchEvents);
  const [version, setVersion] = createSignal(0);
  // A new run (or its history read again) starts at its latest event.
  createEffect(on(events, (found) => found && setVersion(found.length)));
  const [snapshot] = createResource(
    () => (version() > 0 ? { id: props.runId, version: version() } : undefined),
    ({ id, version: at }) => fetchRunAsOf(id, at),
  );
  const event = (): RunEvent | undefined => events()?.[version() - 1];
  const count = (): number => events()?.length ?? 0;

  return (
    <div class="card time-travel">
      <div class="card-header">
        <h2>Time travel</h2>
        <span class="muted">
          run <A href={`/runs/${props.runId}`} class="mono">{props.runId.slice(0, 8)}</A> as it was after each event
        </span>
      </div>
      <div class="card-body">
        <Switch>
          <Match when={events.error}>
            <ErrorState error={events.error} retry={() => void refetch()} />
          </Match>
          <Match when={events() === undefined}>
            <Loading what="the run's events" />
          </Match>
          <Match when={count() > 0}>
            <div class="tt-controls">
              <button type="button" class="btn btn-small" disabled={version() <= 1} onClick={() => setVersion(version() - 1)}>
                ← Previous
              </button>
              <input
                type="range"
                aria-label="Event"
                min={1}
                max={count()}
                step={1}
                value={version()}
                aria-valuetext={`event ${version()} of ${count()}: ${event()?.type ?? ""}`}
                onInput={(e) => setVersion(Number(e.currentTarget.value))}
              />
              <button type="button" class="btn btn-small" disabled={version() >= count()} onClick={() => setVersion(version() + 1)}>
                Next →
              </button>
            </div>
            <p class="tt-position" data-testid="tt-position">
              After event <strong>{version()}</strong> of {count()}: <code>{event()?.type}</code>{" "}
              <span class="muted">at {event()?.timestamp}</span>
            </p>
            <Switch>
              <Match when={snapshot.error}>
                <ErrorState error={snapshot.error} />
              </Match>
              <Match when={snapshot.latest}>
                {(run) => (
                  <div class="tt-snapshot" aria-live="polite" aria-busy={snapshot.loading} data-version={run().version}>
                    <p>
                      Run <StatusBadge state={run().state} label={run().status.label} cancelling={run().cancelRequested && !run().finishedAt} />{" "}
                      <span class="muted">{run().pipeline} · {run().branch} · version {run().version}</span>
                      <Show when={run().waitingReason}>
                        {" "}
                        <span class="muted">· waiting: {run().waitingReason}</span>
                      </Show>
                    </p>
                    <Show when={run().jobs.length > 0} fallback={<p class="muted">No jobs yet.</p>}>
                      <table class="list" aria-label="Jobs as they were">
                        <thead>
                          <tr>
                            <th>Job</th>
                            <th>State</th>
                            <th>Steps</th>
                            <th>Artifacts</th>
                          </tr>
                        </thead>
                        <tbody>
                          <For each={run().jobs}>
                            {(job) => (
                              <tr>
                                <td>{job.name}</td>
                                <td>
                                  <StatusBadge state={job.state} label={job.status.label} />
                                </td>
                                <td>
                                  <Show when={job.steps.length > 0} fallback={<span class="muted">none yet</span>}>
                                    <ol class="tt-steps">
                                      <For each={job.steps}>
                                        {(step) => (
                                          <li>
                                            {step.name} <StatusBadge state={step.state} label={step.status.label} />
                                            <Show when={step.exitCode !== null}> exit {step.exitCode}</Show>
                                          </li>
                                        )}
                                      </For>
                                    </ol>
                                  </Show>
                                </td>
                                <td>
                                  <For each={job.artifacts} fallback={<span class="muted">none</span>}>
                                    {(artifact) => (
                                      <div>
                                        {artifact.name} <span class="muted">({formatBytes(artifact.size)})</span>
                                      </div>
                                    )}
                                  </For>
                                </td>
                              </tr>
                            )}
                          </For>
                        </tbody>
                      </table>
                    </Show>
                    <details>
                      <summary>The event's data</summary>
                      <pre class="tt-data">{JSON.stringify(event()?.data ?? {}, null, 2)}</pre>
                    </details>
                  </div>
                )}
              </Match>
              <Match when={snapshot.loading}>
                <Loading what="the run as it was" />
              </Match>
            </Switch>
          </Match>
        </Switch>
      </div>
    </div>
  );
}
