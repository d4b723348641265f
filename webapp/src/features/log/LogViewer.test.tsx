import { render, screen, fireEvent, within } from "@solidjs/testing-library";
import type { Step } from "../../lib/api";
import type { Sink } from "../../lib/transport";
import { LogViewer } from "./LogViewer";

function server() {
  const sinks: Sink<unknown>[] = [];
  let offset = 0;
  return {
    subscribe: <T,>(_q: string, _v: Record<string, unknown>, sink: Sink<T>) => {
      sinks.push(sink as Sink<unknown>);
      return () => {};
    },
    send(text: string, complete = false) {
      const next = offset + new TextEncoder().encode(text).length;
      sinks.at(-1)?.next({ logAppended: { offset, text, nextOffset: next, complete } });
      offset = next;
    },
  };
}

const step = (number: number, state: Step["state"]): Step => ({
  number,
  name: `s${number}`,
  command: "",
  image: "",
  state,
  status: { label: state.toLowerCase(), terminal: state !== "RUNNING" },
  exitCode: state === "FAILURE" ? 1 : 0,
  logStart: 0,
  logEnd: null,
  reason: "",
  startedAt: "2026-01-01T00:00:00Z",
  finishedAt: "2026-01-01T00:00:05Z",
});

const LOG = "── step 1: install\nok \x1b[32mgreen\x1b[0m\n── step 1 succeeded\n── step 2: test\nFAIL a\nFAIL b\n── step 2 failed: exit 1\n";

describe("LogViewer", () => {
  beforeEach(() => window.history.replaceState(null, "", "/runs/r1"));

  it("shows colours, line numbers with anchors, and folds a succeeded step", async () => {
    const s = server();
    render(() => <LogViewer jobId="j1" steps={[step(1, "SUCCESS"), step(2, "FAILURE")]} subscribe={s.subscribe} />);
    s.send(LOG, true);
    const failed = await screen.findByText("FAIL a");
    expect(failed.closest(".log-line")?.querySelector("a")?.getAttribute("href")).toBe("#L5");
    // The succeeded step starts folded; its header says so and unfolds on click.
    const install = screen.getByRole("button", { name: /Step 1: install/ });
    expect(install).toHaveAttribute("aria-expanded", "false");
    expect(screen.queryByText("green")).toBeNull();
    fireEvent.click(install);
    expect(install).toHaveAttribute("aria-expanded", "true");
    expect(screen.getByText("green")).toHaveStyle({ color: "#0dbc79" });
    // Folding the failed step hides its lines.
    fireEvent.click(screen.getByRole("button", { name: /Step 2: test/ }));
    expect(screen.queryByText("FAIL a")).toBeNull();
    expect(screen.getByText("End of log.")).toBeInTheDocument();
  });

  it("text split across chunks and a later chunk appear as whole lines", async () => {
    const s = server();
    render(() => <LogViewer jobId="j1" subscribe={s.subscribe} />);
    s.send("hel");
    s.send("lo\nwor");
    expect(await screen.findByText("hello")).toBeInTheDocument();
    expect(screen.queryByText("wor")).toBeNull();
    s.send("ld\n", true);
    expect(await screen.findByText("world")).toBeInTheDocument();
  });

  it("searches, counts matches, and moves between them with Enter", async () => {
    const s = server();
    render(() => <LogViewer jobId="j1" steps={[step(1, "SUCCESS"), step(2, "FAILURE")]} subscribe={s.subscribe} />);
    s.send(LOG, true);
    await screen.findByText("FAIL a");
    const search = screen.getByRole("searchbox", { name: "Search the log" });
    fireEvent.input(search, { target: { value: "green" } });
    // The only match is in the folded step: going to it unfolds it.
    expect(screen.getByText("1 of 1")).toBeInTheDocument();
    fireEvent.keyDown(search, { key: "Enter" });
    const mark = await screen.findByText("green", { selector: "mark" });
    expect(mark.closest(".log-line")).toHaveClass("log-current");
    fireEvent.input(search, { target: { value: "fail" } });
    expect(screen.getByText("1 of 3")).toBeInTheDocument();
    fireEvent.keyDown(search, { key: "Enter" });
    expect(screen.getByText("1 of 3")).toBeInTheDocument();
    expect(document.querySelector('[data-line="5"]')).toHaveClass("log-current");
    fireEvent.keyDown(search, { key: "Enter" });
    expect(screen.getByText("2 of 3")).toBeInTheDocument();
    fireEvent.keyDown(search, { key: "Enter", shiftKey: true });
    expect(screen.getByText("1 of 3")).toBeInTheDocument();
  });

  it("opens at the line named in the address (#L5) and highlights it; clicking a number links it", async () => {
    window.history.replaceState(null, "", "/runs/r1#L5");
    const s = server();
    render(() => <LogViewer jobId="j1" subscribe={s.subscribe} />);
    s.send(LOG, true);
    const line = (await screen.findByText("FAIL a")).closest(".log-line");
    expect(line).toHaveClass("log-target");
    expect(screen.getByRole("button", { name: "Follow" })).toHaveAttribute("aria-pressed", "false");
    fireEvent.click(within(screen.getByText("FAIL b").closest(".log-line") as HTMLElement).getByRole("link"));
    expect(window.location.hash).toBe("#L6");
    expect(new URLSearchParams(window.location.search).get("job")).toBe("j1");
    expect(screen.getByText("FAIL b").closest(".log-line")).toHaveClass("log-target");
  });

  it("offers the raw log for download", () => {
    render(() => <LogViewer jobId="j1" subscribe={server().subscribe} />);
    expect(screen.getByRole("link", { name: "Download raw log" })).toHaveAttribute("href", "/api/v1/jobs/j1/logs");
  });
});

describe("LogViewer with a big log", () => {
  it("draws the latest lines of a section and the earlier ones on request; a search hit far back is drawn", async () => {
    const s = server();
    const lines = ["the very first line", ...Array.from({ length: 199 }, (_, i) => `line ${i + 2}`)].join("\n");
    render(() => <LogViewer jobId="j1" subscribe={s.subscribe} window={40} />);
    s.send(`${lines}\n`, true);
    expect(await screen.findByText("line 200")).toBeInTheDocument();
    expect(document.querySelectorAll(".log-line")).toHaveLength(40);
    expect(screen.queryByText("line 2")).toBeNull();
    const search = screen.getByRole("searchbox", { name: "Search the log" });
    fireEvent.input(search, { target: { value: "very first" } });
    fireEvent.keyDown(search, { key: "Enter" });
    expect(await screen.findByText("very first", { selector: "mark" })).toBeInTheDocument();
    expect(screen.getByText("line 2")).toBeInTheDocument();
    // Only a window around the hit is drawn, not everything after it.
    expect(document.querySelectorAll(".log-line").length).toBeLessThanOrEqual(40);
    expect(screen.getByRole("button", { name: /later lines/ })).toBeInTheDocument();
  });

  it("draws earlier lines of a long section on request", async () => {
    const s = server();
    const lines = Array.from({ length: 120 }, (_, i) => `line ${i + 1}`).join("\n");
    render(() => <LogViewer jobId="j1" subscribe={s.subscribe} window={40} />);
    s.send(`${lines}\n`, true);
    expect(await screen.findByText("line 120")).toBeInTheDocument();
    fireEvent.click(screen.getByRole("button", { name: /Show 80 earlier lines/ }));
    expect(screen.getByText("line 1")).toBeInTheDocument();
  });
});
