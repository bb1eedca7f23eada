// The chart's PrometheusRule, checked the way Prometheus would load it: every expression parsed with Prometheus' own
// PromQL grammar (@prometheus-io/lezer-promql), and every series it selects held to what the server exports: metric
// names and label names from its registry, label values from the README's metrics table (metrics-docs.test.ts holds
// that table to the registry). An alert on a misspelt metric or value parses fine and never fires; this is the test for it.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { parser } from '@prometheus-io/lezer-promql';
import type { SyntaxNode } from '@lezer/common';
import { createMetrics } from '../../src/server/metrics.ts';
import { documentedMetrics } from '../helpers/metrics-table.ts';
import { list, obj, ofKind, render, type Obj } from './render.ts';

t.setTimeout(120_000); // helm may need fetching (test/helpers/helm.ts)

const NAMESPACE = 'payments-platform';

interface Selector {
  readonly metric: string;
  readonly matchers: ReadonlyArray<{ readonly label: string; readonly op: string; readonly value: string }>;
}

/** Syntax errors (as offsets) and the vector selectors of one PromQL expression. */
function readExpression(expr: string): { errors: number[]; selectors: Selector[] } {
  const errors: number[] = [];
  const selectors: Selector[] = [];
  const text = (n: SyntaxNode | null): string => (n ? expr.slice(n.from, n.to) : '');
  parser.parse(expr).iterate({
    enter(ref) {
      if (ref.type.isError) errors.push(ref.from);
      if (ref.name !== 'VectorSelector') return;
      const node = ref.node;
      const matchers = (node.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? []).map((m) => ({
        label: text(m.getChild('LabelName')),
        op: text(m.getChild('MatchOp')),
        value: JSON.parse(text(m.getChild('StringLiteral'))) as string,
      }));
      selectors.push({ metric: text(node.getChild('Identifier')), matchers });
    },
  });
  return { errors, selectors };
}

const rendered = await render({
  namespace: NAMESPACE,
  args: ['--set', 'prometheusRule.enabled=true', '--set', 'prometheusRule.certificateExpiryDays=3'],
});
const [rule] = ofKind(rendered.objects, 'PrometheusRule');
const rules: Obj[] = list(obj(rule?.['spec'])['groups']).flatMap((g) => list(g['rules']));

// The registry's series: a histogram is selected through its _bucket, _sum and _count series (_bucket adds `le`).
const served = new Map<string, ReadonlySet<string>>();
for (const m of createMetrics({ defaultMetrics: false }).registry.getMetricsAsArray()) {
  const { name, type, labelNames } = m as unknown as { name: string; type: string; labelNames: string[] };
  if (type === 'histogram') {
    served.set(`${name}_bucket`, new Set([...labelNames, 'le']));
    for (const suffix of ['_sum', '_count']) served.set(`${name}${suffix}`, new Set(labelNames));
  } else served.set(name, new Set(labelNames));
}
const documented = new Map(documentedMetrics().map((m) => [m.name, m]));
const documentedFor = (series: string) =>
  documented.get(series) ?? documented.get(series.replace(/_(bucket|sum|count)$/, ''));

t.test('the rule renders when enabled, with alerts', async (t) => {
  t.equal(rendered.code, 0, rendered.stderr);
  t.ok(rule, 'a PrometheusRule');
  t.ok(rules.length >= 5, `${rules.length} alerts`);
});

t.test('the default values render no PrometheusRule', async (t) => {
  const r = await render();
  t.equal(ofKind(r.objects, 'PrometheusRule').length, 0);
});

t.test('every expression parses as PromQL', async (t) => {
  for (const r of rules) {
    const expr = String(r['expr']);
    t.same(readExpression(expr).errors, [], `${String(r['alert'])}: ${expr}`);
  }
});

t.test('every selector names a metric the server exports, with its labels and their documented values', async (t) => {
  for (const r of rules) {
    const alert = String(r['alert']);
    const { selectors } = readExpression(String(r['expr']));
    t.ok(selectors.length > 0, `${alert}: selects a series`);
    for (const s of selectors) {
      const labels = served.get(s.metric);
      t.ok(labels, `${alert}: ${s.metric} is exported by the server`);
      if (!labels) continue;
      for (const m of s.matchers) {
        if (m.label === 'namespace') {
          t.same([m.op, m.value], ['=', NAMESPACE], `${alert}: scoped to the release namespace`);
          continue;
        }
        t.ok(labels.has(m.label), `${alert}: ${s.metric} has a label ${m.label}`);
        const values = documentedFor(s.metric)?.labels.get(m.label) ?? [];
        if (m.op === '=' && values.length > 0) t.ok(values.includes(m.value), `${alert}: ${m.label}="${m.value}" is a documented value`);
      }
      t.ok(s.matchers.some((m) => m.label === 'namespace'), `${alert}: ${s.metric} is selected by namespace`);
    }
  }
});

t.test('the checks can fail: a misspelt metric, label or value, and a syntax error are caught', async (t) => {
  t.not(readExpression('sum(rate(db_access_admissions_total{outcome="error"}[5m]) >').errors.length, 0, 'a syntax error');
  const [s] = readExpression('rate(db_access_admission_total{namespace="x",outcom="eror"}[5m])').selectors;
  t.equal(s?.metric, 'db_access_admission_total');
  t.notOk(served.has(s!.metric), 'an unknown metric');
  t.same(s?.matchers.map((m) => m.label), ['namespace', 'outcom']);
  t.notOk(served.get('db_access_admissions_total')!.has('outcom'), 'an unknown label');
  t.notOk(documentedFor('db_access_admissions_total')!.labels.get('outcome')!.includes('eror'), 'an unknown value');
});

t.test('values reach the rules: the expiry threshold', async (t) => {
  const expiring = rules.find((r) => r['alert'] === 'DbAccessWebhookCertificateExpiring');
  t.match(String(expiring?.['expr']), /< 3 \* 86400$/);
});

t.test("the README's Alerts section lists exactly the chart's alerts", async (t) => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('\n### Alerts\n');
  t.not(start, -1, 'README has an Alerts section');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const listed = [...section.matchAll(/^\| `(DbAccess[A-Za-z]+)` \|/gm)].map((m) => m[1]);
  t.same(listed, rules.map((r) => r['alert']));
});
