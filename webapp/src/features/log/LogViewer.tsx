import { createMemo, createSignal, For, onCleanup, onMount, Show, type JSX } from "solid-js";
import { createStore, produce } from "solid-js/store";
import type { Step } from "../../lib/api";
import { rawLogUrl } from "../../lib/api";
import { followLog, type LiveStatus } from "../../lib/live";
import type { Subscribe } from "../../lib/transport";
import { durationMs, formatDuration } from "../../lib/format";
import { StatusBadge } from "../../components/StatusBadge";
import { styleCss } from "./ansi";
import { lineFromHash, LogParser, searchLines, splitMatches, type LogLine, type LogSection } from "./model";

/** Lines of one section drawn at most at first (the latest); more on request. */
export const WINDOW = 2000;

export interface LogViewerProps {
  jobId: string;
  steps?: readonly Step[];
  /** Where the log comes from (tests give their own); the app's transport otherwise. */
  subscribe?: Subscribe;
  /** Lines of a section drawn at first (default WINDOW). */
  window?: number;
}

export function LogViewer(props: LogViewerProps): JSX.Element {
  const [doc, setDoc] = createStore<{ sections: LogSection[] }>({ sections: [] });
  const [collapsed, setCollapsed] = createSignal<Record<number, boolean>>({});
  // Which of a section's lines are drawn, so big logs stay fast: section → [from, to)
  // (to null: up to the end, growing as lines arrive). None: the last `window` lines.
  const [ranges, setRanges] = createSignal<Record<number, { from: number; to: number | null }>>({});
  const size = (): number => props.window ?? WINDOW;
  const rangeOf = (section: LogSection): [number, number] => {
    const length = section.lines.length;
    const r = ranges()[section.index];
    if (!r) return [Math.max(0, length - size()), length];
    return [Math.min(r.from, length), r.to === null ? length : Math.min(r.to, length)];
  };
  const setRange = (index: number, from: number, to: number | null): void => {
    setRanges((r) => ({ ...r, [index]: { from, to } }));
  };
  const [status, setStatus] = createSignal<LiveStatus | "complete">("connecting");
  const [error, setError] = createSignal<string>("");
  const [follow, setFollow] = createSignal(true);
  const [query, setQuery] = createSignal("");
  const [current, setCurrent] = createSignal(0);
  const [target, setTarget] = createSignal<number | null>(lineFromHash(window.location.hash));
  let body: HTMLDivElement | undefined;
  let targetShown = false;
  const parser = new LogParser();
  const sectionOfLine = new Map<number, number>();

  const stepOf = (n: number | null): Step | undefined =>
    n === null ? undefined : props.steps?.find((s) => s.number === n);

  const lineElement = (n: number): HTMLElement | null => body?.querySelector(`[data-line="${n}"]`) ?? null;

  const reveal = (n: number): void => {
    const section = sectionOfLine.get(n);
    if (section !== undefined && collapsed()[section]) setCollapsed((c) => ({ ...c, [section]: false }));
    const shown = section !== undefined ? doc.sections[section] : undefined;
    if (shown?.lines.length) {
      const at = n - (shown.lines[0]?.number ?? n);
      const [from, to] = rangeOf(shown);
      if (at < from || at >= to) setRange(shown.index, Math.max(0, at - size() / 2), at + size() / 2);
    }
    queueMicrotask(() => lineElement(n)?.scrollIntoView?.({ block: "center" }));
  };

  const add = (text: string, final = false): void => {
    const added = parser.push(text, final);
    if (added.length === 0) return;
    setDoc(
      "sections",
      produce((sections) => {
        for (const { line, section, newSection } of added) {
          if (newSection) {
            sections.push(newSection);
            // A step that had succeeded when its output arrives starts folded.
            if (stepOf(newSection.step)?.state === "SUCCESS") setCollapsed((c) => ({ ...c, [newSection.index]: true }));
          }
          sections[section]?.lines.push(line);
          sectionOfLine.set(line.number, section);
        }
      }),
    );
    const wanted = target();
    if (wanted !== null && !targetShown && sectionOfLine.has(wanted)) {
      targetShown = true;
      setFollow(false);
      reveal(wanted);
    } else if (follow() && body) {
      const el = body;
      queueMicrotask(() => (el.scrollTop = el.scrollHeight));
    }
  };

  onMount(() => {
    const stop = followLog({
      jobId: props.jobId,
      ...(props.subscribe ? { subscribe: props.subscribe } : {}),
      onText: (t) => add(t),
      onComplete: () => {
        add("", true);
        setStatus("complete");
      },
      onError: (e) => setError(e.message),
      onStatus: (s) => setStatus((was) => (was === "complete" ? was : s)),
    });
    onCleanup(stop);
  });

  const matches = createMemo(() => searchLines(doc.sections, query()));
  const currentMatch = (): number | null => {
    const m = matches();
    return m.length ? (m[Math.min(Math.max(current(), 0), m.length - 1)] ?? null) : null;
  };
  const step = (delta: number): void => {
    const m = matches();
    if (!m.length) return;
    // The first Enter goes to the first match (or, with Shift, the last).
    const next = current() < 0 ? (delta > 0 ? 0 : m.length - 1) : (current() + delta + m.length) % m.length;
    setCurrent(next);
    setFollow(false);
    const n = m[next];
    if (n !== undefined) reveal(n);
  };

  const toggle = (index: number): void => {
    setCollapsed((c) => ({ ...c, [index]: !c[index] }));
  };
  const setAll = (value: boolean): void => {
    setCollapsed(Object.fromEntries(doc.sections.filter((s) => s.step !== null).map((s) => [s.index, value])));
  };

  const selectLine = (n: number, event: MouseEvent): void => {
    event.preventDefault();
    // The address names the job too, so the link opens this log wherever the run got to.
    const url = new URL(window.location.href);
    url.searchParams.set("job", props.jobId);
    url.hash = `L${n}`;
    window.history.replaceState(window.history.state, "", url);
    setTarget(n);
    setFollow(false);
  };

  const onScroll = (): void => {
    if (!body) return;
    const atBottom = body.scrollHeight - body.scrollTop - body.clientHeight < 24;
    if (!atBottom && follow()) setFollow(false);
  };

  const empty = (): boolean => doc.sections.length === 0;

  const Line = (p: { line: LogLine; header?: boolean }): JSX.Element => (
    <div
      class="log-line"
      classList={{ "log-target": target() === p.line.number, "log-current": currentMatch() === p.line.number }}
      data-line={p.line.number}
      id={`L${p.line.number}`}
    >
      <a class="log-ln" href={`#L${p.line.number}`} onClick={[selectLine, p.line.number]} aria-label={`Line ${p.line.number}`}>
        {p.line.number}
      </a>
      <span class="log-text">
        <Show
          when={query() && p.line.plain.toLowerCase().includes(query().toLowerCase())}
          fallback={<For each={p.line.segments}>{(s) => <span style={styleCss(s.style)}>{s.text}</span>}</For>}
        >
          <For each={splitMatches(p.line.plain, query())}>{(part) => (part.match ? <mark>{part.text}</mark> : part.text)}</For>
        </Show>
      </span>
    </div>
  );

  const Lines = (p: { section: LogSection }): JSX.Element => {
    const range = (): [number, number] => rangeOf(p.section);
    const more = (): number => size() * 5;
    return (
      <>
        <Show when={range()[0] > 0}>
          <button type="button" class="log-more" onClick={() => setRange(p.section.index, Math.max(0, range()[0] - more()), ranges()[p.section.index]?.to ?? null)}>
            Show {Math.min(range()[0], more())} earlier lines ({range()[0]} hidden)
          </button>
        </Show>
        <For each={p.section.lines.slice(range()[0], range()[1])}>{(line) => <Line line={line} />}</For>
        <Show when={range()[1] < p.section.lines.length}>
          <button
            type="button"
            class="log-more"
            onClick={() => setRange(p.section.index, range()[0], range()[1] + more() >= p.section.lines.length ? null : range()[1] + more())}
          >
            Show {Math.min(p.section.lines.length - range()[1], more())} later lines ({p.section.lines.length - range()[1]} hidden)
          </button>
        </Show>
      </>
    );
  };

  return (
    <div class="log-viewer">
      <div class="log-toolbar" role="toolbar" aria-label="Log">
        <input
          type="search"
          placeholder="Search the log"
          aria-label="Search the log"
          value={query()}
          onInput={(e) => {
            setQuery(e.currentTarget.value);
            setCurrent(-1);
          }}
          onKeyDown={(e) => {
            if (e.key === "Enter") {
              e.preventDefault();
              step(e.shiftKey ? -1 : 1);
            }
          }}
        />
        <Show when={query()}>
          <span class="muted log-count" aria-live="polite">
            {matches().length ? `${Math.min(Math.max(current(), 0), matches().length - 1) + 1} of ${matches().length}` : "no matches"}
          </span>
          <button type="button" class="btn btn-small" onClick={() => step(-1)} disabled={!matches().length} aria-label="Previous match">
            ↑
          </button>
          <button type="button" class="btn btn-small" onClick={() => step(1)} disabled={!matches().length} aria-label="Next match">
            ↓
          </button>
        </Show>
        <span class="spacer" />
        <button type="button" class="btn btn-small" onClick={() => setAll(false)}>
          Expand all
        </button>
        <button type="button" class="btn btn-small" onClick={() => setAll(true)}>
          Collapse all
        </button>
        <button
          type="button"
          class="btn btn-small"
          aria-pressed={follow()}
          onClick={() => {
            const on = !follow();
            setFollow(on);
            if (on && body) body.scrollTop = body.scrollHeight;
          }}
        >
          {follow() ? "Following" : "Follow"}
        </button>
        <a class="btn btn-small" href={rawLogUrl(props.jobId)} download={`${props.jobId}.log`}>
          Download raw log
        </a>
      </div>
      <Show when={error()}>
        <p class="error-banner" role="alert">
          {error()}
        </p>
      </Show>
      <div class="log-body" ref={body} onScroll={onScroll} tabindex="0" aria-label="Log output">
        <Show when={!empty()} fallback={<p class="log-empty">{status() === "complete" ? "This job printed nothing." : "Waiting for output…"}</p>}>
          <For each={doc.sections}>
            {(section) => (
              <Show when={section.step !== null} fallback={<Lines section={section} />}>
                <div class="log-section" classList={{ "log-section-collapsed": !!collapsed()[section.index] }}>
                  <button
                    type="button"
                    class="log-section-header"
                    aria-expanded={!collapsed()[section.index]}
                    onClick={() => toggle(section.index)}
                  >
                    <span class="log-chevron" aria-hidden="true">
                      {collapsed()[section.index] ? "▸" : "▾"}
                    </span>
                    <span class="log-section-title">
                      Step {section.step}: {section.title}
                    </span>
                    <Show when={stepOf(section.step)}>
                      {(s) => (
                        <>
                          <StatusBadge state={s().state} label={s().status.label} />
                          <span class="muted">{formatDuration(durationMs(s().startedAt, s().finishedAt))}</span>
                        </>
                      )}
                    </Show>
                  </button>
                  <Show when={!collapsed()[section.index]}>
                    <Lines section={section} />
                  </Show>
                </div>
              </Show>
            )}
          </For>
        </Show>
      </div>
      <p class="log-status muted" aria-live="polite">
        {status() === "complete" ? "End of log." : status() === "reconnecting" ? "Connection lost, reconnecting…" : status() === "failed" ? "" : "Live"}
      </p>
    </div>
  );
}
