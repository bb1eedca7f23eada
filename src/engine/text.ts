// Putting user-controlled values into messages and warnings: quoted, escaped, bounded.

export const MAX_WARNING_LENGTH = 119;

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
  return text.length > MAX_WARNING_LENGTH ? `${text.slice(0, MAX_WARNING_LENGTH - 1)}…` : text;
}

/** Names for a message: each quoted, at most `max` of them, then how many more. */
export function quoteList(values: readonly string[], max = 10): string {
  const shown = values.slice(0, max).map((v) => quote(v, 40));
  return values.length > max ? `${shown.join(', ')} and ${values.length - max} more` : shown.join(', ');
}
