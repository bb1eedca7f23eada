// values.yaml and every ci/*.yaml example validate against values.schema.json; typos and bad enums are rejected;
// the schema is strict at every object level; every value in values.yaml is commented.
import t from 'tap';
import { Ajv } from 'ajv';
import {
  isRecord,
  loadCiValues,
  loadDefaultValues,
  loadSchema,
  mergeValues,
  parseValues,
  readChartFile,
  type Values,
} from './chart.ts';

// helm validates with JSON Schema draft-07 semantics; Ajv's default class is draft-07.
const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(loadSchema());
const defaults = loadDefaultValues();

function errorsOf(values: Values): string[] {
  return validate(values) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}

t.test('values.yaml validates against the schema', async (t) => {
  t.same(errorsOf(defaults), []);
});

t.test('every ci/*.yaml example validates once merged over values.yaml', async (t) => {
  const examples = loadCiValues();
  t.ok(examples.length >= 4, 'at least four example files');
  const modes = new Set(examples.map((e) => (e.values['tls'] as Values)['mode']));
  t.same([...modes].sort(), ['certManager', 'existingSecret', 'selfSigned'], 'the examples cover all three TLS modes');
  t.ok(
    examples.some((e) => (e.values['networkPolicy'] as Values)['enabled'] === true && (e.values['serviceMonitor'] as Values)['enabled'] === true),
    'one example turns NetworkPolicy and ServiceMonitor on',
  );
  for (const { file, overrides, values } of examples) {
    t.same(errorsOf(values), [], file);
    // An example file on its own (helm validates the merge, but an example should not rely on a typo being masked).
    t.ok(Object.keys(overrides).length > 0, `${file} sets something`);
  }
});

t.test('typos, wrong types and bad enums are rejected', async (t) => {
  const cases: Array<[string, Values]> = [
    ['typo at the top level', { replicaCont: 3 }],
    ['typo one level down', { webhook: { timeoutSecond: 5 } }],
    ['typo two levels down', { tls: { certManager: { issuerRef: { nmae: 'x' } } } }],
    ['typo in resources', { resources: { requests: { cpus: '1' } } }],
    ['unknown TLS mode', { tls: { mode: 'selfsigned' } }],
    ['unknown failure policy', { webhook: { failurePolicy: 'fail' } }],
    ['timeout above the apiserver maximum', { webhook: { timeoutSeconds: 31 } }],
    ['unknown preflight mode', { config: { preflight: 'on' } }],
    ['privileged port', { ports: { https: 443 } }],
    ['root UID', { securityContext: { runAsUser: 0 } }],
    ['replicas as a string', { replicaCount: '2' }],
    ['existingSecret mode without a name', { tls: { mode: 'existingSecret', existingSecret: { name: '', caBundle: '-----BEGIN CERTIFICATE-----\nx\n' } } }],
    ['existingSecret mode with a base64 caBundle', { tls: { mode: 'existingSecret', existingSecret: { name: 's', caBundle: 'LS0tLS1CRUdJTg==' } } }],
    ['malformed IRSA role ARN', { serviceAccount: { awsRoleArn: 'db-access-webhook' } }],
    ['a PodDisruptionBudget that allows no disruption at all', { podDisruptionBudget: { maxUnavailable: '0%' } }],
    ['an extra env var with both value and valueFrom', { extraEnv: [{ name: 'X', value: 'a', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] }],
    ['no ServiceAccount created and none named (the binding would go to "default")', { serviceAccount: { create: false, name: '' }, rbac: { create: true } }],
    ['an opt-out label whose name is over 63 characters', { webhook: { namespaceOptOutLabel: `db-access/${'x'.repeat(64)}` } }],
    ['non-string pod annotation', { podAnnotations: { a: 1 } }],
    ['extraEnv without a name', { extraEnv: [{ value: 'x' }] }],
    ['a pod label the chart sets itself', { podLabels: { 'db-access/component': 'other' } }],
    ['a preflight tag key AWS would refuse', { config: { preflightOrgTag: 'x#y' } }],
    ['an IRSA role on a ServiceAccount the chart does not create (it would be dropped)', { serviceAccount: { create: false, name: 'platform-sa', awsRoleArn: 'arn:aws:iam::123456789012:role/dbw' } }],
    ['annotations on a ServiceAccount the chart does not create', { serviceAccount: { create: false, name: 'platform-sa', annotations: { foo: 'bar' } } }],
    ['an image repository with a tag (it would end up twice)', { image: { repository: 'registry.example.com/db-access-webhook:1.4.0' } }],
    ['an image repository with a digest', { image: { repository: `registry.example.com/db-access-webhook@sha256:${'a'.repeat(64)}` } }],
    ['a heap size with a unit (node refuses it and the pod crash-loops)', { nodeOptions: '--max-old-space-size=384M' }],
    ['a semi-space size with a unit', { nodeOptions: '--max-old-space-size=128 --max-semi-space-size=8m' }],
    ['an issuer kind cert-manager.io does not have', { tls: { certManager: { issuerRef: { name: 'corp-ca', kind: 'CAIssuer' } } } }],
    ['an issuer kind in lower case', { tls: { certManager: { issuerRef: { name: 'pca', kind: 'awspcaclusterissuer', group: 'awspca.cert-manager.io' } } } }],
  ];
  for (const [name, override] of cases) {
    t.not(errorsOf(mergeValues(defaults, override)), [], name);
  }
  // The same positive case as the last negative ones, so the negatives fail for the reason they name.
  t.same(errorsOf(mergeValues(defaults, { tls: { mode: 'existingSecret', existingSecret: { name: 's', caBundle: '-----BEGIN CERTIFICATE-----\nx\n' } } })), []);
  t.same(errorsOf(mergeValues(defaults, { podLabels: { tier: 'infra' }, config: { preflightOrgTag: 'aws:org/unit=1 é' } })), []);
  t.same(errorsOf(mergeValues(defaults, { serviceAccount: { create: false, name: 'platform-sa' }, image: { repository: 'registry.example.com:5000/team/db-access-webhook' } })), []);
  t.same(errorsOf(mergeValues(defaults, { nodeOptions: '--max-old-space-size=384 --enable-source-maps' })), []);
  // An external issuer (AWS Private CA on EKS) has kinds of its own.
  const pca = { tls: { certManager: { issuerRef: { name: 'pca', kind: 'AWSPCAClusterIssuer', group: 'awspca.cert-manager.io' } } } };
  t.same(errorsOf(mergeValues(defaults, pca)), []);
});

t.test('a bare `off` (YAML 1.1 boolean, as helm reads it) is rejected, the quoted one accepted', async (t) => {
  t.equal((parseValues('config:\n  preflight: off\n')['config'] as Values)['preflight'], false, 'helm-style parsing');
  t.not(errorsOf(mergeValues(defaults, parseValues('config:\n  preflight: off\n'))), []);
  t.same(errorsOf(mergeValues(defaults, parseValues('config:\n  preflight: "off"\n'))), []);
});

// Objects whose keys are the user's (label and annotation maps) must type their values; Kubernetes objects passed
// through unchanged (affinity, tolerations, NetworkPolicy peers, EnvVar.valueFrom) are the apiserver's to validate.
const PASS_THROUGH = new Set([
  '/properties/global',
  '/properties/affinity',
  '/properties/tolerations/items',
  '/properties/networkPolicy/properties/webhookFrom/items',
  '/properties/networkPolicy/properties/metricsFrom/items',
  '/properties/extraEnv/items/properties/valueFrom',
]);

t.test('the schema is strict at every object level', async (t) => {
  const loose: string[] = [];
  const walk = (node: unknown, path: string): void => {
    if (!isRecord(node)) return;
    if (node['type'] === 'object') {
      const ap = node['additionalProperties'];
      const strict = ap === false || (isRecord(ap) && ap['type'] === 'string');
      if (!strict && !PASS_THROUGH.has(path)) loose.push(path || '/');
    }
    for (const [key, child] of Object.entries(node)) {
      if (key === 'properties' && isRecord(child)) {
        for (const [name, sub] of Object.entries(child)) walk(sub, `${path}/properties/${name}`);
      } else if (key === 'items' || key === 'additionalProperties') {
        walk(child, `${path}/${key}`);
      }
    }
  };
  walk(loadSchema(), '');
  t.same(loose, [], 'objects without additionalProperties: false (or typed map values)');
});

t.test('the schema and values.yaml name the same keys', async (t) => {
  // Every schema property is documented in values.yaml (so the values table is complete), and vice versa.
  // resources.limits.cpu is allowed but deliberately unset (see its comment), so resources' children are skipped.
  const opaque = ['global', 'affinity', 'nodeSelector', 'podAnnotations', 'podLabels', 'annotations', 'labels', 'resources'];
  const schemaKeys: string[] = [];
  const walk = (node: unknown, path: string): void => {
    if (!isRecord(node) || !isRecord(node['properties'])) return;
    for (const [name, sub] of Object.entries(node['properties'])) {
      schemaKeys.push(`${path}${name}`);
      if (!opaque.includes(name)) walk(sub, `${path}${name}.`);
    }
  };
  walk(loadSchema(), '');
  const valueKeys: string[] = [];
  const walkValues = (node: unknown, path: string): void => {
    if (!isRecord(node)) return;
    for (const [name, sub] of Object.entries(node)) {
      valueKeys.push(`${path}${name}`);
      if (!opaque.includes(name)) walkValues(sub, `${path}${name}.`);
    }
  };
  walkValues(defaults, '');
  t.same(schemaKeys.filter((k) => !valueKeys.includes(k)), [], 'schema keys missing from values.yaml');
  t.same(valueKeys.filter((k) => !schemaKeys.includes(k)), [], 'values.yaml keys missing from the schema');
});

t.test('every key in values.yaml has a comment right above it', async (t) => {
  const lines = readChartFile('values.yaml').split('\n');
  const undocumented: string[] = [];
  let keys = 0;
  lines.forEach((line, i) => {
    if (!/^\s*[A-Za-z][\w-]*:/.test(line)) return;
    keys += 1;
    if (!/^\s*#/.test(lines[i - 1] ?? '')) undocumented.push(`${i + 1}: ${line.trim()}`);
  });
  t.ok(keys > 50, `found ${keys} keys`);
  t.same(undocumented, []);
  t.notMatch(readChartFile('values.yaml'), /PROVISIONAL/, 'resources are sized by the benchmarks now');
  t.match(readChartFile('values.yaml'), /BENCHMARKS\.md, "Recommended chart resources"/, 'resources say where they come from');
});

t.test('label keys: a 63-character name, with or without a prefix, is accepted', async (t) => {
  for (const key of ['db-access/injection', `db-access/${'x'.repeat(63)}`, 'x'.repeat(63), 'team.example.com/db_access.opt-out']) {
    t.same(errorsOf(mergeValues(defaults, { webhook: { namespaceOptOutLabel: key } })), [], key);
  }
});

t.test('without a ServiceAccount and without RBAC from the chart, no name is needed (nothing is bound)', async (t) => {
  t.same(errorsOf(mergeValues(defaults, { serviceAccount: { create: false, name: '' }, rbac: { create: false } })), []);
});

t.test('an extra env var may carry an empty value beside valueFrom, as the apiserver allows', async (t) => {
  t.same(errorsOf(mergeValues(defaults, { extraEnv: [{ name: 'X', value: '', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] })), []);
});
