// The README's "Metrics" table, read as data: what operators are told each metric is, and which label values it takes.
// Tests hold the server's registry and the chart's alerts to it.
import { readFileSync } from 'node:fs';

export interface DocumentedMetric {
  readonly name: string;
  readonly type: string;
  /** Label name → the values the README lists for it. */
  readonly labels: ReadonlyMap<string, readonly string[]>;
}

const README = new URL('../../README.md', import.meta.url);

/** The text of README.md's section under `heading` (e.g. "## Metrics"), up to the next heading of that level or above. */
export function readmeSection(heading: string): string {
  const text = readFileSync(README, 'utf8');
  const level = /^#+/.exec(heading)?.[0] ?? '##';
  const start = text.indexOf(`\n${heading}\n`);
  if (start === -1) throw new Error(`README.md has no "${heading}" section`);
  const next = text.slice(start + heading.length + 2).search(new RegExp(`^#{1,${level.length}} `, 'm'));
  return next === -1 ? text.slice(start) : text.slice(start, start + heading.length + 2 + next);
}

export function documentedMetrics(): DocumentedMetric[] {
  const rows = readmeSection('## Metrics').split('\n').filter((line) => /^\| `db_access_/.test(line));
  return rows.map((row) => {
    const [, nameCell = '', typeCell = '', labelCell = ''] = row.split('|').map((c) => c.trim());
    const labels = new Map<string, string[]>();
    for (const part of labelCell.split(';').map((p) => p.trim()).filter(Boolean)) {
      const [label = '', values = ''] = part.split(':');
      const name = /`([^`]+)`/.exec(label)?.[1];
      if (name) labels.set(name, [...values.matchAll(/`([^`]+)`/g)].map((m) => m[1]!));
    }
    return { name: nameCell.replaceAll('`', ''), type: typeCell, labels };
  });
}
