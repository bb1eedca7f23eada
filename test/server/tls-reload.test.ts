// Certificate files on a kubelet-style Secret volume: rotation while requests flow, bad files, start-up errors.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDevCa, issueServingCertificate, servingNames } from '../../src/tls/dev-certificates.ts';
import { createSecretVolume } from '../helpers/secret-volume.ts';
import { startTestServer } from '../helpers/start-server.ts';
import { createWebhookClient, optedIn, peerCertificate } from '../helpers/webhook-client.ts';

const review = JSON.parse(
  readFileSync(new URL('../fixtures/admission/08-pod-create-kube-apiserver-1.24.review.json', import.meta.url), 'utf8'),
);
const ca = await createDevCa('rotation test CA');
const names = servingNames();
const first = await issueServingCertificate(ca, names);
const second = await issueServingCertificate(ca, names);
const fingerprintOf = (pem: string) => new X509Certificate(pem).fingerprint256;

async function serverOnVolume(t: { teardown(fn: () => unknown): void }) {
  const volume = await createSecretVolume(first);
  t.teardown(() => volume.remove());
  const ts = await startTestServer({
    env: { TLS_CERT_FILE: volume.certFile, TLS_KEY_FILE: volume.keyFile },
    ca: ca.cert,
    tlsReload: { pollIntervalMs: 100, debounceMs: 20 },
  });
  t.teardown(() => ts.close());
  return { volume, ts };
}

async function until(predicate: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await predicate()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

t.test('rotation while requests flow: no failed request, the new certificate is served afterwards', async (t) => {
  const { volume, ts } = await serverOnVolume(t);
  t.equal((await peerCertificate(ts.url, ca.cert)).fingerprint256, fingerprintOf(first.cert));

  // Four kept-alive clients plus a fresh connection per round, so handshakes happen before, during and after.
  const clients = Array.from({ length: 4 }, () => ts.client());
  let stop = false;
  let ok = 0;
  const failures: string[] = [];
  const load = (async () => {
    for (let round = 0; round < 400 && !stop; round++) {
      const fresh = createWebhookClient({ url: ts.url, ca: ca.cert });
      const results = await Promise.allSettled([...clients, fresh].map((c) => c.mutate(optedIn(review))));
      await fresh.close();
      for (const r of results) {
        if (r.status === 'fulfilled' && r.value.status === 200 && r.value.json?.response?.allowed === true) ok++;
        else failures.push(r.status === 'rejected' ? String(r.reason) : `HTTP ${r.value.status}`);
      }
    }
  })();

  await sleep(150);
  await volume.update(second);
  await until(async () => (await peerCertificate(ts.url, ca.cert)).fingerprint256 === fingerprintOf(second.cert), 'the new certificate');
  await sleep(150); // keep the load going on the new certificate
  stop = true;
  await load;
  t.same(failures, [], 'no request failed');
  t.ok(ok > 10, `${ok} requests succeeded`);
  t.equal(ts.server.certificate().fingerprint, fingerprintOf(second.cert));
  // The kept-alive connections are still usable after the rotation.
  for (const c of clients) t.equal((await c.mutate(optedIn(review))).status, 200);

  const metrics = await ts.metrics.registry.metrics();
  t.match(metrics, /db_access_tls_certificate_reloads_total\{result="success"\} 1/);
  t.match(metrics, /db_access_tls_certificate_reloads_total\{result="failure"\} 0/);
  t.ok(ts.logs.records().some((r) => r.msg === 'serving certificate reloaded'));
  t.notOk(ts.logs.lines.some((l) => l.includes('PRIVATE KEY')), 'no key material in the logs');
});

t.test('corrupt, mismatched or expired files keep the last good certificate, logged and counted', async (t) => {
  const { volume, ts } = await serverOnVolume(t);
  const expired = await issueServingCertificate(ca, {
    ...names,
    notBefore: new Date(Date.now() - 48 * 3600_000),
    notAfter: new Date(Date.now() - 3600_000),
  });
  const bad = [
    { cert: '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n', key: second.key },
    { cert: second.cert, key: first.key },
    { cert: expired.cert, key: expired.key },
  ];
  for (const [i, files] of bad.entries()) {
    await volume.update(files);
    await ts.server.reloadCertificate();
    t.equal((await peerCertificate(ts.url, ca.cert)).fingerprint256, fingerprintOf(first.cert), `case ${i}: still the first`);
    const client = ts.client();
    t.equal((await client.mutate(optedIn(review))).status, 200, `case ${i}: still serving`);
  }
  const metrics = await ts.metrics.registry.metrics();
  t.match(metrics, /db_access_tls_certificate_reloads_total\{result="failure"\} 3/);
  const refusals = ts.logs.records().filter((r) => r.msg === 'new serving certificate refused; still serving the last good one');
  t.equal(refusals.length, 3);
  t.match(refusals.map((r) => r.reason), [/not a valid PEM X.509/, /does not belong/, /expired/]);
  t.notOk(ts.logs.lines.some((l) => l.includes('PRIVATE KEY')), 'no key material in the logs');
  // And a good pair afterwards is picked up.
  await volume.update(second);
  await ts.server.reloadCertificate();
  t.equal((await peerCertificate(ts.url, ca.cert)).fingerprint256, fingerprintOf(second.cert));
});

t.test('a missing key file at start-up is a clear error naming TLS_KEY_FILE', async (t) => {
  const volume = await createSecretVolume(first);
  t.teardown(() => volume.remove());
  await t.rejects(
    startTestServer({ env: { TLS_CERT_FILE: volume.certFile, TLS_KEY_FILE: `${volume.dir}/missing.key` }, ca: ca.cert }),
    { name: 'CertificateError', message: /^TLS_KEY_FILE ".*missing.key" cannot be read: no such file$/ },
  );
  await t.rejects(
    startTestServer({ env: { TLS_CERT_FILE: volume.certFile, TLS_KEY_FILE: volume.certFile }, ca: ca.cert }),
    { message: /TLS_KEY_FILE .*private key is not a valid/ },
  );
});

t.test('start-up with a certificate not valid yet: served, with a warning naming notBefore; the names are logged', async (t) => {
  const notBefore = new Date(Date.now() + 3_600_000);
  const early = await issueServingCertificate(ca, { ...names, notBefore });
  const volume = await createSecretVolume(early);
  t.teardown(() => volume.remove());
  const ts = await startTestServer({ env: { TLS_CERT_FILE: volume.certFile, TLS_KEY_FILE: volume.keyFile }, ca: ca.cert });
  t.teardown(() => ts.close());
  const warning = ts.logs.records().find((r) => /not valid yet/.test(String(r.msg)));
  t.match(warning, { level: 40, notBefore: new Date(Math.floor(notBefore.getTime() / 1000) * 1000).toISOString() });
  const listening = ts.logs.records().find((r) => /listening on/.test(String(r.msg)));
  t.match(listening, { subjectAltName: /DNS:db-access-webhook\.db-access-webhook\.svc/ });
});
