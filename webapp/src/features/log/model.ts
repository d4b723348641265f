/**
 * A job's log as the viewer shows it: numbered lines (ANSI parsed once) grouped in
 * sections, one per step. The server writes `── step N: name` before a step's output
 * and `── step N succeeded|failed: …` after it, and `── job <state>: <reason>` at the
 * end; text arrives in chunks that may cut a line anywhere.
 */
import { parseAnsi, stripAnsi, type AnsiStyle, type Segment } from "./ansi";

export interface LogLine {
  number: number;
  plain: string;
  segments: Segment[];
}

export interface LogSection {
  /** Index in the document; stable. */
  index: number;
  /** The step this section is, or null for text outside steps. */
  step: number | null;
  title: string;
  lines: LogLine[];
}

const STEP_START = /^── step (\d+): (.*)$/;
const JOB_END = /^── job /;

export class LogParser {
  private pending = "";
  private style: AnsiStyle = {};
  private lineCount = 0;
  private current: { step: number | null; index: number } | null = null;
  private sectionCount = 0;

  /**
   * Feed text; answers what to add: new lines, each with the section it goes in
   * (`newSection` when a section starts with it).
   */
  push(text: string, final = false): { line: LogLine; section: number; newSection?: LogSection }[] {
    this.pending += text;
    const parts = this.pending.split("\n");
    this.pending = parts.pop() ?? "";
    if (final && this.pending !== "") {
      parts.push(this.pending);
      this.pending = "";
    }
    return parts.map((raw) => this.line(raw));
  }

  private line(raw: string): { line: LogLine; section: number; newSection?: LogSection } {
    const { segments, end } = parseAnsi(raw, this.style);
    this.style = end;
    this.lineCount += 1;
    const plain = segments.map((s) => s.text).join("");
    const line: LogLine = { number: this.lineCount, plain, segments };
    const start = STEP_START.exec(stripAnsi(plain));
    let newSection: LogSection | undefined;
    if (start || JOB_END.test(plain) || this.current === null) {
      const step = start ? Number(start[1]) : null;
      const title = start ? (start[2] ?? "") : "";
      newSection = { index: this.sectionCount++, step, title, lines: [] };
      this.current = { step, index: newSection.index };
    }
    return { line, section: this.current!.index, ...(newSection ? { newSection } : {}) };
  }
}

/** Everything at once (tests, and a log read in one piece). */
export function parseLog(text: string): LogSection[] {
  const parser = new LogParser();
  const sections: LogSection[] = [];
  for (const { line, section, newSection } of parser.push(text, true)) {
    if (newSection) sections.push(newSection);
    sections[section]?.lines.push(line);
  }
  return sections;
}

/** Line numbers whose text contains the query (case-insensitive). */
export function searchLines(sections: readonly LogSection[], query: string): number[] {
  const needle = query.toLowerCase();
  if (!needle) return [];
  const found: number[] = [];
  for (const section of sections) {
    for (const line of section.lines) if (line.plain.toLowerCase().includes(needle)) found.push(line.number);
  }
  return found;
}

/** A line split around the matches of a query, for highlighting. */
export function splitMatches(text: string, query: string): { text: string; match: boolean }[] {
  if (!query) return [{ text, match: false }];
  const lower = text.toLowerCase();
  const needle = query.toLowerCase();
  const out: { text: string; match: boolean }[] = [];
  let at = 0;
  for (let i = lower.indexOf(needle); i >= 0; i = lower.indexOf(needle, i + needle.length)) {
    if (i > at) out.push({ text: text.slice(at, i), match: false });
    out.push({ text: text.slice(i, i + needle.length), match: true });
    at = i + needle.length;
  }
  if (at < text.length) out.push({ text: text.slice(at), match: false });
  return out;
}

/** `#L123` → 123. */
export function lineFromHash(hash: string): number | null {
  const m = /^#L(\d+)$/.exec(hash);
  return m ? Number(m[1]) : null;
}
