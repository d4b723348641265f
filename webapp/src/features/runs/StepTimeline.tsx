import { For, Show, createMemo, type JSX } from "solid-js";
import type { Step } from "../../lib/api";
import { durationMs, formatDuration } from "../../lib/format";
import { stateClass } from "../../components/StatusBadge";

/** Gantt-style bars of a job's steps on one time axis (from the first step's start). */
export function StepTimeline(props: { steps: readonly Step[]; now?: number }): JSX.Element {
  const rows = createMemo(() => {
    const now = props.now ?? Date.now();
    const starts = props.steps.map((s) => Date.parse(s.startedAt)).filter((t) => !Number.isNaN(t));
    const origin = Math.min(...starts);
    const ends = props.steps.map((s) => (s.finishedAt ? Date.parse(s.finishedAt) : now));
    const span = Math.max(1, Math.max(...ends) - origin);
    return props.steps.map((s) => {
      const start = Date.parse(s.startedAt) - origin;
      const ms = durationMs(s.startedAt, s.finishedAt, now) ?? 0;
      return { step: s, left: (start / span) * 100, width: (ms / span) * 100, ms };
    });
  });
  return (
    <Show when={props.steps.length > 0} fallback={<p class="muted">No steps have started.</p>}>
      <div class="gantt" role="list" aria-label="Step timeline">
        <For each={rows()}>
          {(row) => (
            <div role="listitem" style={{ display: "contents" }}>
              <span class="gantt-name" title={row.step.name}>
                {row.step.number}. {row.step.name}
              </span>
              <span class="gantt-track">
                <span
                  class={`gantt-bar bg-${stateClass(row.step.state)}`}
                  data-step={row.step.number}
                  style={{ left: `${row.left.toFixed(2)}%`, width: `${row.width.toFixed(2)}%` }}
                  title={`${row.step.name}: ${row.step.status.label}, ${formatDuration(row.ms)}`}
                />
              </span>
              <span class="num muted">{formatDuration(row.ms)}</span>
            </div>
          )}
        </For>
      </div>
    </Show>
  );
}
