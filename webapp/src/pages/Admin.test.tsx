import { fireEvent, screen, waitFor, within } from "@solidjs/testing-library";
import { FORBIDDEN, RequestError } from "../lib/transport";
import { fakeServer, renderAt, type FakeServer } from "../features/ops/testing";
import AdminPage from "./Admin";

const CONFIG = {
  config: {
    repository: "https://git.example.com/ci-config.git",
    branch: "main",
    commit: "1111111111111111111111111111111111111111",
    syncedAt: new Date().toISOString(),
    fetchProblem: null,
    fetchProblemAt: null,
    lastRejection: {
      commit: "2222222222222222222222222222222222222222",
      at: new Date().toISOString(),
      errors: [{ file: "pipelines/web.yaml", line: 6, field: "spec.colour", message: "unknown field 'colour'" }],
    },
  },
};

const DELIVERY = {
  id: "d0000000-0000-4000-8000-000000000001",
  provider: "github",
  deliveryId: "gh-42",
  event: "push",
  receivedAt: new Date().toISOString(),
  processed: true,
  outcome: "started",
  runIds: ["r0000000-0000-4000-8000-000000000001"],
  reason: "",
  processedAt: new Date().toISOString(),
  replays: 0,
};

function admin(globalAdmin: boolean, draining = false): FakeServer {
  const server = fakeServer();
  server.answer("Viewer", { viewer: { name: "alice", email: "alice@example.com", teams: ["platform"], globalAdmin } });
  server.answer("System", { status: { draining, configCommit: CONFIG.config.commit } });
  server.answer("Config", CONFIG);
  server.answer("Deliveries", { deliveries: [DELIVERY] });
  server.answer("Drain", { drain: { draining: true } });
  server.answer("Undrain", { undrain: { draining: false } });
  return server;
}

describe("Admin page", () => {
  it("shows a draining banner and lets a global admin stop draining", async () => {
    const server = admin(true, true);
    renderAt("/admin", "/admin", AdminPage);
    expect(await screen.findByText("Danube is draining:")).toBeInTheDocument();
    fireEvent.click(await screen.findByRole("button", { name: "Stop draining" }));
    expect(await screen.findByRole("button", { name: "Start draining" })).toBeInTheDocument();
    expect(server.asked("Undrain")).toHaveLength(1);
    expect(screen.queryByText("Danube is draining:")).toBeNull();
  });

  it("offers no controls to someone who is not a global admin", async () => {
    admin(false);
    renderAt("/admin", "/admin", AdminPage);
    expect(await screen.findByText(/Only a global admin can change this/)).toBeInTheDocument();
    await screen.findByRole("table", { name: "Webhook deliveries" });
    expect(screen.queryByRole("button", { name: /draining/ })).toBeNull();
    expect(screen.queryByRole("button", { name: /Replay/ })).toBeNull();
  });

  it("shows the config in force and the errors of the last rejected commit", async () => {
    admin(true);
    renderAt("/admin", "/admin", AdminPage);
    expect(await screen.findByText("111111111111")).toBeInTheDocument();
    const errors = await screen.findByRole("table", { name: "Errors of the rejected config" });
    const [, row] = within(errors).getAllByRole("row");
    expect(row).toHaveTextContent("pipelines/web.yaml:6");
    expect(row).toHaveTextContent("spec.colour");
    expect(row).toHaveTextContent("unknown field 'colour'");
    expect(screen.getByText("222222222222")).toBeInTheDocument();
  });

  it("replays a delivery and says what it did, or why it was refused", async () => {
    const server = admin(true);
    server.answer("ReplayDelivery", { replayDelivery: { __typename: "DeliveryReplayed", outcome: "started", runIds: DELIVERY.runIds, reason: "" } });
    renderAt("/admin", "/admin", AdminPage);
    fireEvent.click(await screen.findByRole("button", { name: "Replay delivery gh-42" }));
    expect(await screen.findByText("Delivery gh-42 replayed: started, 1 run.")).toBeInTheDocument();
    expect(server.asked("ReplayDelivery")).toEqual([{ id: DELIVERY.id }]);

    server.answer("ReplayDelivery", { replayDelivery: { __typename: "Unavailable", message: "Danube is draining: deliveries are replayed after it", code: "UNAVAILABLE" } });
    fireEvent.click(screen.getByRole("button", { name: "Replay delivery gh-42" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Danube is draining: deliveries are replayed after it");
  });
});

describe("Admin page for someone who is not a global admin", () => {
  it("says that only global admins may see the configuration and deliveries", async () => {
    const server = admin(false);
    const refused = new RequestError("config: team qa is not a global admin", FORBIDDEN);
    server.answer("Config", refused);
    server.answer("Deliveries", new RequestError("deliveries: not a global admin", FORBIDDEN));
    renderAt("/admin", "/admin", AdminPage);
    await waitFor(() => expect(screen.getAllByText(/Only global admins may see this/)).toHaveLength(2));
  });
});
