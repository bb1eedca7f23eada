// The chart and the server agree: the environment the Deployment sets is accepted by the server's loadConfig and
// means what values.yaml says; ports, port names, the webhook path and the Service name line up end to end.
import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { loadConfig as serverLoadConfig } from '../../src/config.ts';
import { join } from 'node:path';
import {
  actionBody,
  actionOf,
  docsOfKind,
  isRecord,
  loadCiValues,
  loadDefaultValues,
  readTemplate,
  repoRoot,
  skeleton,
  type Values,
} from './chart.ts';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (isRecord(v) ? v : {});
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isRecord) : []);

const configFile = join(repoRoot, 'src', 'config.ts');
const serverDir = join(repoRoot, 'src', 'server');

function rendered(file: string, values: Values) {
  const s = skeleton(readTemplate(file), { values });
  return { s, docs: s.docs.filter(isRecord) };
}

function container(values: Values): Obj {
  const [deployment] = rendered('deployment.yaml', values).docs;
  return list(obj(obj(obj(deployment?.['spec'])['template'])['spec'])['containers'])[0] ?? {};
}

/** The environment the chart gives the server, with downward-API fields filled in as the kubelet would. */
function chartEnv(values: Values): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of list(container(values)['env'])) {
    const name = String(e['name']);
    if (typeof e['value'] === 'string') env[name] = e['value'];
    else if (obj(obj(e['valueFrom'])['fieldRef'])['fieldPath'] === 'metadata.namespace') env[name] = 'db-access-webhook';
    else env[name] = `unresolved:${JSON.stringify(e['value'] ?? e['valueFrom'])}`;
  }
  return env;
}

type LoadConfig = (env: Record<string, string | undefined>) => Record<string, unknown>;
const loadConfig = serverLoadConfig as unknown as LoadConfig;

t.test('every env value is a plain string (helm would otherwise render a number or boolean the apiserver rejects)', async (t) => {
  for (const { file, values } of [{ file: 'values.yaml', values: loadDefaultValues() }, ...loadCiValues()]) {
    for (const e of list(container(values)['env'])) {
      t.ok(typeof e['value'] === 'string' || isRecord(e['valueFrom']), `${file}: ${String(e['name'])}`);
    }
  }
});

t.test("the server's loadConfig accepts the chart's environment, and reads it as values.yaml means it", async (t) => {
  for (const { file, values } of [{ file: 'values.yaml', values: loadDefaultValues() }, ...loadCiValues()]) {
    const env = chartEnv(values);
    let config: Record<string, unknown> = {};
    t.doesNotThrow(() => {
      config = loadConfig(env);
    }, file);
    const v = (key: string): Obj => obj(values[key]);
    t.equal(config['port'], v('ports')['https'], `${file}: PORT`);
    t.equal(config['metricsPort'], v('ports')['metrics'], `${file}: METRICS_PORT`);
    t.equal(config['kube'], 'cluster', `${file}: in-cluster Kubernetes client, never the in-memory store`);
    t.equal(config['environment'], v('config')['environment'], `${file}: environment`);
    t.equal(config['region'], v('config')['awsRegion'], `${file}: region`);
    t.equal(config['usePodIdentity'], v('config')['usePodIdentity'], `${file}: usePodIdentity`);
    t.equal(config['urlFromSecret'], v('config')['urlFromSecret'], `${file}: urlFromSecret`);
    t.equal(config['onKubeError'], v('config')['onKubeError'], `${file}: onKubeError`);
    t.equal(config['preflight'], v('config')['preflight'], `${file}: preflight`);
    t.equal(config['preflightOrgTag'], v('config')['preflightOrgTag'], `${file}: preflightOrgTag`);
    t.equal(config['logLevel'], v('config')['logLevel'], `${file}: logLevel`);
    t.equal(config['maxInFlight'], v('config')['maxInFlight'], `${file}: maxInFlight`);
    t.equal(config['maxEventLoopDelayMs'], v('config')['maxEventLoopDelayMs'], `${file}: maxEventLoopDelayMs`);
    t.equal(config['drainMs'], 1000 * Number(v('config')['drainSeconds']), `${file}: drainSeconds`);
    t.same(config['excludedNamespaces'], v('webhook')['excludedNamespaces'], `${file}: excluded namespaces`);
    t.equal(config['podNamespace'], 'db-access-webhook', `${file}: own namespace from the downward API`);
    const mount = list(container(values)['volumeMounts']).find((m) => m['name'] === 'tls');
    t.equal(config['tlsCertFile'], `${String(mount?.['mountPath'])}/tls.crt`, `${file}: certificate inside the TLS mount`);
    t.equal(config['tlsKeyFile'], `${String(mount?.['mountPath'])}/tls.key`, `${file}: key inside the TLS mount`);
  }
});

t.test('every variable the chart sets is one the server reads', async (t) => {
  const names = Object.keys(chartEnv(loadDefaultValues()));
  t.ok(names.length >= 14);
  const source = readFileSync(configFile, 'utf8');
  // NODE_OPTIONS is read by node itself (heap flags), not by the server's settings.
  for (const name of names.filter((n) => n !== 'NODE_OPTIONS')) t.match(source, `'${name}'`, `${name} appears in src/config.ts`);
});

t.test("the chart's overload defaults are the server's defaults", async (t) => {
  const server = loadConfig({});
  const config = obj(loadDefaultValues()['config']);
  t.equal(config['maxInFlight'], server['maxInFlight']);
  t.equal(config['maxEventLoopDelayMs'], server['maxEventLoopDelayMs']);
  t.equal(1000 * Number(config['drainSeconds']), server['drainMs'], 'and the shutdown drain');
});

t.test("the chart's port defaults are the server's defaults", async (t) => {
  const server = loadConfig({});
  const ports = obj(loadDefaultValues()['ports']);
  t.equal(ports['https'], server['port']);
  t.equal(ports['metrics'], server['metricsPort']);
});

t.test('the server serves the paths the chart calls', async (t) => {
  const [config] = docsOfKind(rendered('mutatingwebhookconfiguration.yaml', loadDefaultValues()).s, 'MutatingWebhookConfiguration');
  const path = obj(obj(list(config?.['webhooks'])[0]?.['clientConfig'])['service'])['path'];
  t.type(path, 'string');
  const c = container(loadDefaultValues());
  const probes = [obj(obj(c['livenessProbe'])['httpGet']), obj(obj(c['readinessProbe'])['httpGet'])];
  t.same(probes.map((p) => [p['path'], p['port'], p['scheme']]), [['/healthz', 'metrics', 'HTTP'], ['/readyz', 'metrics', 'HTTP']]);
  const [monitor] = rendered('servicemonitor.yaml', loadDefaultValues()).docs;
  t.same(list(obj(monitor?.['spec'])['endpoints']).map((e) => [e['port'], e['path']]), [['metrics', '/metrics']]);
  const server = readdirSync(serverDir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => readFileSync(join(serverDir, f), 'utf8'))
    .join('\n');
  for (const route of [`post('${String(path)}'`, "get('/healthz'", "get('/readyz'", "get('/metrics'"]) t.match(server, route, `src/server registers ${route}`);
});

t.test('ports and port names line up: container, Service, webhook, NetworkPolicy', async (t) => {
  const values = loadDefaultValues();
  const ports = list(container(values)['ports']);
  t.same(
    ports.map((p) => [p['name'], p['containerPort'], p['protocol']]),
    [['https', obj(values['ports'])['https'], 'TCP'], ['metrics', obj(values['ports'])['metrics'], 'TCP']],
  );
  t.notOk(ports.some((p) => 'hostPort' in p));
  const { s: serviceSkeleton, docs } = rendered('service.yaml', values);
  const service = docs[0] ?? {};
  const servicePorts = list(obj(service['spec'])['ports']);
  t.same(servicePorts.map((p) => [p['name'], p['port'], p['targetPort']]), [['https', 443, 'https'], ['metrics', obj(values['ports'])['metrics'], 'metrics']]);
  const { s: webhookSkeleton } = rendered('mutatingwebhookconfiguration.yaml', values);
  const [config] = docsOfKind(webhookSkeleton, 'MutatingWebhookConfiguration');
  const target = obj(obj(list(config?.['webhooks'])[0]?.['clientConfig'])['service']);
  t.equal(target['port'], servicePorts[0]?.['port'], 'the webhook calls the Service https port');
  // Same name expression on both sides: the Service the webhook calls is the chart's Service.
  t.equal(actionBody(actionOf(serviceSkeleton, obj(service['metadata'])['name']) ?? ''), 'include "db-access-webhook.fullname" . | quote');
  t.equal(actionBody(actionOf(webhookSkeleton, target['name']) ?? ''), '$fullname | quote');
  t.match(readTemplate('mutatingwebhookconfiguration.yaml'), '{{- $fullname := include "db-access-webhook.fullname" . }}');
  t.match(readTemplate('service.yaml'), /selector:\n\s+\{\{- include "db-access-webhook\.selectorLabels" \. \| nindent 4 \}\}/, 'Service selects the pods');
  t.match(readTemplate('deployment.yaml'), /labels:\n\s+\{\{- include "db-access-webhook\.selectorLabels" \. \| nindent 8 \}\}/, 'pods carry the selector labels');
  const [policy] = rendered('networkpolicy.yaml', values).docs;
  const ingress = list(obj(policy?.['spec'])['ingress']).flatMap((rule) => list(rule['ports']).map((p) => p['port']));
  t.same(ingress, ['https', 'metrics'], 'NetworkPolicy ingress by port name');
});
