import { render, screen, fireEvent, waitFor } from "@solidjs/testing-library";
import { MemoryRouter, Route, createMemoryHistory } from "@solidjs/router";
import type { RunSummary } from "../lib/api";
import { setTransport, type Sink } from "../lib/transport";
import { aRun } from "../features/runs/fixtures";
import PipelinePage from "./Pipeline";

const runAt = (i: number, over: Partial<RunSummary> = {}): RunSummary =>
  aRun({ id: `r${i}`, commitSha: `c${String(i).padStart(7, "0")}`, requestedAt: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(), ...over });

/** A server of 60 runs (r59 newest) paged by keyset cursor, and the live subscription's sink. */
function fakeServer(permission: string | null) {
  const all = Array.from({ length: 60 }, (_, i) => runAt(59 - i));
  const requests: { query: string; variables: Record<string, unknown> }[] = [];
  const live: Sink<unknown>[] = [];
  setTransport({
    request: async <T,>(query: string, variables: Record<string, unknown> = {}): Promise<T> => {
      requests.push({ query, variables });
      if (query.startsWith("query Pipeline(")) {
        return { pipeline: { name: "web", repository: "r", configured: true, runCount: 60, lastRunId: "r59", lastState: "SUCCESS", lastRequestedAt: null, permission } } as T;
      }
      const filter = (variables.filter ?? {}) as { branch?: string };
      const matching = all.filter((r) => !filter.branch || r.branch === filter.branch);
      const start = variables.after ? matching.findIndex((r) => r.id === variables.after) + 1 : 0;
      const page = matching.slice(start, start + Number(variables.first));
      const last = page.at(-1);
      return {
        runs: {
          edges: page.map((node) => ({ cursor: node.id, node })),
          pageInfo: { endCursor: last?.id ?? null, hasNextPage: start + page.length < matching.length },
        },
      } as T;
    },
    subscribe: (_q, _v, sink) => {
      live.push(sink as Sink<unknown>);
      return () => {};
    },
    getText: async () => "",
  });
  return { requests, live };
}

function renderPage(path = "/pipelines/web") {
  const history = createMemoryHistory();
  history.set({ value: path });
  render(() => (
    <MemoryRouter history={history}>
      <Route path="/pipelines/:name" component={PipelinePage} />
      <Route path="/runs/:id" component={() => <p>run page</p>} />
    </MemoryRouter>
  ));
  return history;
}

afterEach(() => setTransport(undefined));

describe("Pipeline page", () => {
  it("lists runs newest first and loads the next page from the last cursor", async () => {
    const server = fakeServer("READ");
    renderPage();
    await waitFor(() => expect(document.querySelectorAll("tr[data-run]")).toHaveLength(50));
    expect(document.querySelector("tr[data-run]")?.getAttribute("data-run")).toBe("r59");
    fireEvent.click(screen.getByRole("button", { name: "Load more runs" }));
    await waitFor(() => expect(document.querySelectorAll("tr[data-run]")).toHaveLength(60));
    expect(server.requests.filter((r) => r.query.startsWith("query Runs")).at(-1)?.variables.after).toBe("r10");
    expect(screen.queryByRole("button", { name: "Load more runs" })).toBeNull();
    // The chart shows the newest 50.
    expect(document.querySelectorAll("rect.bar")).toHaveLength(50);
  });

  it("shows a new run on top as soon as the server reports it, and its later states", async () => {
    const server = fakeServer("READ");
    renderPage();
    await waitFor(() => expect(document.querySelectorAll("tr[data-run]")).toHaveLength(50));
    server.live[0]?.next({ runUpdated: runAt(60, { state: "RUNNING", status: { label: "Running", terminal: false }, version: 1 }) });
    await waitFor(() => expect(document.querySelector("tr[data-run]")?.getAttribute("data-run")).toBe("r60"));
    server.live[0]?.next({ runUpdated: runAt(60, { state: "FAILURE", status: { label: "Failed", terminal: true }, version: 2 }) });
    await waitFor(() => expect(document.querySelector('tr[data-run="r60"] .badge')).toHaveTextContent("Failed"));
  });

  it("passes the filters to the server and keeps them in the address", async () => {
    const server = fakeServer("READ");
    renderPage("/pipelines/web?branch=dev");
    await waitFor(() => expect(screen.getByText("No run matches these filters.")).toBeInTheDocument());
    expect(server.requests.find((r) => r.query.startsWith("query Runs"))?.variables.filter).toEqual({ pipeline: "web", branch: "dev" });
  });

  it("offers Run only with write permission", async () => {
    fakeServer("WRITE");
    renderPage();
    expect(await screen.findByRole("button", { name: "Run" })).toBeInTheDocument();
  });

  it("offers no Run to a reader", async () => {
    fakeServer("READ");
    renderPage();
    await waitFor(() => expect(document.querySelectorAll("tr[data-run]")).toHaveLength(50));
    expect(screen.queryByRole("button", { name: "Run" })).toBeNull();
  });
});
