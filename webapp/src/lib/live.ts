/**
 * Live updates that survive a lost connection. `live` (re)subscribes with variables
 * computed at each attempt, so a subscription resumes from where it got to (a log from
 * its last byte offset); `followLog` and `RunVersions` make sure that after a reconnect
 * nothing is shown twice and nothing is missed.
 */
import { NETWORK_ERROR, RequestError, transport, type Subscribe } from "./transport";

export type LiveStatus = "connecting" | "live" | "reconnecting" | "done" | "failed";

export interface LiveOptions<T> {
  query: string;
  /** Computed at every (re)subscription: this is where resuming happens. */
  variables: () => Record<string, unknown>;
  onData: (value: T) => void;
  /** Once a subscription holds, first or after a reconnect: updates may have been missed
   *  (between the page's first read and the subscription's start, or while away);
   *  re-read what is shown. */
  onResync?: () => void;
  onComplete?: () => void;
  /** A refusal by the server (not a lost connection): no retry. */
  onError?: (error: RequestError) => void;
  onStatus?: (status: LiveStatus) => void;
  /** Milliseconds to wait before the n-th reconnect (n from 1). */
  backoff?: (attempt: number) => number;
  subscribe?: Subscribe;
}

export const defaultBackoff = (attempt: number): number =>
  Math.min(30_000, 500 * 2 ** Math.min(attempt - 1, 6)) * (0.75 + Math.random() * 0.5);

/** Subscribe, and on a lost connection subscribe again (with fresh variables) until stopped. */
export function live<T>(options: LiveOptions<T>): () => void {
  const subscribe = options.subscribe ?? transport().subscribe;
  const backoff = options.backoff ?? defaultBackoff;
  let stopped = false;
  let attempt = 0;
  let unsubscribe: (() => void) | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const status = (s: LiveStatus): void => options.onStatus?.(s);

  // Once a subscription holds (its first message, or a second without error) the page
  // re-reads what it shows: what changed after its first read and before the server
  // listened (a short run that ended meanwhile), or while the connection was lost. Not
  // at every failed attempt.
  let resync: ReturnType<typeof setTimeout> | undefined;
  const resyncNow = (): void => {
    if (resync === undefined) return;
    clearTimeout(resync);
    resync = undefined;
    options.onResync?.();
  };

  const start = (): void => {
    if (stopped) return;
    const resuming = attempt > 0;
    status(resuming ? "reconnecting" : "connecting");
    unsubscribe = subscribe<T>(options.query, options.variables(), {
      next(value) {
        if (stopped) return;
        resyncNow();
        attempt = 0;
        status("live");
        options.onData(value);
      },
      error(error) {
        if (stopped) return;
        clearTimeout(resync);
        resync = undefined;
        if (error.code !== NETWORK_ERROR) {
          status("failed");
          options.onError?.(error);
          return;
        }
        attempt += 1;
        status("reconnecting");
        timer = setTimeout(start, backoff(attempt));
      },
      complete() {
        if (stopped) return;
        resyncNow();
        status("done");
        options.onComplete?.();
      },
    });
    resync = setTimeout(resyncNow, 1000);
    if (!resuming) status("live");
  };

  start();
  return () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
    clearTimeout(resync);
    unsubscribe?.();
  };
}

export interface LogChunk {
  offset: number;
  text: string;
  nextOffset: number;
  complete: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Where a log has got to, in bytes. `accept` answers the part of a chunk not seen yet
 * ("" for a repeat), or null when the chunk starts after a gap (resubscribe then).
 */
export class LogCursor {
  constructor(public offset = 0) {}

  accept(chunk: LogChunk): string | null {
    if (chunk.offset > this.offset) return null;
    if (chunk.nextOffset <= this.offset) return "";
    let text = chunk.text;
    if (chunk.offset < this.offset) {
      text = decoder.decode(encoder.encode(text).subarray(this.offset - chunk.offset));
    }
    this.offset = chunk.nextOffset;
    return text;
  }
}

export const LOG_SUBSCRIPTION = `subscription Log($jobId: ID!, $fromOffset: Int!) {
  logAppended(jobId: $jobId, fromOffset: $fromOffset) { offset text nextOffset complete }
}`;

export interface FollowLogOptions {
  jobId: string;
  fromOffset?: number;
  /** New text, never repeated, in order. */
  onText: (text: string) => void;
  /** The job ended and every byte was sent. */
  onComplete?: () => void;
  onError?: (error: RequestError) => void;
  onStatus?: (status: LiveStatus) => void;
  backoff?: (attempt: number) => number;
  subscribe?: Subscribe;
}

/** A job's log, live, resuming after a disconnect from the last byte received. */
export function followLog(options: FollowLogOptions): () => void {
  const cursor = new LogCursor(options.fromOffset ?? 0);
  let stop: () => void = () => {};
  let ended = false;
  const begin = (): void => {
    stop = live<{ logAppended: LogChunk }>({
      query: LOG_SUBSCRIPTION,
      variables: () => ({ jobId: options.jobId, fromOffset: cursor.offset }),
      onData({ logAppended: chunk }) {
        const text = cursor.accept(chunk);
        if (text === null) {
          // A gap (should not happen): start again from what we have.
          stop();
          begin();
          return;
        }
        if (text) options.onText(text);
        if (chunk.complete && !ended) {
          ended = true;
          options.onComplete?.();
        }
      },
      onComplete() {
        if (!ended) {
          ended = true;
          options.onComplete?.();
        }
      },
      ...(options.onError ? { onError: options.onError } : {}),
      ...(options.onStatus ? { onStatus: options.onStatus } : {}),
      ...(options.backoff ? { backoff: options.backoff } : {}),
      ...(options.subscribe ? { subscribe: options.subscribe } : {}),
    });
  };
  begin();
  return () => stop();
}

/** Keeps the newest version seen of each run so late or repeated updates are dropped. */
export class RunVersions {
  private readonly seen = new Map<string, number>();

  /** True when this update is newer than anything seen of that run. */
  accept(id: string, version: number): boolean {
    const known = this.seen.get(id);
    if (known !== undefined && known >= version) return false;
    this.seen.set(id, version);
    return true;
  }

  forget(): void {
    this.seen.clear();
  }
}
