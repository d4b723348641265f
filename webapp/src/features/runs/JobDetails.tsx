import { createResource, For, Show, type JSX } from "solid-js";
import type { Job } from "../../lib/api";
import { durationMs, formatBytes, formatDuration } from "../../lib/format";
import { checkProvenance, PROVENANCE_ARTIFACT } from "../../lib/provenance";
import { StatusBadge } from "../../components/StatusBadge";
import { LogViewer } from "../log/LogViewer";
import { StepTimeline } from "./StepTimeline";

/** One job: steps with durations and exit codes, their timeline, the live log, artifacts, provenance. */
export function JobDetails(props: { job: Job }): JSX.Element {
  const artifacts = (): Job["artifacts"] => props.job.artifacts.filter((a) => a.name !== PROVENANCE_ARTIFACT);
  const provenance = (): Job["artifacts"][number] | undefined => props.job.artifacts.find((a) => a.name === PROVENANCE_ARTIFACT);
  return (
    <div class="job-details">
      <div class="page-header">
        <h2 style={{ margin: 0 }}>{props.job.name}</h2>
        <StatusBadge state={props.job.state} label={props.job.status.label} cancelling={props.job.cancelRequested && !props.job.status.terminal} />
        <span class="muted">{formatDuration(durationMs(props.job.startedAt, props.job.finishedAt))}</span>
        <Show when={props.job.reusedFrom}>
          <span class="muted">reused (it had succeeded before)</span>
        </Show>
      </div>
      <Show when={props.job.reason}>
        <p class="muted">{props.job.reason}</p>
      </Show>

      <div class="card">
        <div class="card-header">
          <strong>Steps</strong>
        </div>
        <Show when={props.job.steps.length > 0} fallback={<p class="empty-state">{props.job.status.terminal ? "This job ran no steps." : "No step has started yet."}</p>}>
          <div class="table-wrap">
            <table class="list steps-table">
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">Step</th>
                  <th scope="col">Status</th>
                  <th scope="col" class="num">
                    Exit code
                  </th>
                  <th scope="col" class="num">
                    Duration
                  </th>
                </tr>
              </thead>
              <tbody>
                <For each={props.job.steps}>
                  {(step) => (
                    <tr>
                      <td>{step.number}</td>
                      <td>
                        {step.name}
                        <div class="muted mono hide-narrow" title={step.command}>
                          {step.image}
                        </div>
                      </td>
                      <td>
                        <StatusBadge state={step.state} label={step.status.label} />
                      </td>
                      <td class="num mono">{step.exitCode ?? "—"}</td>
                      <td class="num">{formatDuration(durationMs(step.startedAt, step.finishedAt))}</td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </div>
          <div class="card-body">
            <StepTimeline steps={props.job.steps} />
          </div>
        </Show>
      </div>

      <h3>Log</h3>
      <Show when={props.job.reusedFrom}>
        <p class="muted">
          This job was not run again: it had succeeded in job <span class="mono">{props.job.reusedFrom?.slice(0, 8)}</span>, whose log
          this is.
        </p>
      </Show>
      {/* A reused job ran nothing itself: its log is the one of the job it reuses. */}
      <Show when={props.job.reusedFrom ?? props.job.id} keyed>
        {(id) => <LogViewer jobId={id} steps={props.job.steps} />}
      </Show>

      <h3>Artifacts</h3>
      <Show when={artifacts().length > 0} fallback={<p class="muted">This job uploaded no artifacts.</p>}>
        <div class="card table-wrap">
          <table class="list">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col" class="num">
                  Size
                </th>
                <th scope="col" class="hide-narrow">
                  SHA-256
                </th>
              </tr>
            </thead>
            <tbody>
              <For each={artifacts()}>
                {(a) => (
                  <tr>
                    <td>
                      <a href={a.downloadUrl} download={a.name}>
                        {a.name}
                      </a>
                    </td>
                    <td class="num">{formatBytes(a.size)}</td>
                    <td class="mono muted hide-narrow" title={a.sha256}>
                      {a.sha256.slice(0, 16)}…
                    </td>
                  </tr>
                )}
              </For>
            </tbody>
          </table>
        </div>
      </Show>

      <Show when={provenance()}>{(p) => <Provenance url={p().downloadUrl} job={props.job} />}</Show>
    </div>
  );
}

function Provenance(props: { url: string; job: Job }): JSX.Element {
  const [result, { refetch }] = createResource(
    () => props.url,
    (url) => checkProvenance(url, props.job.artifacts),
  );
  return (
    <>
      <h3>Provenance</h3>
      <div class="card card-body">
        <p style={{ margin: "0 0 0.5rem" }}>
          <a class="btn btn-small" href={props.url} download={`${props.job.name}-provenance.json`}>
            Download provenance (SLSA, DSSE-signed)
          </a>
        </p>
        <Show when={!result.loading} fallback={<span class="muted">Checking the signature…</span>}>
          <Show
            when={!result.error}
            fallback={
              <p class="verify-bad" role="status">
                Could not check: {result.error instanceof Error ? result.error.message : String(result.error)}{" "}
                <button type="button" class="btn btn-small" onClick={() => void refetch()}>
                  Try again
                </button>
              </p>
            }
          >
            <p role="status" class={result()?.state === "failed" ? "verify-bad" : "verify-ok"} style={{ margin: 0 }}>
              {result()?.state === "verified" ? "✓ Verified. " : result()?.state === "failed" ? "✗ Verification failed: " : "◐ "}
              {result()?.message}
            </p>
          </Show>
        </Show>
      </div>
    </>
  );
}
