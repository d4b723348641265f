import type { Job, Run, RunState } from "../../lib/api";

const terminal = (s: RunState): boolean => ["SUCCESS", "FAILURE", "TIMEOUT", "CANCELLED"].includes(s);

export function aJob(over: Partial<Job> = {}): Job {
  const state = over.state ?? "SUCCESS";
  return {
    id: "job-1",
    runId: "run-1",
    name: "build",
    state,
    status: { label: state.toLowerCase(), terminal: terminal(state) },
    reason: "",
    requestedAt: "2026-01-01T00:00:00Z",
    startedAt: "2026-01-01T00:00:00Z",
    finishedAt: terminal(state) ? "2026-01-01T00:01:00Z" : null,
    cancelRequested: false,
    reusedFrom: null,
    steps: [],
    artifacts: [],
    ...over,
  };
}

export function aRun(over: Partial<Run> = {}): Run {
  const state = over.state ?? "SUCCESS";
  return {
    id: "run-1",
    pipeline: "web",
    ref: "refs/heads/main",
    branch: "main",
    commitSha: "0123456789abcdef0123456789abcdef01234567",
    triggerType: "push",
    triggerRef: "",
    actor: "alice",
    state,
    status: { label: state.toLowerCase(), terminal: terminal(state) },
    cancelRequested: false,
    requestedAt: "2026-01-01T00:00:00Z",
    startedAt: "2026-01-01T00:00:00Z",
    finishedAt: terminal(state) ? "2026-01-01T00:02:00Z" : null,
    version: 3,
    retryOf: null,
    repository: "https://example.test/web.git",
    deliveryId: "",
    waitingReason: "",
    jobs: [aJob({ state })],
    ...over,
  };
}
