import { A } from "@solidjs/router";
import { For, Show, createResource, createSignal, onCleanup, type JSX } from "solid-js";
import { Resourced } from "../components/States";
import "../features/ops/ops.css";
import { StatusBadge } from "../components/StatusBadge";
import { fetchQueue, RUNS_CHANGED } from "../features/ops/queries";
import { timeAgo } from "../lib/format";
import { live, type LiveStatus } from "../lib/live";

/** Jobs waiting to start, in the order they will, each with why it waits; live. */
export default function QueuePage(): JSX.Element {
  // Read through `latest`: a re-read keeps the table on screen instead of suspending it.
  const [queue, { refetch }] = createResource(fetchQueue);
  const [liveStatus, setLiveStatus] = createSignal<LiveStatus>("connecting");
  // Any run changing may move the queue: read it again (at most one read in flight).
  let reading = false;
  let again = false;
  const reread = async (): Promise<void> => {
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    try {
      await refetch();
    } finally {
      reading = false;
      if (again) {
        again = false;
        void reread();
      }
    }
  };
  const stop = live({
    query: RUNS_CHANGED,
    variables: () => ({}),
    onData: () => void reread(),
    onResync: () => void reread(),
    onStatus: setLiveStatus,
  });
  onCleanup(stop);

  return (
    <section class="ops">
      <div class="page-header">
        <h1>Queue</h1>
        <span class="muted" role="status" aria-live="polite">
          {liveStatus() === "live" ? "Live" : liveStatus() === "reconnecting" ? "Reconnecting…" : ""}
        </span>
      </div>
      <Resourced
        resource={queue}
        retry={() => void refetch()}
        what="the queue"
        empty={<p>Nothing is waiting: every requested job has started.</p>}
      >
        {(entries) => (
          <div class="card table-wrap">
            <table class="list" aria-label="Waiting jobs">
              <thead>
                <tr>
                  <th class="num">#</th>
                  <th>Pipeline</th>
                  <th>Run</th>
                  <th>Job</th>
                  <th>State</th>
                  <th class="hide-narrow">Waiting since</th>
                  <th>Why it waits</th>
                </tr>
              </thead>
              <tbody>
                <For each={entries()}>
                  {(entry) => (
                    <tr>
                      <td class="num">{entry.position}</td>
                      <td>
                        <A href={`/pipelines/${encodeURIComponent(entry.job.pipeline)}`}>{entry.job.pipeline}</A>
                      </td>
                      <td>
                        <A href={`/runs/${entry.job.runId}`} class="mono">
                          {entry.job.runId.slice(0, 8)}
                        </A>
                      </td>
                      <td>{entry.job.name}</td>
                      <td>
                        <StatusBadge state={entry.job.state} label={entry.job.status.label} />
                      </td>
                      <td class="hide-narrow" title={entry.job.requestedAt}>
                        {timeAgo(entry.job.requestedAt)}
                      </td>
                      <td>
                        <Show when={entry.reason} fallback={<span class="muted">next free slot</span>}>
                          {entry.reason}
                        </Show>
                      </td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </div>
        )}
      </Resourced>
    </section>
  );
}
