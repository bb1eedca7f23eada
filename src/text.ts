// Putting user-controlled values into messages, warnings and log fields: quoted, escaped, bounded. No I/O, so the
// engine uses it as well as the adapters and the server.

/** Our own warnings and denial details stay under this, so kubectl shows them on one line. */
export const MAX_WARNING_LENGTH = 119;

/** `text` cut to at most `max` characters, with a visible `…` where it was cut. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A value as it appears in a message: JSON-quoted (so newlines and quotes are visible) and at most `max` chars. */
export function quote(value: unknown, max = 64): string {
  if (typeof value === 'string') {
    const cut = value.length > max ? `${value.slice(0, max)}…` : value;
    return JSON.stringify(cut);
  }
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  return typeof value;
}

/** Admission warnings must stay short (the apiserver truncates and kubectl prints them raw). */
export function warning(text: string): string {
  return clip(text, MAX_WARNING_LENGTH);
}

/** Names for a message: each quoted, at most `max` of them, then how many more. */
export function quoteList(values: readonly string[], max = 10): string {
  const shown = values.slice(0, max).map((v) => quote(v, 40));
  return values.length > max ? `${shown.join(', ')} and ${values.length - max} more` : shown.join(', ');
}

/**
 * Characters a terminal acts on or that reorder what the reader sees: C0, DEL, C1 (U+009B is an 8-bit CSI), line and
 * paragraph separators, bidi embeddings/overrides/isolates and marks. kubectl prints warnings and denial messages
 * raw, operators read logs in terminals, and pod names are not validated yet at mutating admission (SECURITY.md, 7).
 */
const UNSAFE_CHARS = '\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u200e\\u200f\\u061c\\u202a-\\u202e\\u2066-\\u2069';
const HAS_UNSAFE = new RegExp(`[${UNSAFE_CHARS}]`);
const UNSAFE = new RegExp(`[${UNSAFE_CHARS}]`, 'g');

/** `text` with every unsafe character written as a visible `\uXXXX`; the same string when there is none. */
export function escapeUnsafeText(text: string): string {
  if (!HAS_UNSAFE.test(text)) return text;
  return text.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * `text` fit for one line of a header or a log: runs of C0 and DEL become one space, other unsafe characters a
 * visible `\uXXXX` (escapeUnsafeText), so a reader sees they were there.
 */
export function oneLine(text: string): string {
  return escapeUnsafeText(text.replace(/[\u0000-\u001f\u007f]+/g, ' '));
}

/**
 * Text from a request or an error, fit for a log field or a header: one line (oneLine), at most `max` characters.
 * pino escapes only C0 in log lines; C1, separators and bidi controls would reach an operator's terminal.
 */
export function printable(text: string, max: number): string {
  return clip(oneLine(text), max);
}
