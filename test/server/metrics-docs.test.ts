// The README's metrics table against the registry the server serves: every metric documented, with its type, its
// labels and every value each label takes. The registry starts every series at zero, so a fresh one shows them all.
import t from 'tap';
import { createMetrics } from '../../src/server/metrics.ts';
import { documentedMetrics, readmeSection } from '../helpers/metrics-table.ts';

const fresh = await createMetrics({ defaultMetrics: false }).registry.getMetricsAsJSON();

/** Label name → the values a fresh registry has series for (a histogram's `le` left out). */
function servedLabels(metric: (typeof fresh)[number]): Map<string, string[]> {
  const labels = new Map<string, Set<string>>();
  for (const v of metric.values) {
    for (const [name, value] of Object.entries(v.labels)) {
      if (name === 'le') continue;
      labels.set(name, (labels.get(name) ?? new Set()).add(String(value)));
    }
  }
  return new Map([...labels].map(([name, values]) => [name, [...values].sort()]));
}

t.test("the README's metrics table lists exactly the server's db_access_* metrics, with their types, labels and values", async (t) => {
  const documented = documentedMetrics();
  t.same(documented.map((m) => m.name).sort(), fresh.map((m) => m.name).sort(), 'the same metric names');
  for (const m of fresh) {
    const doc = documented.find((d) => d.name === m.name);
    t.equal(doc?.type, m.type, `${m.name}: type`);
    const documentedLabels = new Map([...(doc?.labels ?? [])].map(([name, values]) => [name, [...values].sort()]));
    t.same(Object.fromEntries(documentedLabels), Object.fromEntries(servedLabels(m)), `${m.name}: labels and their values`);
  }
});

t.test('readmeSection finds a section and says so when it is missing', async (t) => {
  t.match(readmeSection('## Metrics'), /^\n## Metrics\n/);
  t.notMatch(readmeSection('## Metrics'), /\n## Troubleshooting\n/, 'stops at the next section');
  t.throws(() => readmeSection('## No such section'), /README.md has no "## No such section" section/);
});
