/**
 * For the pages' component tests: a scripted server behind the app's one transport
 * (answers by operation name, records every request and subscription), and the page
 * rendered in a router at a path.
 */
import { MemoryRouter, Route, createMemoryHistory } from "@solidjs/router";
import { render } from "@solidjs/testing-library";
import type { Component } from "solid-js";
import { RequestError, setTransport, type Sink } from "../../lib/transport";
import { resetViewer } from "../session/session";

export type Answer = (variables: Record<string, unknown>) => unknown;

export interface FakeServer {
  requests: { operation: string; variables: Record<string, unknown> }[];
  subscriptions: { operation: string; sink: Sink<unknown>; stopped: boolean }[];
  answer(operation: string, reply: Answer | unknown): void;
  asked(operation: string): Record<string, unknown>[];
}

function operationName(query: string): string {
  return /^\s*(?:query|mutation|subscription)\s+(\w+)/.exec(query)?.[1] ?? "anonymous";
}

export function fakeServer(): FakeServer {
  const answers = new Map<string, Answer>();
  const server: FakeServer = {
    requests: [],
    subscriptions: [],
    answer(operation, reply) {
      answers.set(operation, typeof reply === "function" ? (reply as Answer) : () => reply);
    },
    asked(operation) {
      return server.requests.filter((r) => r.operation === operation).map((r) => r.variables);
    },
  };
  setTransport({
    async request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
      const operation = operationName(query);
      server.requests.push({ operation, variables });
      const answer = answers.get(operation);
      if (!answer) throw new RequestError(`no answer scripted for ${operation}`, "TEST");
      const value = answer(variables);
      if (value instanceof Error) throw value;
      return value as T;
    },
    async getText(path: string): Promise<string> {
      throw new RequestError(`no text scripted for ${path}`, "TEST");
    },
    subscribe<T>(query: string, _variables: Record<string, unknown>, sink: Sink<T>) {
      const entry = { operation: operationName(query), sink: sink as Sink<unknown>, stopped: false };
      server.subscriptions.push(entry);
      return () => {
        entry.stopped = true;
      };
    },
  });
  resetViewer();
  return server;
}

export function renderAt(path: string, route: string, page: Component) {
  const history = createMemoryHistory();
  history.set({ value: path });
  return render(() => (
    <MemoryRouter history={history}>
      <Route path={route} component={page} />
    </MemoryRouter>
  ));
}
