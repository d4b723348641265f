/**
 * ANSI escape sequences → styled segments. SGR colours (16, 256 and 24-bit), bold, dim,
 * italic and underline are kept; every other escape (cursor moves, erase, OSC titles)
 * is dropped. A carriage return keeps what was printed after it (progress bars).
 */

export interface AnsiStyle {
  fg?: string;
  bg?: string;
  bold?: boolean;
  dim?: boolean;
  italic?: boolean;
  underline?: boolean;
}

export interface Segment {
  text: string;
  style: AnsiStyle;
}

const PALETTE16 = [
  "#000000", "#cd3131", "#0dbc79", "#e5e510", "#2472c8", "#bc3fbc", "#11a8cd", "#e5e5e5",
  "#666666", "#f14c4c", "#23d18b", "#f5f543", "#3b8eea", "#d670d6", "#29b8db", "#ffffff",
];

function color256(n: number): string {
  if (n < 16) return PALETTE16[n] ?? "inherit";
  if (n < 232) {
    const i = n - 16;
    const level = (v: number): number => (v === 0 ? 0 : 55 + v * 40);
    return `rgb(${level(Math.floor(i / 36))}, ${level(Math.floor(i / 6) % 6)}, ${level(i % 6)})`;
  }
  const g = 8 + (n - 232) * 10;
  return `rgb(${g}, ${g}, ${g})`;
}

// CSI ... final byte, OSC ... BEL/ST, and single-character escapes.
// eslint-disable-next-line no-control-regex
const ESCAPE = /\x1b(?:\[([0-9;:?]*)([@-~])|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])/g;

function applySgr(params: string, style: AnsiStyle): AnsiStyle {
  const codes = params === "" ? [0] : params.split(/[;:]/).map((p) => (p === "" ? 0 : Number(p)));
  let next: AnsiStyle = { ...style };
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i] ?? 0;
    if (c === 0) next = {};
    else if (c === 1) next.bold = true;
    else if (c === 2) next.dim = true;
    else if (c === 3) next.italic = true;
    else if (c === 4) next.underline = true;
    else if (c === 22) {
      delete next.bold;
      delete next.dim;
    } else if (c === 23) delete next.italic;
    else if (c === 24) delete next.underline;
    else if (c >= 30 && c <= 37) next.fg = PALETTE16[c - 30];
    else if (c >= 90 && c <= 97) next.fg = PALETTE16[c - 90 + 8];
    else if (c === 39) delete next.fg;
    else if (c >= 40 && c <= 47) next.bg = PALETTE16[c - 40];
    else if (c >= 100 && c <= 107) next.bg = PALETTE16[c - 100 + 8];
    else if (c === 49) delete next.bg;
    else if (c === 38 || c === 48) {
      const key = c === 38 ? "fg" : "bg";
      if (codes[i + 1] === 5 && codes[i + 2] !== undefined) {
        next[key] = color256(codes[i + 2] ?? 0);
        i += 2;
      } else if (codes[i + 1] === 2 && codes[i + 4] !== undefined) {
        next[key] = `rgb(${codes[i + 2]}, ${codes[i + 3]}, ${codes[i + 4]})`;
        i += 4;
      }
    }
  }
  return next;
}

/** One line (no newline) → segments, continuing from the style the line starts in. */
export function parseAnsi(line: string, start: AnsiStyle = {}): { segments: Segment[]; end: AnsiStyle } {
  const cr = line.lastIndexOf("\r", line.length - 2);
  let text = cr >= 0 ? line.slice(cr + 1) : line;
  if (text.endsWith("\r")) text = text.slice(0, -1);
  const segments: Segment[] = [];
  let style = start;
  let last = 0;
  ESCAPE.lastIndex = 0;
  for (let m = ESCAPE.exec(text); m; m = ESCAPE.exec(text)) {
    if (m.index > last) segments.push({ text: text.slice(last, m.index), style });
    if (m[2] === "m") style = applySgr(m[1] ?? "", style);
    last = ESCAPE.lastIndex;
  }
  if (last < text.length) segments.push({ text: text.slice(last), style });
  return { segments, end: style };
}

/** The text without any escape sequence (for search and copy). */
export function stripAnsi(text: string): string {
  return text.replace(ESCAPE, "");
}

export function styleCss(style: AnsiStyle): Record<string, string> {
  const css: Record<string, string> = {};
  if (style.fg) css.color = style.fg;
  if (style.bg) css["background-color"] = style.bg;
  if (style.bold) css["font-weight"] = "700";
  if (style.dim) css.opacity = "0.7";
  if (style.italic) css["font-style"] = "italic";
  if (style.underline) css["text-decoration"] = "underline";
  return css;
}
