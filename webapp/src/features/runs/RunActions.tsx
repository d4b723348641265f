import { useNavigate } from "@solidjs/router";
import { createSignal, Show, type JSX } from "solid-js";
import { cancelRun, canWrite, rerun, type PermissionLevel, type Run } from "../../lib/api";

export interface RunActionsProps {
  run: Run;
  /** Change the run as shown (optimistic state, and the server's answer). */
  update: (change: Partial<Run>) => void;
  permission: PermissionLevel | null | undefined;
}

const FAILED = new Set(["FAILURE", "TIMEOUT", "CANCELLED"]);

/**
 * Cancel (while the run goes) and re-run all / only failed (once it ended), for people
 * who may write. Cancelling shows "cancelling" at once and goes back to what was shown
 * if the server refuses or cannot be reached.
 */
export function RunActions(props: RunActionsProps): JSX.Element {
  const navigate = useNavigate();
  const [busy, setBusy] = createSignal<"" | "cancel" | "all" | "failed">("");
  const [error, setError] = createSignal("");

  const cancel = async (): Promise<void> => {
    const before = { cancelRequested: props.run.cancelRequested };
    setBusy("cancel");
    setError("");
    props.update({ cancelRequested: true });
    try {
      const result = await cancelRun(props.run.id);
      if (result.__typename === "RunCancelled" && "run" in result) {
        if (result.run.version >= props.run.version) props.update(result.run);
      } else {
        props.update(before);
        setError("message" in result ? result.message : "The run could not be cancelled.");
      }
    } catch (e) {
      props.update(before);
      setError(`Cancel failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      setBusy("");
    }
  };

  const again = async (onlyFailed: boolean): Promise<void> => {
    setBusy(onlyFailed ? "failed" : "all");
    setError("");
    try {
      const result = await rerun(props.run.id, onlyFailed);
      if (result.__typename === "RerunStarted" && "run" in result) navigate(`/runs/${result.run.id}`);
      else setError("message" in result ? result.message : "The run could not be started again.");
    } catch (e) {
      setError(`Re-run failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      setBusy("");
    }
  };

  const hasFailed = (): boolean => props.run.jobs.some((j) => FAILED.has(j.state));

  return (
    <Show when={canWrite(props.permission)}>
      <div class="actions">
        <Show when={!props.run.status.terminal}>
          <button type="button" class="btn btn-danger" disabled={busy() !== "" || props.run.cancelRequested} onClick={() => void cancel()}>
            {props.run.cancelRequested ? "Cancelling…" : "Cancel run"}
          </button>
        </Show>
        <Show when={props.run.status.terminal}>
          <button type="button" class="btn" disabled={busy() !== ""} onClick={() => void again(false)}>
            {busy() === "all" ? "Starting…" : "Re-run all jobs"}
          </button>
          <Show when={hasFailed()}>
            <button type="button" class="btn" disabled={busy() !== ""} onClick={() => void again(true)}>
              {busy() === "failed" ? "Starting…" : "Re-run failed jobs"}
            </button>
          </Show>
        </Show>
        <Show when={error()}>
          <p class="error-banner" role="alert" style={{ margin: 0, "flex-basis": "100%" }}>
            {error()}
          </p>
        </Show>
      </div>
    </Show>
  );
}
