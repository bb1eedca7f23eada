// The README's metrics table against the registry the server serves: every metric documented, with its type and labels.
import t from 'tap';
import { ADMISSION_OUTCOMES, createMetrics } from '../../src/server/metrics.ts';
import { documentedMetrics } from '../helpers/metrics-table.ts';

t.test("the README's metrics table lists exactly the server's db_access_* metrics, with their types and labels", async (t) => {
  const served = createMetrics({ defaultMetrics: false })
    .registry.getMetricsAsArray()
    .map((m) => m as unknown as { name: string; type: string; labelNames: string[] });
  const documented = documentedMetrics();
  t.same(documented.map((m) => m.name).sort(), served.map((m) => m.name).sort(), 'the same metric names');
  for (const m of served) {
    const doc = documented.find((d) => d.name === m.name);
    t.equal(doc?.type, m.type, `${m.name}: type`);
    t.same([...(doc?.labels.keys() ?? [])].sort(), [...m.labelNames].sort(), `${m.name}: label names`);
  }
});

t.test('the documented admission outcomes are the ones the server counts', async (t) => {
  const admissions = documentedMetrics().find((m) => m.name === 'db_access_admissions_total');
  t.same(admissions?.labels.get('outcome'), [...ADMISSION_OUTCOMES]);
});
