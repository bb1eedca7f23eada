// tls.mode=selfSigned against a cluster: the chart's `lookup` must reuse the Secret of a previous install, or every
// `helm upgrade` would rotate the CA and, for the minute the kubelet needs to catch up, opted-in pods would be refused.
// helm renders with `--dry-run=server` against a minimal fake kube-apiserver (render.ts) that holds that Secret.
import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nameOf, obj, ofKind, render, startFakeApiserver, list, type Obj, type Rendered } from './render.ts';

t.setTimeout(120_000); // the first run may download helm

const NAMESPACE = 'db-access-webhook';
const SECRET = 'db-access-webhook-tls';
const dir = mkdtempSync(join(tmpdir(), 'chart-lookup-'));
const api = await startFakeApiserver(dir);
t.teardown(async () => {
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});

// What helm puts on everything it installs; without it helm refuses to take an existing object over.
const OWNED = {
  labels: { 'app.kubernetes.io/managed-by': 'Helm' },
  annotations: { 'meta.helm.sh/release-name': 'db-access-webhook', 'meta.helm.sh/release-namespace': NAMESPACE },
};

const renderAgainstCluster = (): Promise<Rendered> => render({ variant: 'ci/self-signed-values.yaml', kubeconfig: api.kubeconfig });

function tlsOf(r: Rendered): { data: Record<string, string>; caBundle: unknown } {
  const [secret] = ofKind(r.objects, 'Secret');
  const [config] = ofKind(r.objects, 'MutatingWebhookConfiguration');
  return {
    data: obj(secret?.['data']) as Record<string, string>,
    caBundle: obj(list(config?.['webhooks'])[0]?.['clientConfig'])['caBundle'],
  };
}

t.test('first install: nothing to look up, a new CA', async (t) => {
  const r = await renderAgainstCluster();
  t.equal(r.code, 0, r.stderr);
  t.ok(api.requests.includes(`GET /api/v1/namespaces/${NAMESPACE}/secrets/${SECRET}`), 'the chart looked the Secret up');
  const { data, caBundle } = tlsOf(r);
  t.equal(caBundle, data['ca.crt']);
  t.ok(new X509Certificate(Buffer.from(data['ca.crt']!, 'base64')).ca);
});

t.test('upgrade: the Secret in the cluster is reused byte for byte, and the caBundle is its CA', async (t) => {
  const first = tlsOf(await renderAgainstCluster());
  const stored: Obj = { apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: SECRET, namespace: NAMESPACE, ...OWNED }, data: first.data };
  api.secrets.set(`${NAMESPACE}/${SECRET}`, stored);
  const [upgrade, again] = [await renderAgainstCluster(), await renderAgainstCluster()];
  for (const r of [upgrade, again]) {
    t.equal(r.code, 0, r.stderr);
    const { data, caBundle } = tlsOf(r);
    t.same(data, first.data, 'tls.crt, tls.key and ca.crt unchanged');
    t.equal(caBundle, first.data['ca.crt'], 'the webhook keeps trusting the same CA');
  }
  t.same(ofKind(upgrade.objects, 'Secret').map(nameOf), [SECRET]);
});

for (const missing of ['ca.crt', 'tls.key']) {
  t.test(`a release Secret without ${missing} is replaced by a complete new pair, never half reused`, async (t) => {
    const partial: Record<string, string> = {
      'ca.crt': Buffer.from('old CA').toString('base64'),
      'tls.crt': Buffer.from('old certificate').toString('base64'),
      'tls.key': Buffer.from('old key').toString('base64'),
    };
    delete partial[missing];
    api.secrets.set(`${NAMESPACE}/${SECRET}`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: SECRET, namespace: NAMESPACE, ...OWNED }, data: partial });
    const r = await renderAgainstCluster();
    t.equal(r.code, 0, r.stderr);
    const { data, caBundle } = tlsOf(r);
    t.same(Object.keys(data).sort(), ['ca.crt', 'tls.crt', 'tls.key']);
    t.equal(caBundle, data['ca.crt']);
    const ca = new X509Certificate(Buffer.from(data['ca.crt']!, 'base64'));
    t.ok(new X509Certificate(Buffer.from(data['tls.crt']!, 'base64')).checkIssued(ca), 'a fresh certificate from the fresh CA');
  });
}

t.test("someone else's Secret of that name: helm refuses to take it over", async (t) => {
  api.secrets.set(`${NAMESPACE}/${SECRET}`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: SECRET, namespace: NAMESPACE }, data: {} });
  const r = await renderAgainstCluster();
  t.not(r.code, 0);
  t.match(r.stderr, /Secret "db-access-webhook-tls" in namespace "db-access-webhook" exists and cannot be imported/);
});
