import { fireEvent, screen, within } from "@solidjs/testing-library";
import { RequestError } from "../lib/transport";
import { fakeServer, renderAt } from "../features/ops/testing";
import QueuePage from "./Queue";

const entry = (position: number, pipeline: string, reason: string) => ({
  position,
  reason,
  job: {
    id: `job-${position}`,
    runId: `${position}0000000-aaaa-bbbb-cccc-dddddddddddd`,
    name: "main",
    pipeline,
    state: "PENDING",
    status: { label: "queued" },
    requestedAt: new Date().toISOString(),
  },
});

describe("Queue page", () => {
  it("lists waiting jobs in order with their position and why they wait", async () => {
    const server = fakeServer();
    server.answer("Queue", { queue: [entry(1, "web", "waiting for a free executor slot (4 of 4 busy)"), entry(2, "api", "")] });
    renderAt("/queue", "/queue", QueuePage);
    const rows = within(await screen.findByRole("table", { name: "Waiting jobs" })).getAllByRole("row");
    expect(rows[1]).toHaveTextContent("1");
    expect(rows[1]).toHaveTextContent("web");
    expect(rows[1]).toHaveTextContent("waiting for a free executor slot (4 of 4 busy)");
    expect(rows[2]).toHaveTextContent("api");
    expect(within(rows[1]!).getByRole("link", { name: "10000000" })).toHaveAttribute("href", "/runs/10000000-aaaa-bbbb-cccc-dddddddddddd");
  });

  it("reads the queue again when a run changes, without a reload", async () => {
    const server = fakeServer();
    let queue = [entry(1, "web", "")];
    server.answer("Queue", () => ({ queue }));
    renderAt("/queue", "/queue", QueuePage);
    await screen.findByRole("table", { name: "Waiting jobs" });
    const [changes] = server.subscriptions;
    expect(changes?.operation).toBe("RunsChanged");
    queue = [];
    changes!.sink.next({ runUpdated: { id: "x", state: "RUNNING", version: 3 } });
    expect(await screen.findByText(/Nothing is waiting/)).toBeInTheDocument();
    expect(server.asked("Queue").length).toBeGreaterThanOrEqual(2);
  });

  it("says so when the queue cannot be read, and tries again on request", async () => {
    const server = fakeServer();
    server.answer("Queue", new RequestError("You may not see this.", "FORBIDDEN"));
    renderAt("/queue", "/queue", QueuePage);
    expect(await screen.findByRole("alert")).toHaveTextContent("You may not see this.");
    server.answer("Queue", { queue: [] });
    fireEvent.click(screen.getByRole("button", { name: "Try again" }));
    expect(await screen.findByText(/Nothing is waiting/)).toBeInTheDocument();
  });
});
