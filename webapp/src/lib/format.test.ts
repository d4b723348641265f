import { formatBytes, formatDuration } from "./format";

describe("formatting", () => {
  it("shows durations at a precision people read", () => {
    expect(formatDuration(340)).toBe("0.3s");
    expect(formatDuration(42_000)).toBe("42s");
    expect(formatDuration(125_000)).toBe("2m 5s");
    expect(formatDuration(3_725_000)).toBe("1h 2m");
    expect(formatDuration(null)).toBe("—");
  });
  it("shows sizes in binary units", () => {
    expect(formatBytes(29)).toBe("29 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(300 * 1024 * 1024)).toBe("300 MiB");
  });
});
