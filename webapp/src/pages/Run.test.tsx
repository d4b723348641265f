import { render, screen, fireEvent, waitFor } from "@solidjs/testing-library";
import { MemoryRouter, Route, createMemoryHistory } from "@solidjs/router";
import type { Run } from "../lib/api";
import { setTransport, type Sink } from "../lib/transport";
import { aJob, aRun } from "../features/runs/fixtures";
import RunPage from "./Run";

function fakeServer(first: Run, permission: string | null) {
  const subscriptions: { query: string; variables: Record<string, unknown>; sink: Sink<unknown> }[] = [];
  const server = { run: first };
  setTransport({
    request: async <T,>(query: string): Promise<T> => {
      if (query.startsWith("query Run(")) return { run: server.run } as T;
      if (query.startsWith("query Pipeline(")) return { pipeline: { name: run.pipeline, permission } } as T;
      throw new Error(`unexpected ${query}`);
    },
    subscribe: (query, variables, sink) => {
      subscriptions.push({ query, variables, sink: sink as Sink<unknown> });
      return () => {};
    },
    getText: async () => "",
  });
  return Object.assign(subscriptions, { server });
}

function renderRun(path: string) {
  const history = createMemoryHistory();
  history.set({ value: path });
  render(() => (
    <MemoryRouter history={history}>
      <Route path="/runs/:id" component={RunPage} />
    </MemoryRouter>
  ));
  return history;
}

afterEach(() => setTransport(undefined));

const run = aRun({
  id: "run-1",
  state: "FAILURE",
  triggerType: "push",
  actor: "alice",
  deliveryId: "gh-delivery-7",
  jobs: [
    aJob({
      id: "ok",
      name: "lint",
      state: "SUCCESS",
      artifacts: [
        { name: "report.html", kind: "file", size: 2048, sha256: "ab".repeat(32), uploadedAt: null, downloadUrl: "/api/v1/artifacts/ok/report.html" },
      ],
    }),
    aJob({
      id: "bad",
      name: "test",
      state: "FAILURE",
      steps: [
        {
          number: 1,
          name: "pytest",
          command: "pytest",
          image: "python:3.12",
          state: "FAILURE",
          status: { label: "Failed", terminal: true },
          exitCode: 2,
          logStart: 0,
          logEnd: 10,
          reason: "exit code 2",
          startedAt: "2026-01-01T00:00:00Z",
          finishedAt: "2026-01-01T00:00:42Z",
        },
      ],
    }),
  ],
});

describe("Run page", () => {
  it("says who started the run and why, and opens on the failed job with its steps and exit codes", async () => {
    const subscriptions = fakeServer(run, "WRITE");
    renderRun("/runs/run-1");
    expect(await screen.findByText("Push to main")).toBeInTheDocument();
    expect(screen.getByText("alice")).toBeInTheDocument();
    expect(screen.getByText("gh-delivery-7")).toBeInTheDocument();
    expect(screen.getByRole("heading", { name: "test" })).toBeInTheDocument();
    const row = screen.getByText("pytest").closest("tr");
    expect(row).toHaveTextContent("2");
    expect(row).toHaveTextContent("42s");
    // The log of the shown job is followed live from its start.
    await waitFor(() => expect(subscriptions.some((s) => s.variables.jobId === "bad" && s.variables.fromOffset === 0)).toBe(true));
    expect(await screen.findByRole("button", { name: "Re-run failed jobs" })).toBeInTheDocument();
  });

  it("switches jobs and lists artifacts with sizes and download links", async () => {
    fakeServer(run, "READ");
    const history = renderRun("/runs/run-1");
    fireEvent.click(await screen.findByRole("link", { name: /lint/ }));
    await waitFor(() => expect(history.get()).toContain("job=ok"));
    const link = await screen.findByRole("link", { name: "report.html" });
    expect(link).toHaveAttribute("href", "/api/v1/artifacts/ok/report.html");
    expect(link.closest("tr")).toHaveTextContent("2.0 KiB");
    expect(screen.queryByRole("button", { name: /Re-run/ })).toBeNull();
  });

  it("applies live updates of this run, and reads its jobs again", async () => {
    const subscriptions = fakeServer(aRun({ id: "run-1", state: "RUNNING", version: 2, jobs: [aJob({ state: "RUNNING" })] }), "WRITE");
    renderRun("/runs/run-1");
    expect(await screen.findByRole("button", { name: "Cancel run" })).toBeInTheDocument();
    const runs = await waitFor(() => {
      const s = subscriptions.find((x) => x.query.includes("runUpdated"));
      if (!s) throw new Error("not subscribed yet");
      return s;
    });
    runs.sink.next({ runUpdated: aRun({ id: "other", state: "FAILURE", version: 9 }) });
    expect(screen.getByRole("link", { name: /build/ })).toHaveTextContent(/running/i);
    // The server now has the run ended; the update carries the run's own fields.
    const ended = aRun({ id: "run-1", state: "SUCCESS", version: 3, jobs: [aJob({ state: "SUCCESS" })] });
    (subscriptions as unknown as { server: { run: Run } }).server.run = ended;
    const { jobs: _jobs, ...summary } = ended; // runUpdated as the page asks for it: no jobs
    runs.sink.next({ runUpdated: summary });
    expect(await screen.findByRole("button", { name: "Re-run all jobs" })).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Cancel run" })).toBeNull();
    await waitFor(() => expect(screen.getByRole("link", { name: /build/ })).toHaveTextContent(/success/i));
  });
});
