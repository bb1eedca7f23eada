// The node flags the chart gives the container by default (`nodeOptions` in values.yaml, rendered as NODE_OPTIONS).
// The bench reads them from the chart so the process under test runs as deployed and the two cannot drift.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const CHART_VALUES_FILE = fileURLToPath(new URL('../../charts/db-access-webhook/values.yaml', import.meta.url));

/** `nodeOptions` from the chart's values, split into flags; empty when unset. */
export function chartNodeFlags(file = CHART_VALUES_FILE): string[] {
  const values = parse(readFileSync(file, 'utf8')) as { nodeOptions?: unknown } | null;
  const raw = values?.nodeOptions;
  if (raw === undefined || raw === null || raw === '') return [];
  if (typeof raw !== 'string') throw new Error(`${file}: nodeOptions must be a string, got ${typeof raw}`);
  return raw.split(/\s+/).filter(Boolean);
}
