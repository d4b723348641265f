import { createTransport, NETWORK_ERROR, RequestError, UNAUTHENTICATED, type Sink } from "./transport";
import { followLog, live, LogCursor, RunVersions, type LogChunk } from "./live";

function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

describe("GraphQL over HTTP", () => {
  it("posts the query with the session cookie and answers the data", async () => {
    const calls: RequestInit[] = [];
    const t = createTransport({
      fetch: async (_url, init) => {
        calls.push(init ?? {});
        return jsonResponse({ data: { pipelines: [] } });
      },
    });
    await expect(t.request("{ pipelines { name } }")).resolves.toEqual({ pipelines: [] });
    expect(calls[0]?.credentials).toBe("same-origin");
    expect(JSON.parse(String(calls[0]?.body))).toEqual({ query: "{ pipelines { name } }", variables: {} });
  });

  it("sends the user to log in when the server says UNAUTHENTICATED", async () => {
    const onUnauthenticated = vi.fn();
    const t = createTransport({
      onUnauthenticated,
      fetch: async () => jsonResponse({ data: null, errors: [{ message: "log in", extensions: { code: UNAUTHENTICATED } }] }),
    });
    await expect(t.request("{ viewer { name } }")).rejects.toMatchObject({ code: UNAUTHENTICATED });
    expect(onUnauthenticated).toHaveBeenCalledOnce();
  });

  it("names the problem when the server cannot be reached", async () => {
    const t = createTransport({ fetch: async () => Promise.reject(new TypeError("Failed to fetch")) });
    const error = await t.request("{ x }").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestError);
    expect(error).toMatchObject({ code: NETWORK_ERROR, message: expect.stringContaining("Failed to fetch") });
  });
});

/** A scripted server side: each subscribe() call is recorded with its variables and sink. */
function fakeSubscriptions() {
  const calls: { variables: Record<string, unknown>; sink: Sink<unknown>; stopped: boolean }[] = [];
  const subscribe = <T,>(_q: string, variables: Record<string, unknown>, sink: Sink<T>) => {
    const call = { variables, sink: sink as Sink<unknown>, stopped: false };
    calls.push(call);
    return () => {
      call.stopped = true;
    };
  };
  return { calls, subscribe };
}

const chunk = (offset: number, text: string, complete = false): { logAppended: LogChunk } => ({
  logAppended: { offset, text, nextOffset: offset + new TextEncoder().encode(text).length, complete },
});

describe("live log resume", () => {
  it("resubscribes from the last byte received after a lost connection, with no repeat and no gap", async () => {
    vi.useFakeTimers();
    const server = fakeSubscriptions();
    const received: string[] = [];
    let completed = false;
    followLog({
      jobId: "j1",
      subscribe: server.subscribe,
      backoff: () => 100,
      onText: (t) => received.push(t),
      onComplete: () => (completed = true),
    });
    expect(server.calls[0]?.variables).toEqual({ jobId: "j1", fromOffset: 0 });
    server.calls[0]?.sink.next(chunk(0, "héllo\n"));
    server.calls[0]?.sink.next(chunk(7, "line 2\n"));
    server.calls[0]?.sink.error(new RequestError("closed", NETWORK_ERROR));
    expect(server.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(server.calls[1]?.variables).toEqual({ jobId: "j1", fromOffset: 14 });
    // The server repeats part of what was sent before: only the new bytes are shown.
    server.calls[1]?.sink.next(chunk(7, "line 2\nline 3\n"));
    server.calls[1]?.sink.next(chunk(21, "end\n", true));
    expect(received.join("")).toBe("héllo\nline 2\nline 3\nend\n");
    expect(completed).toBe(true);
    vi.useRealTimers();
  });

  it("does not retry a refusal by the server", () => {
    const server = fakeSubscriptions();
    const onError = vi.fn();
    followLog({ jobId: "j1", subscribe: server.subscribe, onText: () => {}, onError });
    server.calls[0]?.sink.error(new RequestError("no", "FORBIDDEN"));
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ code: "FORBIDDEN" }));
    expect(server.calls).toHaveLength(1);
  });

  it("stops for good when the page lets go", async () => {
    vi.useFakeTimers();
    const server = fakeSubscriptions();
    const stop = followLog({ jobId: "j1", subscribe: server.subscribe, backoff: () => 10, onText: () => {} });
    server.calls[0]?.sink.error(new RequestError("closed", NETWORK_ERROR));
    stop();
    await vi.advanceTimersByTimeAsync(50);
    expect(server.calls).toHaveLength(1);
    vi.useRealTimers();
  });
});

describe("LogCursor", () => {
  it("cuts a repeated prefix on byte (not character) boundaries", () => {
    const cursor = new LogCursor(3); // after "aé" (1 + 2 bytes)
    expect(cursor.accept({ offset: 0, text: "aéb", nextOffset: 4, complete: false })).toBe("b");
    expect(cursor.accept({ offset: 0, text: "aéb", nextOffset: 4, complete: false })).toBe("");
    expect(cursor.accept({ offset: 9, text: "x", nextOffset: 10, complete: false })).toBeNull();
  });
});

describe("run updates after a reconnect", () => {
  it("asks the page to re-read what it shows, and drops updates older than what it has", async () => {
    vi.useFakeTimers();
    const server = fakeSubscriptions();
    const versions = new RunVersions();
    const shown: number[] = [];
    const onResync = vi.fn();
    live<{ v: number }>({
      query: "subscription { x }",
      variables: () => ({}),
      subscribe: server.subscribe,
      backoff: () => 5,
      onResync,
      onData: ({ v }) => {
        if (versions.accept("r1", v)) shown.push(v);
      },
    });
    server.calls[0]?.sink.next({ v: 3 });
    // The first subscription holds: the page re-reads once (what changed between its
    // first read and the subscription's start would be missed otherwise).
    expect(onResync).toHaveBeenCalledOnce();
    onResync.mockClear();
    server.calls[0]?.sink.error(new RequestError("closed", NETWORK_ERROR));
    await vi.advanceTimersByTimeAsync(5);
    // A reconnect that fails at once asks for nothing.
    await vi.advanceTimersByTimeAsync(500);
    server.calls[1]?.sink.error(new RequestError("refused", NETWORK_ERROR));
    await vi.advanceTimersByTimeAsync(5);
    expect(server.calls).toHaveLength(3);
    expect(onResync).not.toHaveBeenCalled();
    // One that holds for a second does, once.
    await vi.advanceTimersByTimeAsync(1000);
    expect(onResync).toHaveBeenCalledOnce();
    server.calls[2]?.sink.next({ v: 3 });
    expect(onResync).toHaveBeenCalledOnce();
    server.calls[2]?.sink.next({ v: 5 });
    server.calls[2]?.sink.next({ v: 4 });
    expect(shown).toEqual([3, 5]);
    vi.useRealTimers();
  });
});

describe("a first subscription", () => {
  it("asks the page to re-read once it holds, even with no message", async () => {
    vi.useFakeTimers();
    const server = fakeSubscriptions();
    const onResync = vi.fn();
    live({ query: "subscription { x }", variables: () => ({}), subscribe: server.subscribe, onResync, onData: () => {} });
    expect(onResync).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1000);
    expect(onResync).toHaveBeenCalledOnce();
    await vi.advanceTimersByTimeAsync(5000);
    expect(onResync).toHaveBeenCalledOnce();
    vi.useRealTimers();
  });
});
