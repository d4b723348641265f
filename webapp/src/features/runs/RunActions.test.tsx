import { render, screen, fireEvent, waitFor } from "@solidjs/testing-library";
import { MemoryRouter, Route } from "@solidjs/router";
import { createStore } from "solid-js/store";
import type { PermissionLevel, Run } from "../../lib/api";
import { setTransport, type Transport } from "../../lib/transport";
import { StatusBadge } from "../../components/StatusBadge";
import { RunActions } from "./RunActions";
import { aJob, aRun } from "./fixtures";

/** A transport whose GraphQL answers are given by the test (one per request, in order). */
function answering(...answers: (() => Promise<unknown>)[]): Transport & { sent: string[] } {
  const sent: string[] = [];
  return {
    sent,
    request: async <T,>(query: string): Promise<T> => {
      sent.push(query);
      const next = answers.shift();
      if (!next) throw new Error("unexpected request");
      return (await next()) as T;
    },
    subscribe: () => () => {},
    getText: async () => "",
  };
}

function renderActions(run: Run, permission: PermissionLevel | null) {
  const [state, setState] = createStore({ run });
  render(() => (
    <MemoryRouter>
      <Route
        path="*"
        component={() => (
          <>
            <StatusBadge state={state.run.state} label={state.run.status.label} cancelling={state.run.cancelRequested && !state.run.status.terminal} />
            <RunActions run={state.run} permission={permission} update={(c) => setState("run", (r) => ({ ...r, ...c }))} />
          </>
        )}
      />
    </MemoryRouter>
  ));
  return state;
}

afterEach(() => setTransport(undefined));

describe("RunActions", () => {
  it("shows cancelling at once, and goes back to running when the server refuses", async () => {
    let refuse: (v: unknown) => void = () => {};
    setTransport(answering(() => new Promise((resolve) => (refuse = resolve))));
    const state = renderActions(aRun({ state: "RUNNING" }), "WRITE");
    fireEvent.click(screen.getByRole("button", { name: "Cancel run" }));
    expect(screen.getByText("Cancelling")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Cancelling…" })).toBeDisabled();
    refuse({ cancelRun: { __typename: "RunNotCancellable", message: "the run has ended", code: "CONFLICT" } });
    expect(await screen.findByRole("alert")).toHaveTextContent("the run has ended");
    expect(screen.getByText("running")).toBeInTheDocument();
    expect(state.run.cancelRequested).toBe(false);
    expect(screen.getByRole("button", { name: "Cancel run" })).toBeEnabled();
  });

  it("rolls back when the server cannot be reached", async () => {
    setTransport(answering(() => Promise.reject(new Error("Cannot reach the server"))));
    renderActions(aRun({ state: "RUNNING" }), "ADMIN");
    fireEvent.click(screen.getByRole("button", { name: "Cancel run" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Cannot reach the server");
    expect(screen.getByText("running")).toBeInTheDocument();
  });

  it("keeps the server's answer when it accepts", async () => {
    const cancelled = aRun({ state: "RUNNING", cancelRequested: true, version: 4 });
    setTransport(answering(async () => ({ cancelRun: { __typename: "RunCancelled", run: cancelled } })));
    const state = renderActions(aRun({ state: "RUNNING" }), "WRITE");
    fireEvent.click(screen.getByRole("button", { name: "Cancel run" }));
    await waitFor(() => expect(state.run.version).toBe(4));
    expect(screen.getByText("Cancelling")).toBeInTheDocument();
    expect(screen.queryByRole("alert")).toBeNull();
  });

  it("offers re-run of only the failed jobs when some failed", () => {
    renderActions(aRun({ state: "FAILURE", jobs: [aJob({ id: "a", state: "SUCCESS" }), aJob({ id: "b", state: "FAILURE" })] }), "WRITE");
    expect(screen.getByRole("button", { name: "Re-run all jobs" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Re-run failed jobs" })).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Cancel run" })).toBeNull();
  });

  it("shows no action to someone who may only read", () => {
    renderActions(aRun({ state: "RUNNING" }), "READ");
    expect(screen.queryByRole("button")).toBeNull();
  });

  it("shows no action to someone with no permission at all", () => {
    renderActions(aRun({ state: "FAILURE" }), null);
    expect(screen.queryByRole("button")).toBeNull();
  });
});
