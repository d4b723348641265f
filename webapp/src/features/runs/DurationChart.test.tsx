import { render, screen } from "@solidjs/testing-library";
import { MemoryRouter, Route } from "@solidjs/router";
import { DurationChart } from "./DurationChart";
import { aRun } from "./fixtures";
import type { RunSummary } from "../../lib/api";

const at = (minute: number, seconds: number, state: RunSummary["state"], id: string): RunSummary => {
  const start = new Date(Date.UTC(2026, 0, 1, 0, minute));
  return aRun({
    id,
    state,
    requestedAt: start.toISOString(),
    startedAt: start.toISOString(),
    finishedAt: new Date(start.getTime() + seconds * 1000).toISOString(),
  });
};

function renderChart(runs: RunSummary[]) {
  return render(() => (
    <MemoryRouter>
      <Route path="*" component={() => <DurationChart runs={runs} />} />
    </MemoryRouter>
  ));
}

describe("DurationChart", () => {
  it("draws one bar per run, oldest left, height by duration, colour by outcome, linked to the run", () => {
    // newest first, as the API answers
    const { container } = renderChart([at(2, 60, "FAILURE", "c"), at(1, 30, "SUCCESS", "b"), at(0, 120, "SUCCESS", "a")]);
    const bars = [...container.querySelectorAll("rect.bar")];
    expect(bars.map((b) => b.getAttribute("data-state"))).toEqual(["SUCCESS", "SUCCESS", "FAILURE"]);
    const heights = bars.map((b) => Number(b.getAttribute("height")));
    expect(heights[0]).toBeGreaterThan(heights[2]!); // 120 s > 60 s
    expect(heights[2]).toBeGreaterThan(heights[1]!); // 60 s > 30 s
    expect(bars[2]).toHaveClass("fill-s-failed");
    expect(bars[0]?.closest("a")?.getAttribute("href")).toBe("/runs/a");
    expect(screen.getByRole("img", { name: "Durations of the last 3 runs" })).toBeInTheDocument();
  });

  it("charts at most the last 50 runs", () => {
    const runs = Array.from({ length: 60 }, (_, i) => at(59 - i, 10, "SUCCESS", `r${i}`));
    const { container } = renderChart(runs);
    expect(container.querySelectorAll("rect.bar")).toHaveLength(50);
  });

  it("says so when there is nothing to chart", () => {
    renderChart([]);
    expect(screen.getByText("No runs to chart yet.")).toBeInTheDocument();
  });
});
