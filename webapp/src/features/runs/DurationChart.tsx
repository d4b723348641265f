import { For, Show, createMemo, type JSX } from "solid-js";
import type { RunSummary } from "../../lib/api";
import { durationMs, formatDuration, shortSha } from "../../lib/format";
import { stateClass } from "../../components/StatusBadge";

const WIDTH = 800;
const HEIGHT = 160;
const PAD = { top: 8, right: 8, bottom: 18, left: 44 };
const LEGEND: [string, string][] = [
  ["s-succeeded", "succeeded"],
  ["s-failed", "failed / timed out"],
  ["s-running", "running"],
  ["s-queued", "queued"],
  ["s-cancelled", "cancelled"],
];

/**
 * The last 50 runs' durations as bars, oldest on the left, coloured by outcome; each bar
 * links to its run. A run still going shows how long it has taken so far.
 */
export function DurationChart(props: { runs: readonly RunSummary[]; now?: number }): JSX.Element {
  const bars = createMemo(() => {
    const runs = props.runs.slice(0, 50).reverse();
    const now = props.now ?? Date.now();
    const values = runs.map((r) => durationMs(r.startedAt ?? r.requestedAt, r.finishedAt, now) ?? 0);
    const max = Math.max(1000, ...values);
    // At least 20 slots so a few runs do not make a few giant bars; the newest on the right.
    const slots = Math.max(runs.length, 20);
    const slot = (WIDTH - PAD.left - PAD.right) / slots;
    const first = slots - runs.length;
    const plot = HEIGHT - PAD.top - PAD.bottom;
    return {
      max,
      items: runs.map((run, i) => {
        const h = Math.max(2, (values[i]! / max) * plot);
        return {
          run,
          ms: values[i]!,
          x: PAD.left + (first + i) * slot + slot * 0.15,
          w: Math.max(1, slot * 0.7),
          y: PAD.top + plot - h,
          h,
        };
      }),
    };
  });
  return (
    <figure class="chart-figure" style={{ margin: 0 }}>
      <Show when={props.runs.length > 0} fallback={<p class="empty-state">No runs to chart yet.</p>}>
        <svg class="chart" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={`Durations of the last ${bars().items.length} runs`}>
          <line class="axis" x1={PAD.left} x2={WIDTH - PAD.right} y1={HEIGHT - PAD.bottom} y2={HEIGHT - PAD.bottom} />
          <line class="axis" x1={PAD.left} x2={PAD.left} y1={PAD.top} y2={HEIGHT - PAD.bottom} />
          <text class="tick" x={PAD.left - 4} y={PAD.top + 8} text-anchor="end">
            {formatDuration(bars().max)}
          </text>
          <text class="tick" x={PAD.left - 4} y={HEIGHT - PAD.bottom} text-anchor="end">
            0
          </text>
          <For each={bars().items}>
            {(bar) => (
              <g>
                <a href={`/runs/${bar.run.id}`} aria-label={`Run ${shortSha(bar.run.commitSha)} on ${bar.run.branch}: ${bar.run.status.label}, ${formatDuration(bar.ms)}`}>
                <rect class={`bar fill-${stateClass(bar.run.state)}`} data-state={bar.run.state} x={bar.x} y={bar.y} width={bar.w} height={bar.h} rx="1.5">
                  <title>{`${bar.run.branch} ${shortSha(bar.run.commitSha)} — ${bar.run.status.label}, ${formatDuration(bar.ms)}`}</title>
                  </rect>
                </a>
              </g>
            )}
          </For>
        </svg>
        <figcaption class="legend">
          <For each={LEGEND}>
            {([cls, label]) => (
              <span>
                <i class={`bg-${cls}`} />
                {label}
              </span>
            )}
          </For>
        </figcaption>
      </Show>
    </figure>
  );
}
