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

function tlsOf(r: Rendered): { data: Record<string, string>; caBundle: unknown; notAfter: number } {
  const [secret] = ofKind(r.objects, 'Secret');
  const [config] = ofKind(r.objects, 'MutatingWebhookConfiguration');
  return {
    data: obj(secret?.['data']) as Record<string, string>,
    caBundle: obj(list(config?.['webhooks'])[0]?.['clientConfig'])['caBundle'],
    notAfter: Number(obj(obj(secret?.['metadata'])['annotations'])[NOT_AFTER]),
  };
}

const NOT_AFTER = 'db-access-webhook/not-after-unix';

/** The Secret as a previous install left it in the cluster, with the expiry the chart wrote on it (if any). */
function storedSecret(data: Record<string, string>, notAfter?: number): Obj {
  const annotations = { ...OWNED.annotations, ...(notAfter === undefined ? {} : { [NOT_AFTER]: String(notAfter) }) };
  return { apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: SECRET, namespace: NAMESPACE, ...OWNED, annotations }, data };
}

/** The certificates in a base64 PEM bundle. */
function certificatesIn(bundle: unknown): X509Certificate[] {
  const pem = Buffer.from(String(bundle), 'base64').toString('utf8');
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((c) => new X509Certificate(c));
}

t.test('first install: nothing to look up, a new CA', async (t) => {
  const r = await renderAgainstCluster();
  t.equal(r.code, 0, r.stderr);
  t.ok(api.requests.includes(`GET /api/v1/namespaces/${NAMESPACE}/secrets/${SECRET}`), 'the chart looked the Secret up');
  const { data, caBundle, notAfter } = tlsOf(r);
  t.equal(caBundle, data['ca.crt']);
  t.ok(new X509Certificate(Buffer.from(data['ca.crt']!, 'base64')).ca);
  const expires = Date.parse(new X509Certificate(Buffer.from(data['tls.crt']!, 'base64')).validTo) / 1000;
  t.ok(Math.abs(notAfter - expires) < 120, `the Secret records when tls.crt expires (${notAfter} vs ${expires})`);
});

t.test('upgrade: the Secret in the cluster is reused byte for byte, and the caBundle is its CA', async (t) => {
  const first = tlsOf(await renderAgainstCluster());
  api.secrets.set(`${NAMESPACE}/${SECRET}`, storedSecret(first.data, first.notAfter));
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
    api.secrets.set(`${NAMESPACE}/${SECRET}`, storedSecret(partial, Math.floor(Date.now() / 1000) + 365 * 86400));
    const r = await renderAgainstCluster();
    t.equal(r.code, 0, r.stderr);
    const { data, caBundle } = tlsOf(r);
    t.same(Object.keys(data).sort(), ['ca.crt', 'tls.crt', 'tls.key']);
    t.equal(caBundle, data['ca.crt']);
    const ca = new X509Certificate(Buffer.from(data['ca.crt']!, 'base64'));
    t.ok(new X509Certificate(Buffer.from(data['tls.crt']!, 'base64')).checkIssued(ca), 'a fresh certificate from the fresh CA');
  });
}

for (const [when, notAfter] of [
  ['expires within 30 days', Math.floor(Date.now() / 1000) + 10 * 86400],
  ['has expired', Math.floor(Date.now() / 1000) - 86400],
  ['has no recorded expiry (an older chart wrote it)', undefined],
] as const) {
  t.test(`upgrade when the pair ${when}: a new pair, and the caBundle trusts the old CA and the new one`, async (t) => {
    const first = tlsOf(await renderAgainstCluster());
    api.secrets.set(`${NAMESPACE}/${SECRET}`, storedSecret(first.data, notAfter));
    const r = await renderAgainstCluster();
    t.equal(r.code, 0, r.stderr);
    const next = tlsOf(r);
    t.not(next.data['tls.crt'], first.data['tls.crt'], 'the pair is renewed');
    const newCa = new X509Certificate(Buffer.from(next.data['ca.crt']!, 'base64'));
    const oldCa = new X509Certificate(Buffer.from(first.data['ca.crt']!, 'base64'));
    t.ok(new X509Certificate(Buffer.from(next.data['tls.crt']!, 'base64')).checkIssued(newCa), 'by the new CA');
    t.same(certificatesIn(next.caBundle).map((c) => c.fingerprint256), [newCa.fingerprint256, oldCa.fingerprint256],
      'pods still serving the old pair until the kubelet updates their volume stay trusted');
    t.ok(next.notAfter > Date.now() / 1000 + 30 * 86400, 'the new expiry is recorded');
    // The next upgrade reuses the new pair and drops the old CA.
    api.secrets.set(`${NAMESPACE}/${SECRET}`, storedSecret(next.data, next.notAfter));
    const after = tlsOf(await renderAgainstCluster());
    t.same(after.data, next.data);
    t.equal(after.caBundle, next.data['ca.crt']);
  });
}

t.test("someone else's Secret of that name: helm refuses to take it over", async (t) => {
  api.secrets.set(`${NAMESPACE}/${SECRET}`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: SECRET, namespace: NAMESPACE }, data: {} });
  const r = await renderAgainstCluster();
  t.not(r.code, 0);
  t.match(r.stderr, /Secret "db-access-webhook-tls" in namespace "db-access-webhook" exists and cannot be imported/);
});
