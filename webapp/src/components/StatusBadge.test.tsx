import { render, screen } from "@solidjs/testing-library";
import { StatusBadge } from "./StatusBadge";

describe("StatusBadge", () => {
  it("colours by state and shows the server's label", () => {
    render(() => <StatusBadge state="FAILURE" label="failed" />);
    const badge = screen.getByText("failed");
    expect(badge).toHaveClass("badge", "s-failed");
  });

  it("shows a run being cancelled as cancelling", () => {
    render(() => <StatusBadge state="RUNNING" label="running" cancelling />);
    expect(screen.getByText("Cancelling")).toHaveClass("s-cancelled");
  });

  it("names a state it does not know instead of showing nothing", () => {
    render(() => <StatusBadge state={null} />);
    expect(screen.getByText("Unknown")).toHaveClass("s-unknown");
  });
});
