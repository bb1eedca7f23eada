// The README's "Metrics" table, read as data: what operators are told each metric is, and which label values it takes.
// Tests hold the server's registry and the chart's alerts to it.
import { readFileSync } from 'node:fs';

export interface DocumentedMetric {
  readonly name: string;
  readonly type: string;
  /** Label name → the values the README lists for it (empty when it lists none). */
  readonly labels: ReadonlyMap<string, readonly string[]>;
}

const README = new URL('../../README.md', import.meta.url);

export function documentedMetrics(): DocumentedMetric[] {
  const text = readFileSync(README, 'utf8');
  const section = text.slice(text.indexOf('\n## Metrics\n'), text.indexOf('\n## ', text.indexOf('\n## Metrics\n') + 1));
  const rows = section.split('\n').filter((line) => /^\| `db_access_/.test(line));
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
