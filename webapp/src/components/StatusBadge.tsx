import type { JSX } from "solid-js";

const CLASS: Record<string, string> = {
  SUCCESS: "s-succeeded",
  FAILURE: "s-failed",
  TIMEOUT: "s-failed",
  RUNNING: "s-running",
  SCHEDULING: "s-queued",
  PENDING: "s-queued",
  CANCELLED: "s-cancelled",
};

const LABEL: Record<string, string> = {
  SUCCESS: "Succeeded",
  FAILURE: "Failed",
  TIMEOUT: "Timed out",
  RUNNING: "Running",
  SCHEDULING: "Scheduling",
  PENDING: "Queued",
  CANCELLED: "Cancelled",
};

/** A run's, job's or step's state as a coloured pill; the label is the server's when given. */
export function StatusBadge(props: { state: string | null | undefined; label?: string | undefined; cancelling?: boolean }): JSX.Element {
  const state = (): string => props.state ?? "UNKNOWN";
  const text = (): string => (props.cancelling ? "Cancelling" : props.label || LABEL[state()] || state().charAt(0) + state().slice(1).toLowerCase());
  return (
    <span class={`badge ${props.cancelling ? "s-cancelled" : (CLASS[state()] ?? "s-unknown")}`} data-state={state()} title={text()}>
      {text()}
    </span>
  );
}

export function stateClass(state: string | null | undefined): string {
  return CLASS[state ?? ""] ?? "s-unknown";
}
