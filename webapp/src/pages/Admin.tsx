import { A } from "@solidjs/router";
import { For, Match, Show, Switch, createResource, createSignal, type JSX } from "solid-js";
import { EmptyState, ErrorState, Loading } from "../components/States";
import "../features/ops/ops.css";
import { useViewer } from "../features/session/session";
import {
  fetchConfig,
  fetchDeliveries,
  fetchSystem,
  replayDelivery,
  setDraining,
  type Delivery,
} from "../features/ops/queries";
import { timeAgo } from "../lib/format";
import { FORBIDDEN, RequestError } from "../lib/transport";

/** A refusal in the words of this page (the server's message names the operation). */
function explained(error: unknown): unknown {
  if (error instanceof RequestError && error.code === FORBIDDEN) {
    return new Error("Only global admins may see this (the server refused: forbidden).");
  }
  return error;
}

/**
 * Operating Danube: draining (a banner while it is on, and the control), the config
 * commit in force and the last rejected one with its errors, and the webhook deliveries
 * with a replay button. The controls are for global admins (the server checks too).
 */
export default function AdminPage(): JSX.Element {
  const viewer = useViewer();
  const isAdmin = (): boolean => viewer.latest?.globalAdmin === true;
  return (
    <section class="ops">
      <div class="page-header">
        <h1>Admin</h1>
      </div>
      <Draining isAdmin={isAdmin()} />
      <ConfigCard />
      <DeliveriesCard isAdmin={isAdmin()} />
    </section>
  );
}

function Draining(props: { isAdmin: boolean }): JSX.Element {
  const [system, { refetch, mutate }] = createResource(fetchSystem);
  const [busy, setBusy] = createSignal(false);
  const [failure, setFailure] = createSignal<unknown>(undefined);
  const toggle = async (): Promise<void> => {
    const current = system.latest;
    if (!current) return;
    setBusy(true);
    setFailure(undefined);
    try {
      const draining = await setDraining(!current.draining);
      mutate({ ...current, draining });
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Switch>
      <Match when={system.error}>
        <ErrorState error={explained(system.error)} retry={() => void refetch()} />
      </Match>
      <Match when={system.latest === undefined}>
        <Loading what="the system state" />
      </Match>
      <Match when={system.latest}>
        {(state) => (
          <div class={state().draining ? "drain-banner draining" : "drain-banner"} role="status">
            <p>
              <Show
                when={state().draining}
                fallback={<>Accepting runs. Draining stops new runs from starting; running jobs finish.</>}
              >
                <strong>Danube is draining:</strong> no new runs start; running jobs finish. Deliveries wait.
              </Show>
            </p>
            <Show when={props.isAdmin} fallback={<p class="muted">Only a global admin can change this.</p>}>
              <button type="button" class={state().draining ? "btn btn-primary" : "btn btn-danger"} disabled={busy()} onClick={() => void toggle()}>
                {state().draining ? "Stop draining" : "Start draining"}
              </button>
            </Show>
            <Show when={failure()}>
              <ErrorState error={failure()} />
            </Show>
          </div>
        )}
      </Match>
    </Switch>
  );
}

function ConfigCard(): JSX.Element {
  const [config, { refetch }] = createResource(fetchConfig);
  return (
    <div class="card">
      <div class="card-header">
        <h2>Configuration</h2>
      </div>
      <div class="card-body">
        <Switch>
          <Match when={config.error}>
            <ErrorState error={explained(config.error)} retry={() => void refetch()} />
          </Match>
          <Match when={config.latest === undefined}>
            <Loading what="the configuration" />
          </Match>
          <Match when={config.latest}>
            {(c) => (
              <>
                <dl class="ops-meta">
                  <dt>Repository</dt>
                  <dd class="mono">{c().repository || "none: DANUBE_CONFIG_REPO_URL is not set"}</dd>
                  <dt>Branch</dt>
                  <dd>{c().branch}</dd>
                  <dt>In force</dt>
                  <dd>
                    <Show when={c().commit} fallback={<span class="muted">no config accepted yet</span>}>
                      <code>{c().commit?.slice(0, 12)}</code> <span class="muted">synced {timeAgo(c().syncedAt)}</span>
                    </Show>
                  </dd>
                </dl>
                <Show when={c().fetchProblem}>
                  <p class="error-banner" role="alert">
                    Fetching the config repository fails: {c().fetchProblem}
                  </p>
                </Show>
                <Show when={c().lastRejection} fallback={<p class="muted">No config commit was rejected.</p>}>
                  {(rejection) => (
                    <div class="rejection">
                      <h3>
                        Last rejected commit <code>{rejection().commit.slice(0, 12)}</code>{" "}
                        <span class="muted">{timeAgo(rejection().at)}</span>
                      </h3>
                      <p class="muted">The commit before it stays in force.</p>
                      <table class="list" aria-label="Errors of the rejected config">
                        <thead>
                          <tr>
                            <th>File</th>
                            <th>Field</th>
                            <th>Problem</th>
                          </tr>
                        </thead>
                        <tbody>
                          <For each={rejection().errors}>
                            {(error) => (
                              <tr>
                                <td class="mono">
                                  {error.file}
                                  {error.line !== null ? `:${error.line}` : ""}
                                </td>
                                <td class="mono">{error.field}</td>
                                <td>{error.message}</td>
                              </tr>
                            )}
                          </For>
                        </tbody>
                      </table>
                    </div>
                  )}
                </Show>
              </>
            )}
          </Match>
        </Switch>
      </div>
    </div>
  );
}

function DeliveriesCard(props: { isAdmin: boolean }): JSX.Element {
  const [deliveries, { refetch }] = createResource(() => fetchDeliveries(50));
  const [replaying, setReplaying] = createSignal<string | null>(null);
  const [message, setMessage] = createSignal<{ text: string; failed: boolean } | null>(null);

  const replay = async (delivery: Delivery): Promise<void> => {
    setReplaying(delivery.id);
    setMessage(null);
    try {
      const result = await replayDelivery(delivery.id);
      if (result.__typename === "DeliveryReplayed") {
        const runs = result.runIds.length === 1 ? "1 run" : `${result.runIds.length} runs`;
        setMessage({ text: `Delivery ${delivery.deliveryId} replayed: ${result.outcome}, ${runs}${result.reason ? ` (${result.reason})` : ""}.`, failed: false });
        void refetch(); // its replay count and outcome
      } else {
        setMessage({ text: result.message, failed: true });
      }
    } catch (error) {
      setMessage({ text: error instanceof Error ? error.message : String(error), failed: true });
    } finally {
      setReplaying(null);
    }
  };

  return (
    <div class="card">
      <div class="card-header">
        <h2>Webhook deliveries</h2>
        <span class="muted">newest first</span>
      </div>
      <Show when={message()}>
        {(m) => (
          <p class={m().failed ? "error-banner" : "notice"} role={m().failed ? "alert" : "status"}>
            {m().text}
          </p>
        )}
      </Show>
      <Switch>
        <Match when={deliveries.error}>
          <ErrorState error={explained(deliveries.error)} retry={() => void refetch()} />
        </Match>
        <Match when={deliveries.latest === undefined}>
          <Loading what="deliveries" />
        </Match>
        <Match when={deliveries.latest?.length === 0}>
          <EmptyState>
            <p>No webhook delivery has arrived yet.</p>
          </EmptyState>
        </Match>
        <Match when={deliveries.latest}>
          {(rows) => (
            <div class="table-wrap">
              <table class="list" aria-label="Webhook deliveries">
                <thead>
                  <tr>
                    <th>Received</th>
                    <th>Forge</th>
                    <th>Event</th>
                    <th>Outcome</th>
                    <th>Runs</th>
                    <th class="hide-narrow">Delivery</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  <For each={rows()}>
                    {(d) => (
                      <tr>
                        <td title={d.receivedAt}>{timeAgo(d.receivedAt)}</td>
                        <td>{d.provider}</td>
                        <td>{d.event}</td>
                        <td>
                          {d.processed ? d.outcome : "waiting"}
                          <Show when={d.reason}>
                            <div class="muted">{d.reason}</div>
                          </Show>
                          <Show when={d.replays > 0}>
                            <div class="muted">replayed {d.replays}×</div>
                          </Show>
                        </td>
                        <td>
                          <For each={d.runIds} fallback={<span class="muted">—</span>}>
                            {(id) => (
                              <A href={`/runs/${id}`} class="mono">
                                {id.slice(0, 8)}{" "}
                              </A>
                            )}
                          </For>
                        </td>
                        <td class="hide-narrow mono">{d.deliveryId}</td>
                        <td>
                          <Show when={props.isAdmin}>
                            <button
                              type="button"
                              class="btn btn-small"
                              disabled={replaying() !== null}
                              aria-label={`Replay delivery ${d.deliveryId}`}
                              onClick={() => void replay(d)}
                            >
                              {replaying() === d.id ? "Replaying…" : "Replay"}
                            </button>
                          </Show>
                        </td>
                      </tr>
                    )}
                  </For>
                </tbody>
              </table>
            </div>
          )}
        </Match>
      </Switch>
    </div>
  );
}
