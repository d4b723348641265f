import { render, screen } from "@solidjs/testing-library";
import { setTransport, type Sink } from "../../lib/transport";
import { JobDetails } from "./JobDetails";
import { aJob } from "./fixtures";

afterEach(() => setTransport(undefined));

describe("JobDetails", () => {
  it("shows a reused job's log from the job it reuses", () => {
    const asked: Record<string, unknown>[] = [];
    setTransport({
      request: async () => Promise.reject(new Error("none")),
      subscribe: (_q, variables, _sink: Sink<unknown>) => {
        asked.push(variables);
        return () => {};
      },
      getText: async () => "",
    });
    render(() => <JobDetails job={aJob({ id: "new", reusedFrom: "old-job-id" })} />);
    expect(asked).toEqual([{ jobId: "old-job-id", fromOffset: 0 }]);
    expect(screen.getByText(/was not run again/)).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Download raw log" })).toHaveAttribute("href", "/api/v1/jobs/old-job-id/logs");
  });
});
