import { fireEvent, screen, waitFor, within } from "@solidjs/testing-library";
import userEvent from "@testing-library/user-event";
import { fakeServer, renderAt } from "../features/ops/testing";
import AuditPage from "./Audit";

const RUN = "0a1b2c3d-0000-4000-8000-000000000001";

const audit = (action: string, actor: string, i: number) => ({
  id: `e${i}`,
  at: `2026-12-07T20:0${i}:00+00:00`,
  action,
  actor,
  pipeline: "web",
  runId: RUN,
  jobId: "",
  deliveryId: "",
  trigger: "manual",
  reason: "",
  detail: {},
});

const page = (entries: unknown[], hasNextPage = false) => ({
  auditTrail: {
    edges: entries.map((node) => ({ node })),
    pageInfo: { endCursor: hasNextPage ? "next" : null, hasNextPage },
  },
});

const asOf = (version: number, state: string, steps: unknown[]) => ({
  run: {
    id: RUN, pipeline: "web", branch: "main", state, status: { label: state.toLowerCase() }, version,
    cancelRequested: false, waitingReason: "", startedAt: null, finishedAt: null,
    jobs: version < 2 ? [] : [{ id: "j", name: "main", state, status: { label: state.toLowerCase() }, reason: "", steps, artifacts: [] }],
  },
});

describe("Audit page", () => {
  it("shows the whole system's trail and filters it through the URL", async () => {
    const server = fakeServer();
    server.answer("Audit", ({ filter }: Record<string, unknown>) =>
      (filter as { actor: string }).actor === "user:bob" ? page([audit("Run.CancelRequested", "user:bob", 2)]) : page([audit("Run.Requested", "user:alice", 1), audit("Run.CancelRequested", "user:bob", 2)]),
    );
    renderAt("/audit", "/audit", AuditPage);
    const table = await screen.findByRole("table", { name: "Audit trail" });
    expect(within(table).getAllByRole("row")).toHaveLength(3);
    await userEvent.type(screen.getByRole("textbox", { name: "Actor" }), "user:bob");
    fireEvent.click(screen.getByRole("button", { name: "Filter" }));
    await screen.findByText("Clear");
    expect(server.asked("Audit").at(-1)).toMatchObject({ filter: { actor: "user:bob", pipeline: "", action: "", runId: "" } });
    await waitFor(() => expect(within(screen.getByRole("table", { name: "Audit trail" })).getAllByRole("row")).toHaveLength(2));
  });

  it("loads older entries after the last one", async () => {
    const server = fakeServer();
    server.answer("Audit", ({ after }: Record<string, unknown>) =>
      after === "next" ? page([audit("Run.Requested", "user:alice", 1)]) : page([audit("Run.JobFinished", "system", 3)], true),
    );
    renderAt("/audit", "/audit", AuditPage);
    fireEvent.click(await screen.findByRole("button", { name: "Load older entries" }));
    await screen.findByText("Run.Requested");
    expect(screen.getByText("Run.JobFinished")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Load older entries" })).toBeNull();
  });

  it("shows a run as it was after each of its events with a slider", async () => {
    const server = fakeServer();
    server.answer("Audit", page([audit("Run.Requested", "user:alice", 1)]));
    server.answer("Events", {
      events: [
        { version: 1, type: "Run.Requested", timestamp: "2026-12-07T20:01:00+00:00", data: {} },
        { version: 2, type: "Run.JobStarted", timestamp: "2026-12-07T20:01:01+00:00", data: {} },
        { version: 3, type: "Run.JobFinished", timestamp: "2026-12-07T20:01:05+00:00", data: { state: "failure" } },
      ],
    });
    server.answer("RunAsOf", ({ version }: Record<string, unknown>) =>
      version === 1 ? asOf(1, "PENDING", []) : version === 2 ? asOf(2, "RUNNING", [{ number: 1, name: "build", state: "RUNNING", status: { label: "running" }, exitCode: null }]) : asOf(3, "FAILURE", [{ number: 1, name: "build", state: "FAILURE", status: { label: "failed" }, exitCode: 3 }]),
    );
    renderAt(`/audit?run=${RUN}`, "/audit", AuditPage);
    const slider = await screen.findByRole("slider", { name: "Event" });
    expect(await screen.findByText(/exit 3/)).toBeInTheDocument();
    expect(screen.getByTestId("tt-position")).toHaveTextContent("After event 3 of 3: Run.JobFinished");
    fireEvent.input(slider, { target: { value: "1" } });
    expect(await screen.findByText("No jobs yet.")).toBeInTheDocument();
    expect(screen.getByTestId("tt-position")).toHaveTextContent("After event 1 of 3: Run.Requested");
    fireEvent.click(screen.getByRole("button", { name: "Next →" }));
    expect(await screen.findByText("build")).toBeInTheDocument();
    expect(server.asked("RunAsOf").map((v) => v.version)).toEqual([3, 1, 2]);
    expect(server.asked("Audit")[0]).toMatchObject({ filter: { runId: RUN } });
  });
});
