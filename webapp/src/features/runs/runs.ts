/** Pure helpers over lists of runs (merging live updates, filters, per-branch status). */
import type { RunsFilter, RunSummary } from "../../lib/api";

export function matchesFilter(run: RunSummary, filter: RunsFilter): boolean {
  if (filter.pipeline && run.pipeline !== filter.pipeline) return false;
  if (filter.branch && run.branch !== filter.branch) return false;
  if (filter.state && run.state !== filter.state) return false;
  if (filter.trigger && run.triggerType !== filter.trigger) return false;
  if (filter.actor && run.actor !== filter.actor) return false;
  return true;
}

const newer = (a: RunSummary, b: RunSummary): boolean =>
  a.requestedAt > b.requestedAt || (a.requestedAt === b.requestedAt && a.id > b.id);

/**
 * A live update applied to a list shown newest first: an update of a run in the list
 * replaces it (when it is not older than what is shown); a run not in the list is added
 * on top when it is newer than the top and passes the filter.
 */
export function mergeRun<T extends RunSummary>(list: readonly T[], run: T, filter: RunsFilter): T[] {
  const at = list.findIndex((r) => r.id === run.id);
  if (at >= 0) {
    const shown = list[at]!;
    if (shown.version > run.version) return [...list];
    const next = [...list];
    next[at] = run;
    return next;
  }
  if (!matchesFilter(run, filter)) return [...list];
  const top = list[0];
  if (top && !newer(run, top)) return [...list];
  return [run, ...list];
}

/** The newest run of each branch, newest first. */
export function latestPerBranch(runs: readonly RunSummary[]): RunSummary[] {
  const byBranch = new Map<string, RunSummary>();
  for (const run of runs) {
    const key = run.branch || run.ref;
    const known = byBranch.get(key);
    if (!known || newer(run, known) || (known.id === run.id && run.version >= known.version)) byBranch.set(key, run);
  }
  return [...byBranch.values()].sort((a, b) => (newer(a, b) ? -1 : 1));
}
