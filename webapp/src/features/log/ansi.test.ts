import { parseAnsi, stripAnsi } from "./ansi";
import { parseLog, searchLines, splitMatches, lineFromHash } from "./model";

describe("ANSI colours", () => {
  it("turns SGR colour codes into styled segments and drops the escapes", () => {
    const { segments } = parseAnsi("plain \x1b[1;31merror\x1b[0m done");
    expect(segments.map((s) => s.text)).toEqual(["plain ", "error", " done"]);
    expect(segments[1]?.style).toEqual({ bold: true, fg: "#cd3131" });
    expect(segments[2]?.style).toEqual({});
  });

  it("understands 256-colour and 24-bit colours", () => {
    expect(parseAnsi("\x1b[38;5;196mx").segments[0]?.style.fg).toBe("rgb(255, 0, 0)");
    expect(parseAnsi("\x1b[48;2;1;2;3mx").segments[0]?.style.bg).toBe("rgb(1, 2, 3)");
  });

  it("carries a colour over to the next line until it is reset", () => {
    const first = parseAnsi("\x1b[32mgreen");
    expect(parseAnsi("still green", first.end).segments[0]?.style.fg).toBe("#0dbc79");
  });

  it("keeps only what a progress bar printed last after carriage returns", () => {
    expect(parseAnsi("10%\r50%\r100%").segments.map((s) => s.text).join("")).toBe("100%");
    expect(stripAnsi("\x1b[2K\x1b]0;title\x07ok")).toBe("ok");
  });
});

describe("log sections", () => {
  const log = [
    "preparing",
    "── step 1: install",
    "npm ci",
    "── step 1 succeeded",
    "── step 2: test",
    "FAIL one",
    "── step 2 failed: exit code 1",
    "── job failure: step 2 failed",
  ].join("\n");

  it("groups a step's output under its header, with global line numbers", () => {
    const sections = parseLog(log);
    expect(sections.map((s) => [s.step, s.title])).toEqual([
      [null, ""],
      [1, "install"],
      [2, "test"],
      [null, ""],
    ]);
    expect(sections[2]?.lines.map((l) => l.number)).toEqual([5, 6, 7]);
  });

  it("finds lines containing the search text regardless of case", () => {
    expect(searchLines(parseLog(log), "fail")).toEqual([6, 7, 8]);
    expect(splitMatches("a FAIL b fail", "fail")).toEqual([
      { text: "a ", match: false },
      { text: "FAIL", match: true },
      { text: " b ", match: false },
      { text: "fail", match: true },
    ]);
  });

  it("reads a line anchor", () => {
    expect(lineFromHash("#L123")).toBe(123);
    expect(lineFromHash("#foo")).toBeNull();
  });
});
