import { useNavigate } from "@solidjs/router";
import { createSignal, For, Show, type JSX } from "solid-js";
import { canWrite, triggerRun, type PermissionLevel } from "../../lib/api";

/** "Run" for a branch; only for people who may write to the pipeline. */
export function RunButton(props: { pipeline: string; permission: PermissionLevel | null | undefined; branches: readonly string[] }): JSX.Element {
  const navigate = useNavigate();
  const [ref, setRef] = createSignal("");
  const [busy, setBusy] = createSignal(false);
  const [error, setError] = createSignal("");
  const listId = `branches-${props.pipeline}`;
  const submit = async (event: SubmitEvent): Promise<void> => {
    event.preventDefault();
    const given = ref().trim() || props.branches[0] || "main";
    setBusy(true);
    setError("");
    try {
      const result = await triggerRun(props.pipeline, given);
      if (result.__typename === "TriggeredRun" && "runIds" in result) {
        const first = result.runIds[0];
        if (first) navigate(`/runs/${first}`);
      } else if ("message" in result) setError(result.message);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Show when={canWrite(props.permission)}>
      <form class="run-form" onSubmit={(e) => void submit(e)}>
        <label class="sr-only" for={`${listId}-input`}>
          Branch to run
        </label>
        <input
          id={`${listId}-input`}
          list={listId}
          placeholder={props.branches[0] ?? "main"}
          value={ref()}
          onInput={(e) => setRef(e.currentTarget.value)}
        />
        <datalist id={listId}>
          <For each={props.branches}>{(b) => <option value={b} />}</For>
        </datalist>
        <button type="submit" class="btn btn-primary" disabled={busy()}>
          {busy() ? "Starting…" : "Run"}
        </button>
        <Show when={error()}>
          <span class="verify-bad" role="alert">
            {error()}
          </span>
        </Show>
      </form>
    </Show>
  );
}
