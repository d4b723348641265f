import { For, Show, createResource, createSignal, type JSX } from "solid-js";
import { ErrorState, Resourced } from "../components/States";
import "../features/ops/ops.css";
import { createToken, fetchTokens, revokeToken, type TokenScope } from "../features/tokens/tokens";
import { timeAgo } from "../lib/format";

const EXPIRIES: { label: string; days: number | null }[] = [
  { label: "30 days", days: 30 },
  { label: "90 days", days: 90 },
  { label: "1 year", days: 365 },
  { label: "Never", days: null },
];

/** The signed-in user's personal API tokens, for scripts and the CLI (DANUBE_TOKEN). */
export default function TokensPage(): JSX.Element {
  const [tokens, { refetch }] = createResource(fetchTokens);
  const [name, setName] = createSignal("");
  const [scope, setScope] = createSignal<TokenScope>("READ");
  const [expiry, setExpiry] = createSignal(1);
  const [created, setCreated] = createSignal<{ name: string; token: string } | null>(null);
  const [problem, setProblem] = createSignal<unknown>(null);
  const [busy, setBusy] = createSignal(false);

  const create = async (event: SubmitEvent): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      const made = await createToken(name().trim(), scope(), EXPIRIES[expiry()]!.days);
      setCreated({ name: made.apiToken.name, token: made.token });
      setName("");
      await refetch();
    } catch (error) {
      setProblem(error);
    } finally {
      setBusy(false);
    }
  };

  const revoke = async (id: string): Promise<void> => {
    setProblem(null);
    try {
      await revokeToken(id);
      await refetch();
    } catch (error) {
      setProblem(error);
    }
  };

  return (
    <section class="ops">
      <div class="page-header">
        <h1>API tokens</h1>
      </div>
      <p class="muted">
        Personal tokens for scripts and the command line: send one as <code>Authorization: Bearer …</code> or set{" "}
        <code>DANUBE_TOKEN</code>. A token can do what you can, capped at its scope.
      </p>
      <form class="card" aria-label="New token" onSubmit={(event) => void create(event)}>
        <label>
          Name{" "}
          <input name="name" required maxLength={100} value={name()} onInput={(e) => setName(e.currentTarget.value)} />
        </label>{" "}
        <label>
          Scope{" "}
          <select name="scope" value={scope()} onChange={(e) => setScope(e.currentTarget.value as TokenScope)}>
            <option value="READ">read</option>
            <option value="WRITE">write</option>
          </select>
        </label>{" "}
        <label>
          Expires{" "}
          <select name="expires" value={String(expiry())} onChange={(e) => setExpiry(Number(e.currentTarget.value))}>
            <For each={EXPIRIES}>{(choice, index) => <option value={String(index())}>{choice.label}</option>}</For>
          </select>
        </label>{" "}
        <button type="submit" disabled={busy() || name().trim() === ""}>
          Create token
        </button>
      </form>
      <Show when={created()}>
        {(made) => (
          <div class="card" role="status">
            <p>
              Token <strong>{made().name}</strong> — copy it now, it is not shown again:
            </p>
            <pre class="mono" aria-label="New token value">
              {made().token}
            </pre>
          </div>
        )}
      </Show>
      <Show when={problem()}>{(error) => <ErrorState error={error()} />}</Show>
      <Resourced
        resource={tokens}
        retry={() => void refetch()}
        what="your tokens"
        empty={<p>You have no API tokens yet.</p>}
      >
        {(list) => (
          <div class="card table-wrap">
            <table class="list" aria-label="Your tokens">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Scope</th>
                  <th>Status</th>
                  <th class="hide-narrow">Created</th>
                  <th>Expires</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                <For each={list()}>
                  {(token) => (
                    <tr>
                      <td>{token.name}</td>
                      <td>{token.scope.toLowerCase()}</td>
                      <td>{token.status}</td>
                      <td class="hide-narrow" title={token.createdAt}>
                        {timeAgo(token.createdAt)}
                      </td>
                      <td>{token.expiresAt ? new Date(token.expiresAt).toLocaleDateString() : "never"}</td>
                      <td>
                        <Show when={token.status === "active"}>
                          <button type="button" onClick={() => void revoke(token.id)}>
                            Revoke <span class="sr-only">{token.name}</span>
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
      </Resourced>
    </section>
  );
}
