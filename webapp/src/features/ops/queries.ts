/**
 * What the Queue, Audit and Admin pages ask the server (GraphQL, through the one
 * transport in lib/), and the shapes of the answers (api/graphql/schema.py and
 * api/graphql/admin.py).
 */
import { gql } from "../../lib/transport";
import type { RunState } from "../../lib/api";

export interface QueueEntry {
  position: number;
  reason: string;
  job: {
    id: string;
    runId: string;
    name: string;
    pipeline: string;
    state: RunState;
    status: { label: string };
    requestedAt: string;
  };
}

export const QUEUE_QUERY = `query Queue { queue { position reason
  job { id runId name pipeline state status { label } requestedAt } } }`;
/** Any run changing may change the queue: the page reads it again then. */
export const RUNS_CHANGED = `subscription RunsChanged { runUpdated(pipeline: "") { id state version } }`;

export async function fetchQueue(): Promise<QueueEntry[]> {
  return (await gql<{ queue: QueueEntry[] }>(QUEUE_QUERY)).queue;
}

export interface AuditEntry {
  id: string;
  at: string;
  action: string;
  actor: string;
  pipeline: string;
  runId: string;
  jobId: string;
  deliveryId: string;
  trigger: string;
  reason: string;
  detail: unknown;
}

export interface AuditFilter {
  pipeline?: string;
  actor?: string;
  action?: string;
  runId?: string;
}

export interface AuditPage {
  entries: AuditEntry[];
  endCursor: string | null;
  hasNextPage: boolean;
}

export const AUDIT_QUERY = `query Audit($filter: AuditFilter, $first: Int!, $after: String) {
  auditTrail(filter: $filter, first: $first, after: $after) {
    edges { node { id at action actor pipeline runId jobId deliveryId trigger reason detail } }
    pageInfo { endCursor hasNextPage } } }`;

export const AUDIT_PAGE_SIZE = 50;

export async function fetchAudit(filter: AuditFilter, after: string | null = null): Promise<AuditPage> {
  const { auditTrail } = await gql<{
    auditTrail: { edges: { node: AuditEntry }[]; pageInfo: { endCursor: string | null; hasNextPage: boolean } };
  }>(AUDIT_QUERY, { filter, first: AUDIT_PAGE_SIZE, after });
  return {
    entries: auditTrail.edges.map((edge) => edge.node),
    endCursor: auditTrail.pageInfo.endCursor,
    hasNextPage: auditTrail.pageInfo.hasNextPage,
  };
}

export interface RunEvent {
  version: number;
  type: string;
  timestamp: string;
  data: Record<string, unknown>;
}

export const EVENTS_QUERY = `query Events($runId: ID!) { events(runId: $runId) { version type timestamp data } }`;

export async function fetchEvents(runId: string): Promise<RunEvent[]> {
  return (await gql<{ events: RunEvent[] }>(EVENTS_QUERY, { runId })).events;
}

export interface RunAsOf {
  id: string;
  pipeline: string;
  branch: string;
  state: RunState;
  status: { label: string };
  version: number;
  cancelRequested: boolean;
  waitingReason: string;
  startedAt: string | null;
  finishedAt: string | null;
  jobs: {
    id: string;
    name: string;
    state: RunState;
    status: { label: string };
    reason: string;
    steps: { number: number; name: string; state: string; status: { label: string }; exitCode: number | null }[];
    artifacts: { name: string; size: number }[];
  }[];
}

export const RUN_AS_OF_QUERY = `query RunAsOf($id: ID!, $version: Int!) {
  run(id: $id, asOfVersion: $version) { id pipeline branch state status { label } version
    cancelRequested waitingReason startedAt finishedAt
    jobs { id name state status { label } reason
      steps { number name state status { label } exitCode } artifacts { name size } } } }`;

export async function fetchRunAsOf(id: string, version: number): Promise<RunAsOf> {
  return (await gql<{ run: RunAsOf }>(RUN_AS_OF_QUERY, { id, version })).run;
}

export interface ConfigStatus {
  repository: string;
  branch: string;
  commit: string | null;
  syncedAt: string | null;
  fetchProblem: string | null;
  fetchProblemAt: string | null;
  lastRejection: {
    commit: string;
    at: string;
    errors: { file: string; line: number | null; field: string; message: string }[];
  } | null;
}

export interface SystemState {
  draining: boolean;
  configCommit: string | null;
}

export const SYSTEM_QUERY = `query System { status { draining configCommit } }`;
export const CONFIG_QUERY = `query Config { config { repository branch commit syncedAt fetchProblem fetchProblemAt
  lastRejection { commit at errors { file line field message } } } }`;

export async function fetchSystem(): Promise<SystemState> {
  return (await gql<{ status: SystemState }>(SYSTEM_QUERY)).status;
}

export async function fetchConfig(): Promise<ConfigStatus> {
  return (await gql<{ config: ConfigStatus }>(CONFIG_QUERY)).config;
}

export const DRAIN = `mutation Drain { drain { draining } }`;
export const UNDRAIN = `mutation Undrain { undrain { draining } }`;

export async function setDraining(draining: boolean): Promise<boolean> {
  const answer = await gql<{ drain?: { draining: boolean }; undrain?: { draining: boolean } }>(
    draining ? DRAIN : UNDRAIN,
  );
  return (answer.drain ?? answer.undrain)?.draining ?? draining;
}

export interface Delivery {
  id: string;
  provider: string;
  deliveryId: string;
  event: string;
  receivedAt: string;
  processed: boolean;
  outcome: string;
  runIds: string[];
  reason: string;
  processedAt: string | null;
  replays: number;
}

export const DELIVERIES_QUERY = `query Deliveries($first: Int!) { deliveries(first: $first) {
  id provider deliveryId event receivedAt processed outcome runIds reason processedAt replays } }`;

export async function fetchDeliveries(first = 50): Promise<Delivery[]> {
  return (await gql<{ deliveries: Delivery[] }>(DELIVERIES_QUERY, { first })).deliveries;
}

export type ReplayResult =
  | { __typename: "DeliveryReplayed"; outcome: string; runIds: string[]; reason: string }
  | { __typename: "DeliveryNotFound" | "InvalidInput" | "Unavailable"; message: string; code: string };

export const REPLAY_DELIVERY = `mutation ReplayDelivery($id: ID!) { replayDelivery(id: $id) { __typename
  ... on DeliveryReplayed { outcome runIds reason } ... on Problem { message code } } }`;

export async function replayDelivery(id: string): Promise<ReplayResult> {
  return (await gql<{ replayDelivery: ReplayResult }>(REPLAY_DELIVERY, { id })).replayDelivery;
}
