import { render, screen, fireEvent, waitFor } from "@solidjs/testing-library";
import { MemoryRouter, Route, createMemoryHistory } from "@solidjs/router";
import type { Pipeline, RunSummary } from "../lib/api";
import { RequestError, setTransport, type Sink } from "../lib/transport";
import { aRun } from "../features/runs/fixtures";
import PipelinesPage from "./Pipelines";

const pipeline = (name: string, lastState: Pipeline["lastState"] = "SUCCESS"): Pipeline => ({
  name,
  repository: `https://git.example/${name}.git`,
  configured: true,
  runCount: 2,
  lastRunId: `${name}-1`,
  lastState,
  lastRequestedAt: "2026-01-01T00:00:00Z",
  permission: "READ",
});

function fakeServer(pipelines: Pipeline[] | Error, runs: Record<string, RunSummary[]> = {}) {
  const live: Sink<unknown>[] = [];
  setTransport({
    request: async <T,>(query: string, variables: Record<string, unknown> = {}): Promise<T> => {
      if (query.startsWith("query Pipelines")) {
        if (pipelines instanceof Error) throw pipelines;
        return { pipelines } as T;
      }
      const name = (variables.filter as { pipeline: string }).pipeline;
      const list = runs[name] ?? [];
      return { runs: { edges: list.map((node) => ({ cursor: node.id, node })), pageInfo: { endCursor: null, hasNextPage: false } } } as T;
    },
    subscribe: (_q, _v, sink) => {
      live.push(sink as Sink<unknown>);
      return () => {};
    },
    getText: async () => "",
  });
  return live;
}

function renderPage(path = "/") {
  const history = createMemoryHistory();
  history.set({ value: path });
  render(() => (
    <MemoryRouter history={history}>
      <Route path="/" component={PipelinesPage} />
    </MemoryRouter>
  ));
  return history;
}

afterEach(() => setTransport(undefined));

const at = (id: string, minute: number, over: Partial<RunSummary> = {}): RunSummary =>
  aRun({ id, requestedAt: new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString(), ...over });

describe("Pipelines page", () => {
  it("shows each pipeline's last run per branch, and a new run's state live", async () => {
    const live = fakeServer([pipeline("web"), pipeline("api")], {
      web: [at("w3", 3, { branch: "dev", state: "FAILURE" }), at("w2", 2), at("w1", 1)],
    });
    renderPage();
    const dev = await screen.findByRole("link", { name: /^dev/ });
    expect(dev).toHaveAttribute("href", "/runs/w3");
    expect(screen.getByRole("link", { name: /^main/ })).toHaveAttribute("href", "/runs/w2");
    live[0]?.next({ runUpdated: at("w4", 4, { state: "RUNNING", version: 1 }) });
    await waitFor(() => expect(screen.getByRole("link", { name: /^main/ })).toHaveAttribute("href", "/runs/w4"));
  });

  it("filters by name or repository, keeping the filter in the address", async () => {
    fakeServer([pipeline("web"), pipeline("api")]);
    const history = renderPage();
    await screen.findByRole("link", { name: "web" });
    fireEvent.input(screen.getByRole("searchbox", { name: "Filter pipelines" }), { target: { value: "ap" } });
    await waitFor(() => expect(screen.queryByRole("link", { name: "web" })).toBeNull());
    expect(screen.getByRole("link", { name: "api" })).toBeInTheDocument();
    expect(history.get()).toContain("q=ap");
    fireEvent.input(screen.getByRole("searchbox", { name: "Filter pipelines" }), { target: { value: "zzz" } });
    expect(await screen.findByText("No pipeline matches “zzz”.")).toBeInTheDocument();
  });

  it("says so when there are no pipelines", async () => {
    fakeServer([]);
    renderPage();
    expect(await screen.findByText(/No pipelines yet/)).toBeInTheDocument();
  });

  it("shows the server's refusal with a way to try again", async () => {
    fakeServer(new RequestError("pipelines: not allowed", "FORBIDDEN"));
    renderPage();
    expect(await screen.findByRole("alert")).toHaveTextContent("pipelines: not allowed");
    expect(screen.getByRole("button", { name: "Try again" })).toBeInTheDocument();
  });
});
