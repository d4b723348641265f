/**
 * The one transport module: GraphQL over HTTP (same-origin cookie) and GraphQL
 * subscriptions over WebSocket (graphql-transport-ws). Pages and stores never call
 * fetch or open sockets themselves; they use `gql`, `live` and the helpers here.
 */
import { createClient, type Client } from "graphql-ws";

export interface GraphQLErrorBody {
  message: string;
  path?: ReadonlyArray<string | number>;
  extensions?: { code?: string; [key: string]: unknown };
}

/** A GraphQL request that answered errors (or could not be made at all). */
export class RequestError extends Error {
  readonly code: string;
  readonly errors: readonly GraphQLErrorBody[];
  constructor(message: string, code: string, errors: readonly GraphQLErrorBody[] = []) {
    super(message);
    this.name = "RequestError";
    this.code = code;
    this.errors = errors;
  }
}

export interface Sink<T> {
  next(value: T): void;
  error(error: RequestError): void;
  complete(): void;
}

/** A raw subscription: starts at once, returns how to stop it. */
export type Subscribe = <T>(
  query: string,
  variables: Record<string, unknown>,
  sink: Sink<T>,
) => () => void;

export interface Transport {
  request<T>(query: string, variables?: Record<string, unknown>): Promise<T>;
  subscribe: Subscribe;
  /** A same-origin GET of a REST resource as text (an artifact, the provenance key). */
  getText(path: string): Promise<string>;
}

export interface TransportOptions {
  /** Base of the server ("" = this origin). */
  baseUrl?: string;
  fetch?: typeof fetch;
  /** WebSocket URL of /graphql; by default derived from the page's location. */
  wsUrl?: string;
  webSocketImpl?: unknown;
  /** Called when the server says the request needs a login. */
  onUnauthenticated?: () => void;
}

export const UNAUTHENTICATED = "UNAUTHENTICATED";
export const FORBIDDEN = "FORBIDDEN";
export const NETWORK_ERROR = "NETWORK_ERROR";

function errorOf(errors: readonly GraphQLErrorBody[]): RequestError {
  const first = errors[0];
  const code = first?.extensions?.code ?? "GRAPHQL_ERROR";
  return new RequestError(errors.map((e) => e.message).join("; ") || "request failed", code, errors);
}

function defaultWsUrl(baseUrl: string): string {
  const base = new URL(baseUrl || "/", window.location.href);
  base.protocol = base.protocol === "https:" ? "wss:" : "ws:";
  base.pathname = `${base.pathname.replace(/\/$/, "")}/graphql`;
  return base.toString();
}

/** The login route of the server, returning to `next` (a path of this app). */
export function loginUrl(next: string = currentPath()): string {
  return `/auth/login?next=${encodeURIComponent(next)}`;
}

export function currentPath(): string {
  const { pathname, search, hash } = window.location;
  return `${pathname}${search}${hash}`;
}

export function goToLogin(): void {
  window.location.assign(loginUrl());
}

export function createTransport(options: TransportOptions = {}): Transport {
  const baseUrl = options.baseUrl ?? "";
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  const onUnauthenticated = options.onUnauthenticated ?? goToLogin;
  let ws: Client | undefined;

  const fail = (error: RequestError): RequestError => {
    if (error.code === UNAUTHENTICATED) onUnauthenticated();
    return error;
  };

  async function request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    let response: Response;
    try {
      response = await doFetch(`${baseUrl}/graphql`, {
        method: "POST",
        credentials: "same-origin",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ query, variables }),
      });
    } catch (cause) {
      throw new RequestError(`Cannot reach the server: ${String(cause)}`, NETWORK_ERROR);
    }
    let body: { data?: T | null; errors?: GraphQLErrorBody[] } | undefined;
    try {
      body = (await response.json()) as typeof body;
    } catch {
      body = undefined;
    }
    if (body?.errors?.length) throw fail(errorOf(body.errors));
    if (response.status === 401) throw fail(new RequestError("Log in to see this.", UNAUTHENTICATED));
    if (response.status === 403) throw new RequestError("You may not see this.", FORBIDDEN);
    if (!response.ok || body?.data == null) {
      throw new RequestError(`The server answered ${response.status} ${response.statusText}`.trim(), `HTTP_${response.status}`);
    }
    return body.data;
  }

  function client(): Client {
    ws ??= createClient({
      url: options.wsUrl ?? defaultWsUrl(baseUrl),
      lazy: true,
      // Reconnecting is done per subscription (see live.ts), from where it got to.
      retryAttempts: 0,
      ...(options.webSocketImpl ? { webSocketImpl: options.webSocketImpl } : {}),
    });
    return ws;
  }

  const subscribe: Subscribe = <T>(query: string, variables: Record<string, unknown>, sink: Sink<T>) => {
    let done = false;
    const stop = client().subscribe<T>(
      { query, variables },
      {
        next(result) {
          if (done) return;
          if (result.errors?.length) {
            done = true;
            sink.error(fail(errorOf(result.errors as GraphQLErrorBody[])));
          } else if (result.data) sink.next(result.data as T);
        },
        error(cause) {
          if (done) return;
          done = true;
          if (Array.isArray(cause)) sink.error(fail(errorOf(cause as GraphQLErrorBody[])));
          else {
            const reason = cause instanceof Error ? cause.message : describeClose(cause);
            sink.error(new RequestError(`Live updates lost: ${reason}`, NETWORK_ERROR));
          }
        },
        complete() {
          if (done) return;
          done = true;
          sink.complete();
        },
      },
    );
    return () => {
      done = true;
      stop();
    };
  };

  async function getText(path: string): Promise<string> {
    let response: Response;
    try {
      response = await doFetch(`${baseUrl}${path}`, { credentials: "same-origin" });
    } catch (cause) {
      throw new RequestError(`Cannot reach the server: ${String(cause)}`, NETWORK_ERROR);
    }
    if (response.status === 401) throw fail(new RequestError("Log in to see this.", UNAUTHENTICATED));
    if (!response.ok) {
      let detail = `${response.status} ${response.statusText}`.trim();
      try {
        const body = (await response.json()) as { detail?: string; code?: string };
        if (body.detail) detail = body.detail;
      } catch {
        // not JSON: keep the status line
      }
      throw new RequestError(`${path}: ${detail}`, response.status === 403 ? FORBIDDEN : `HTTP_${response.status}`);
    }
    return response.text();
  }

  return { request, subscribe, getText };
}

function describeClose(event: unknown): string {
  if (event && typeof event === "object" && "code" in event) {
    const { code, reason } = event as { code: number; reason?: string };
    return `connection closed (${code}${reason ? `: ${reason}` : ""})`;
  }
  return "connection failed";
}

let shared: Transport | undefined;

/** The app's transport (one per page load). Tests install their own with `setTransport`. */
export function transport(): Transport {
  shared ??= createTransport();
  return shared;
}

export function setTransport(next: Transport | undefined): void {
  shared = next;
}

/** Shorthand for a query or mutation through the app's transport. */
export function gql<T>(query: string, variables?: Record<string, unknown>): Promise<T> {
  return transport().request<T>(query, variables);
}
