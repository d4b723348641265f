/**
 * What the pages ask the server, and the shapes of the answers (GraphQL schema:
 * api/graphql/schema.py). Every operation here is checked against
 * webapp/schema.graphql by the tests (`npm run schema` refreshes that file).
 */
import { gql } from "./transport";

export type RunState = "PENDING" | "SCHEDULING" | "RUNNING" | "SUCCESS" | "FAILURE" | "TIMEOUT" | "CANCELLED";
export type StepState = "RUNNING" | "SUCCESS" | "FAILURE" | "TIMEOUT" | "CANCELLED";
export type PermissionLevel = "READ" | "WRITE" | "ADMIN";
export const RUN_STATES: readonly RunState[] = ["PENDING", "SCHEDULING", "RUNNING", "SUCCESS", "FAILURE", "TIMEOUT", "CANCELLED"];

export interface Status {
  label: string;
  terminal: boolean;
}

export interface Viewer {
  name: string;
  email: string;
  teams: string[];
  globalAdmin: boolean;
}

export interface Pipeline {
  name: string;
  repository: string;
  configured: boolean;
  runCount: number;
  lastRunId: string | null;
  lastState: RunState | null;
  lastRequestedAt: string | null;
  permission: PermissionLevel | null;
}

export interface Artifact {
  name: string;
  kind: string;
  size: number;
  sha256: string;
  uploadedAt: string | null;
  downloadUrl: string;
}

export interface Step {
  number: number;
  name: string;
  command: string;
  image: string;
  state: StepState;
  status: Status;
  exitCode: number | null;
  logStart: number | null;
  logEnd: number | null;
  reason: string;
  startedAt: string;
  finishedAt: string | null;
}

export interface Job {
  id: string;
  runId: string;
  name: string;
  state: RunState;
  status: Status;
  reason: string;
  requestedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  cancelRequested: boolean;
  reusedFrom: string | null;
  steps: Step[];
  artifacts: Artifact[];
}

/** A run as lists show it. */
export interface RunSummary {
  id: string;
  pipeline: string;
  ref: string;
  branch: string;
  commitSha: string;
  triggerType: string;
  triggerRef: string;
  actor: string;
  state: RunState;
  status: Status;
  cancelRequested: boolean;
  requestedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  version: number;
  retryOf: string | null;
}

export interface Run extends RunSummary {
  repository: string;
  deliveryId: string;
  waitingReason: string;
  jobs: Job[];
}

export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { endCursor: string | null; hasNextPage: boolean };
}

export interface RunsFilter {
  pipeline?: string;
  branch?: string;
  state?: RunState | null;
  trigger?: string;
  actor?: string;
}

export interface Problem {
  __typename: string;
  message: string;
  code: string;
}

const RUN_SUMMARY = `id pipeline ref branch commitSha triggerType triggerRef actor state
  status { label terminal } cancelRequested requestedAt startedAt finishedAt version retryOf`;
const STEP = `number name command image state status { label terminal } exitCode logStart logEnd
  reason startedAt finishedAt`;
const JOB = `id runId name state status { label terminal } reason requestedAt startedAt finishedAt
  cancelRequested reusedFrom steps { ${STEP} } artifacts { name kind size sha256 uploadedAt downloadUrl }`;
const RUN = `${RUN_SUMMARY} repository deliveryId waitingReason jobs { ${JOB} }`;
const PIPELINE = `name repository configured runCount lastRunId lastState lastRequestedAt permission`;

export const VIEWER_QUERY = `query Viewer { viewer { name email teams globalAdmin } }`;
export const PIPELINES_QUERY = `query Pipelines { pipelines { ${PIPELINE} } }`;
export const PIPELINE_QUERY = `query Pipeline($name: String!) { pipeline(name: $name) { ${PIPELINE} } }`;
export const RUNS_QUERY = `query Runs($filter: RunsFilter, $first: Int!, $after: String) {
  runs(filter: $filter, first: $first, after: $after) {
    edges { cursor node { ${RUN_SUMMARY} } }
    pageInfo { endCursor hasNextPage }
  }
}`;
export const RUN_QUERY = `query Run($id: ID!) { run(id: $id) { ${RUN} } }`;
export const RUN_UPDATED = `subscription RunUpdated($pipeline: String!) { runUpdated(pipeline: $pipeline) { ${RUN_SUMMARY} } }`;
export const TRIGGER_RUN = `mutation TriggerRun($pipeline: String!, $ref: String!) {
  triggerRun(pipeline: $pipeline, ref: $ref) {
    __typename
    ... on TriggeredRun { pipeline runIds commit ref }
    ... on Problem { message code }
  }
}`;
export const CANCEL_RUN = `mutation CancelRun($runId: ID!) {
  cancelRun(runId: $runId) {
    __typename
    ... on RunCancelled { run { ${RUN} } }
    ... on Problem { message code }
  }
}`;
export const RERUN = `mutation Rerun($runId: ID!, $onlyFailed: Boolean!) {
  rerun(runId: $runId, onlyFailed: $onlyFailed) {
    __typename
    ... on RerunStarted { run { id } }
    ... on Problem { message code }
  }
}`;

export const ALL_OPERATIONS = {
  VIEWER_QUERY,
  PIPELINES_QUERY,
  PIPELINE_QUERY,
  RUNS_QUERY,
  RUN_QUERY,
  RUN_UPDATED,
  TRIGGER_RUN,
  CANCEL_RUN,
  RERUN,
};

export async function fetchViewer(): Promise<Viewer | null> {
  return (await gql<{ viewer: Viewer | null }>(VIEWER_QUERY)).viewer;
}

export async function fetchPipelines(): Promise<Pipeline[]> {
  return (await gql<{ pipelines: Pipeline[] }>(PIPELINES_QUERY)).pipelines;
}

export async function fetchPipeline(name: string): Promise<Pipeline> {
  return (await gql<{ pipeline: Pipeline }>(PIPELINE_QUERY, { name })).pipeline;
}

export const PAGE_SIZE = 50;

export async function fetchRuns(filter: RunsFilter, first = PAGE_SIZE, after: string | null = null): Promise<Connection<RunSummary>> {
  const given = Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== "" && v != null));
  return (await gql<{ runs: Connection<RunSummary> }>(RUNS_QUERY, { filter: given, first, after })).runs;
}

export async function fetchRun(id: string): Promise<Run> {
  return (await gql<{ run: Run }>(RUN_QUERY, { id })).run;
}

export type TriggerResult = ({ __typename: "TriggeredRun"; pipeline: string; runIds: string[]; commit: string; ref: string }) | Problem;
export type CancelResult = { __typename: "RunCancelled"; run: Run } | Problem;
export type RerunResult = { __typename: "RerunStarted"; run: { id: string } } | Problem;

export async function triggerRun(pipeline: string, ref: string): Promise<TriggerResult> {
  return (await gql<{ triggerRun: TriggerResult }>(TRIGGER_RUN, { pipeline, ref })).triggerRun;
}

export async function cancelRun(runId: string): Promise<CancelResult> {
  return (await gql<{ cancelRun: CancelResult }>(CANCEL_RUN, { runId })).cancelRun;
}

export async function rerun(runId: string, onlyFailed: boolean): Promise<RerunResult> {
  return (await gql<{ rerun: RerunResult }>(RERUN, { runId, onlyFailed })).rerun;
}

export function canWrite(permission: PermissionLevel | null | undefined): boolean {
  return permission === "WRITE" || permission === "ADMIN";
}

/** Raw log download (REST, plain text). */
export function rawLogUrl(jobId: string): string {
  return `/api/v1/jobs/${encodeURIComponent(jobId)}/logs`;
}
