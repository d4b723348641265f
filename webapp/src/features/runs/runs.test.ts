import { latestPerBranch, mergeRun } from "./runs";
import { aRun } from "./fixtures";

const run = (id: string, minute: number, over = {}) =>
  aRun({ id, requestedAt: new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString(), ...over });

describe("merging live run updates into a list shown newest first", () => {
  it("replaces a run it shows, unless the update is older", () => {
    const list = [run("b", 2, { version: 5 }), run("a", 1)];
    expect(mergeRun(list, run("b", 2, { version: 6, state: "FAILURE" }), {})[0]?.state).toBe("FAILURE");
    expect(mergeRun(list, run("b", 2, { version: 4, state: "RUNNING" }), {})[0]?.version).toBe(5);
  });

  it("puts a new run on top only when it passes the filter", () => {
    const list = [run("a", 1)];
    expect(mergeRun(list, run("n", 3), { branch: "main" }).map((r) => r.id)).toEqual(["n", "a"]);
    expect(mergeRun(list, run("n", 3, { branch: "dev" }), { branch: "main" }).map((r) => r.id)).toEqual(["a"]);
    expect(mergeRun(list, run("n", 3, { state: "FAILURE" }), { state: "SUCCESS" }).map((r) => r.id)).toEqual(["a"]);
  });
});

describe("last run per branch", () => {
  it("keeps the newest run of each branch, newest first", () => {
    const runs = [run("m2", 5), run("d1", 4, { branch: "dev" }), run("m1", 1)];
    expect(latestPerBranch(runs).map((r) => r.id)).toEqual(["m2", "d1"]);
  });
});
