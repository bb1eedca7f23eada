// The chart's PrometheusRule, checked the way Prometheus would load it: every expression parsed with Prometheus' own
// PromQL grammar (@prometheus-io/lezer-promql), and every series it selects held to what exports it. The webhook's
// metrics: names and label names from its registry, label values from the README's metrics table (metrics-docs.test.ts
// holds that table to the registry, value by value). The API server's: the webhook name from the rendered
// MutatingWebhookConfiguration. An alert on a misspelt metric or value parses fine and never fires; this is the test
// for it.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import type { SyntaxNode } from '@lezer/common';
import { createMetrics } from '../../src/server/metrics.ts';
import { documentedMetrics, readmeSection } from '../helpers/metrics-table.ts';
import { list, obj, ofKind, render, type Obj } from './render.ts';

t.setTimeout(120_000); // helm may need fetching (test/helpers/helm.ts)

const NAMESPACE = 'payments-platform';

interface Matcher {
  readonly label: string;
  readonly op: string;
  readonly value: string;
}
interface Selector {
  readonly metric: string;
  readonly matchers: readonly Matcher[];
}
interface Expression {
  /** Offsets of syntax errors. */
  readonly errors: number[];
  readonly selectors: Selector[];
  /** For each aggregation (sum, min…): the labels it keeps with `by`, or undefined when it keeps none. */
  readonly aggregations: Array<readonly string[] | undefined>;
}

function readExpression(expr: string): Expression {
  const out: Expression = { errors: [], selectors: [], aggregations: [] };
  const text = (n: SyntaxNode | null | undefined): string => (n ? expr.slice(n.from, n.to) : '');
  parser.parse(expr).iterate({
    enter(ref) {
      if (ref.type.isError) out.errors.push(ref.from);
      const node = ref.node;
      if (ref.name === 'AggregateExpr') {
        const modifier = node.getChild('AggregateModifier');
        const by = modifier?.getChild('By') ? modifier.getChild('GroupingLabels')?.getChildren('LabelName').map(text) : undefined;
        out.aggregations.push(by);
      }
      if (ref.name !== 'VectorSelector') return;
      const matchers = (node.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? []).map((m) => ({
        label: text(m.getChild('LabelName')),
        op: text(m.getChild('MatchOp')),
        value: JSON.parse(text(m.getChild('StringLiteral'))) as string,
      }));
      out.selectors.push({ metric: text(node.getChild('Identifier')), matchers });
    },
  });
  return out;
}

// With the preflight on, so that every alert is rendered.
const rendered = await render({
  namespace: NAMESPACE,
  args: ['--set', 'prometheusRule.enabled=true', '--set', 'prometheusRule.certificateExpiryDays=3', '--set', 'config.preflight=warn'],
});
const [rule] = ofKind(rendered.objects, 'PrometheusRule');
const rules: Obj[] = list(obj(rule?.['spec'])['groups']).flatMap((g) => list(g['rules']));
const [webhookConfiguration] = ofKind(rendered.objects, 'MutatingWebhookConfiguration');
const webhookName = list(webhookConfiguration?.['webhooks'])[0]?.['name'];

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
const documentedValues = (series: string, label: string): readonly string[] =>
  (documented.get(series) ?? documented.get(series.replace(/_(bucket|sum|count)$/, '')))?.labels.get(label) ?? [];

// The API server's admission-webhook metrics (Kubernetes metrics reference) and the labels the rule may select on.
const APISERVER_METRICS: Record<string, Record<string, readonly string[] | undefined>> = {
  apiserver_admission_webhook_rejection_count: {
    name: undefined,
    type: ['admit', 'validating'],
    operation: undefined,
    error_type: ['calling_webhook_error', 'apiserver_internal_error', 'no_error'],
    rejection_code: undefined,
  },
  apiserver_admission_webhook_fail_open_count: { name: undefined, type: ['admit', 'validating'] },
};

t.test('the rule renders when enabled, with alerts', async (t) => {
  t.equal(rendered.code, 0, rendered.stderr);
  t.same(rendered.parseErrors, [], 'valid YAML, no duplicate keys');
  t.ok(rule, 'a PrometheusRule');
  t.ok(rules.length >= 5, `${rules.length} alerts`);
  t.equal(webhookName, 'db-access-webhook.db-access.io');
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

t.test("every selector names a series that exists, with its labels and their values", async (t) => {
  for (const r of rules) {
    const alert = String(r['alert']);
    const { selectors } = readExpression(String(r['expr']));
    t.ok(selectors.length > 0, `${alert}: selects a series`);
    for (const s of selectors) {
      const apiserver = APISERVER_METRICS[s.metric];
      if (apiserver) {
        const name = s.matchers.find((m) => m.label === 'name');
        t.same([name?.op, name?.value], ['=', webhookName], `${alert}: ${s.metric} is selected by the webhook's name`);
        for (const m of s.matchers) {
          t.ok(Object.hasOwn(apiserver, m.label), `${alert}: ${s.metric} has a label ${m.label}`);
          const values = apiserver[m.label];
          if (values) t.ok(values.includes(m.value), `${alert}: ${m.label}="${m.value}" is a value the API server uses`);
        }
        continue;
      }
      const labels = served.get(s.metric);
      t.ok(labels, `${alert}: ${s.metric} is exported by the server`);
      if (!labels) continue;
      t.ok(s.matchers.some((m) => m.label === 'namespace'), `${alert}: ${s.metric} is selected by namespace`);
      for (const m of s.matchers) {
        if (m.label === 'namespace') {
          t.same([m.op, m.value], ['=', NAMESPACE], `${alert}: scoped to the release namespace`);
          continue;
        }
        t.ok(labels.has(m.label), `${alert}: ${s.metric} has a label ${m.label}`);
        t.ok(['=', '!='].includes(m.op), `${alert}: ${m.label} is matched exactly (a regex would hide a typo)`);
        t.ok(documentedValues(s.metric, m.label).includes(m.value), `${alert}: ${m.label}="${m.value}" is a documented value`);
      }
    }
  }
});

t.test('every alert keeps a namespace label, for routing and for telling two releases apart', async (t) => {
  for (const r of rules) {
    const alert = String(r['alert']);
    if (obj(r['labels'])['namespace'] === NAMESPACE) continue; // set on the rule (the API server's series have none)
    const { aggregations } = readExpression(String(r['expr']));
    for (const by of aggregations) t.ok(by?.includes('namespace'), `${alert}: every aggregation keeps namespace (by ${JSON.stringify(by)})`);
  }
});

t.test('the checks can fail: a misspelt metric, label or value, a syntax error, a lost namespace', async (t) => {
  t.not(readExpression('sum(rate(db_access_admissions_total{outcome="error"}[5m]) >').errors.length, 0, 'a syntax error');
  const [s] = readExpression('rate(db_access_admission_total{namespace="x",outcom="eror"}[5m])').selectors;
  t.equal(s?.metric, 'db_access_admission_total');
  t.notOk(served.has(s!.metric), 'an unknown metric');
  t.same(s?.matchers.map((m) => m.label), ['namespace', 'outcom']);
  t.notOk(served.get('db_access_admissions_total')!.has('outcom'), 'an unknown label');
  t.notOk(documentedValues('db_access_admissions_total', 'outcome').includes('eror'), 'an unknown value');
  t.same(readExpression('sum(rate(x[5m])) > 0').aggregations, [undefined], 'sum without by keeps no label');
  t.same(readExpression('sum by (le) (rate(x[5m]))').aggregations, [['le']]);
});

t.test('values reach the rules: the expiry threshold, and the preflight severity follows its mode', async (t) => {
  const expiring = rules.find((r) => r['alert'] === 'DbAccessWebhookCertificateExpiring');
  t.match(String(expiring?.['expr']), /< 3 \* 86400$/);
  const severity = async (mode: string) => {
    const r = await render({ args: ['--set', 'prometheusRule.enabled=true', '--set', `config.preflight=${mode}`] });
    t.same(r.parseErrors, [], `preflight ${mode}: valid YAML, no duplicate keys (a misplaced end once left an alert with two annotations)`);
    const all = list(obj(ofKind(r.objects, 'PrometheusRule')[0]?.['spec'])['groups']).flatMap((g) => list(g['rules']));
    return obj(all.find((x) => x['alert'] === 'DbAccessWebhookPreflightUnavailable')?.['labels'])['severity'];
  };
  t.equal(await severity('deny'), 'warning', 'deny: the check operators rely on is being skipped');
  t.equal(await severity('warn'), 'info');
  t.equal(await severity('off'), undefined, 'no preflight, no preflight alert');
});

t.test('alertLabels that would make Prometheus reject the rule are refused by the schema', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'alert-labels-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let files = 0;
  const withLabels = (yaml: string) => {
    const file = join(dir, `${++files}.yaml`);
    writeFileSync(file, `prometheusRule:\n  enabled: true\n  alertLabels:\n${yaml}`);
    return render({ args: ['-f', file] });
  };
  t.equal((await withLabels('    team: platform\n')).code, 0, 'an ordinary label');
  const refused: Array<[yaml: string, why: string]> = [
    ['    __name__: x\n', 'a reserved name'],
    ['    severity: page\n', 'one the alerts set'],
    ['    namespace: other\n', 'one the alerts set'],
    ['    team: "{{ x }}"\n', 'a value Prometheus would template'],
    ['    bad-name: x\n', 'not a Prometheus label name'],
  ];
  for (const [yaml, why] of refused) {
    t.not((await withLabels(yaml)).code, 0, `${why}: ${yaml.trim()}`);
  }
});

t.test('an expiry threshold beyond cert-manager\'s renewBefore is refused: the alert would fire before every renewal', async (t) => {
  const withRenewBefore = (renewBefore: string, mode = 'certManager') =>
    render({
      args: ['--set', 'prometheusRule.enabled=true', '--set', `tls.mode=${mode}`, '--set', `tls.certManager.renewBefore=${renewBefore}`],
    });
  const refused = await withRenewBefore('48h');
  t.not(refused.code, 0);
  t.match(refused.stderr, /prometheusRule\.certificateExpiryDays \(7 days\) must not exceed tls\.certManager\.renewBefore \(48h\)/);
  t.equal((await withRenewBefore('168h')).code, 0, 'equal is fine: renewal happens as the alert would start');
  t.equal((await withRenewBefore('48h', 'selfSigned')).code, 0, 'renewBefore means nothing outside cert-manager mode');
  t.not((await withRenewBefore('167h59m')).code, 0, 'a composite duration is read too');
  t.equal((await withRenewBefore('168h0m0s')).code, 0, "cert-manager's own form");
  t.equal((await withRenewBefore('1.5h')).code, 0, 'a decimal is not compared (documented)');
});

t.test('an expiry threshold at or beyond a self-signed certificate\'s whole validity is refused', async (t) => {
  const withValidity = (days: number) =>
    render({ args: ['--set', 'prometheusRule.enabled=true', '--set', 'tls.mode=selfSigned', '--set', `tls.selfSigned.validityDays=${days}`] });
  const refused = await withValidity(7);
  t.not(refused.code, 0);
  t.match(refused.stderr, /prometheusRule\.certificateExpiryDays \(7 days\) must be below tls\.selfSigned\.validityDays \(7\)/);
  t.equal((await withValidity(8)).code, 0);
});

t.test("the README's Alerts section lists exactly the chart's alerts, in order", async (t) => {
  const listed = [...readmeSection('### Alerts').matchAll(/^\| `(DbAccess[A-Za-z]+)` \|/gm)].map((m) => m[1]);
  t.same(listed, rules.map((r) => r['alert']));
});
