// Certificate rotation under load, beyond the server's own tests (test/server/tls-reload.test.ts): five
// kubelet-style rotations while 16 kept-alive clients and a fresh connection per round keep posting; then a
// careless in-place rewrite (certificate first, key later) that is briefly a mismatched pair. Zero failed
// requests throughout; the mismatch is refused with a log line and a metric; the good pair is picked up after.
import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDevCa, issueServingCertificate, servingNames } from '../../src/tls/dev-certificates.ts';
import { createSecretVolume } from '../helpers/secret-volume.ts';
import { startTestServer } from '../helpers/start-server.ts';
import { createWebhookClient, peerCertificate } from '../helpers/webhook-client.ts';
import type { WebhookClient } from '../helpers/webhook-client.ts';
import { ENV, podReview } from './harness.ts';

t.setTimeout(60_000);

const ca = await createDevCa('rotation-under-load CA');
const names = servingNames();
const pairs = await Promise.all(Array.from({ length: 7 }, () => issueServingCertificate(ca, names)));
const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

async function until(what: string, predicate: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await predicate()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

t.test('rotations and a careless in-place rewrite under load: zero failed requests', async (t) => {
  const volume = await createSecretVolume(pairs[0]!);
  t.teardown(() => volume.remove());
  const ts = await startTestServer({
    env: { ...ENV, TLS_CERT_FILE: volume.certFile, TLS_KEY_FILE: volume.keyFile },
    ca: ca.cert,
    tlsReload: { pollIntervalMs: 100, debounceMs: 20 },
    // Handshakes under 17-way load are CPU-heavy; on a busy CI machine deliberate load shedding (a 503, tested in
    // overload.test.ts) would read as a failed request here.
    app: { overload: false },
  });
  t.teardown(() => ts.close());
  const served = async () => (await peerCertificate(ts.url, ca.cert)).fingerprint256;

  const kept = Array.from({ length: 16 }, () => ts.client());
  let stop = false;
  let ok = 0;
  const failures: string[] = [];
  const load = (async () => {
    for (let round = 0; round < 2_000 && !stop; round++) {
      const fresh: WebhookClient = createWebhookClient({ url: ts.url, ca: ca.cert });
      const results = await Promise.allSettled([...kept, fresh].map((c, i) => c.mutate(podReview(`rot${i % 4}`))));
      await fresh.close();
      for (const r of results) {
        if (r.status === 'fulfilled' && r.value.status === 200 && r.value.json?.response?.allowed === true) ok++;
        else failures.push(r.status === 'rejected' ? String(r.reason) : `HTTP ${r.value.status}`);
      }
    }
  })();

  for (let i = 1; i <= 5; i++) {
    const next = pairs[i]!;
    await volume.update(next);
    await until(`rotation ${i}`, async () => (await served()) === fingerprint(next.cert));
  }

  // A tool that rewrites the files in place: for a moment the certificate is new and the key is old.
  const last = pairs[6]!;
  await volume.overwrite('tls.crt', last.cert);
  await ts.server.reloadCertificate();
  t.equal(await served(), fingerprint(pairs[5]!.cert), 'the mismatched pair is refused: still the last good one');
  await volume.overwrite('tls.key', last.key);
  await until('the completed pair', async () => (await served()) === fingerprint(last.cert));

  stop = true;
  await load;
  t.same(failures.slice(0, 5), [], `no request failed (${failures.length} failures, ${ok} successes)`);
  t.ok(ok > 100, `${ok} admissions answered during the rotations`);
  for (const c of kept) t.equal((await c.mutate(podReview('after'))).status, 200, 'kept-alive connection still usable');

  const metrics = await ts.metrics.registry.metrics();
  t.match(metrics, /db_access_tls_certificate_reloads_total\{result="success"\} 6/, 'six reloads counted');
  t.match(metrics, /db_access_tls_certificate_reloads_total\{result="failure"\} [1-9]/, 'the refused pair counted');
  const notAfter = Number(/^db_access_tls_certificate_not_after_seconds (\S+)$/m.exec(metrics)?.[1]);
  const expected = Math.floor(new X509Certificate(last.cert).validToDate.getTime() / 1000);
  t.equal(notAfter, expected, `expiry gauge follows the served pair (${/^db_access_tls_certificate_not_after_seconds .*$/m.exec(metrics)?.[0]}, expected ${expected})`);
  t.ok(ts.logs.records().some((r) => r.msg === 'new serving certificate refused; still serving the last good one'), 'and logged');
  t.notOk(ts.logs.lines.some((l) => l.includes('PRIVATE KEY')), 'no key material in the logs');
});

t.test('expired and corrupt files under load: the last good pair keeps serving, logged and counted', async (t) => {
  const good = pairs[0]!;
  const volume = await createSecretVolume(good);
  t.teardown(() => volume.remove());
  const ts = await startTestServer({
    env: { ...ENV, TLS_CERT_FILE: volume.certFile, TLS_KEY_FILE: volume.keyFile },
    ca: ca.cert,
    tlsReload: { pollIntervalMs: 100, debounceMs: 20 },
  });
  t.teardown(() => ts.close());
  const expired = await issueServingCertificate(ca, { ...names, notBefore: new Date(Date.now() - 48 * 3_600_000), notAfter: new Date(Date.now() - 3_600_000) });
  const bad = [
    { what: 'expired', files: expired },
    { what: 'corrupt certificate', files: { cert: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', key: good.key } },
    { what: 'corrupt key', files: { cert: good.cert, key: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' } },
    { what: 'empty files', files: { cert: '', key: '' } },
  ];
  let stop = false;
  const failures: string[] = [];
  let ok = 0;
  const load = (async () => {
    for (let round = 0; round < 2_000 && !stop; round++) {
      const fresh = createWebhookClient({ url: ts.url, ca: ca.cert });
      const r = await fresh.mutate(podReview('bad-files')).then(
        (a) => (a.status === 200 ? 'ok' : `HTTP ${a.status}`),
        (e: Error) => e.message,
      );
      await fresh.close();
      if (r === 'ok') ok++;
      else failures.push(r);
    }
  })();
  for (const { what, files } of bad) {
    await volume.update(files);
    await ts.server.reloadCertificate();
    await sleep(150); // let polls see it too (reported once per bad pair)
    t.equal((await peerCertificate(ts.url, ca.cert)).fingerprint256, fingerprint(good.cert), `${what}: still serving the last good pair`);
  }
  stop = true;
  await load;
  t.same(failures.slice(0, 5), [], `no failed handshake or request (${ok} fresh connections served)`);
  const metrics = await ts.metrics.registry.metrics();
  t.match(metrics, new RegExp(`db_access_tls_certificate_reloads_total\\{result="failure"\\} ${bad.length}\\b`), 'each bad pair counted once');
  const refusals = ts.logs.records().filter((r) => r.msg === 'new serving certificate refused; still serving the last good one');
  t.equal(refusals.length, bad.length, 'each logged once, with the reason');
  t.ok(refusals.every((r) => typeof r.reason === 'string' && typeof r.servingFingerprint === 'string'), 'each refusal names the reason and the pair still served');
  t.notOk(ts.logs.lines.some((l) => l.includes('PRIVATE KEY') || l.includes(good.key.split('\n')[1] ?? 'x')), 'no key material in the logs');
});

t.test('a missing key at start-up is a clear error naming TLS_KEY_FILE', async (t) => {
  const volume = await createSecretVolume(pairs[0]!);
  t.teardown(() => volume.remove());
  await t.rejects(
    startTestServer({ env: { ...ENV, TLS_CERT_FILE: volume.certFile, TLS_KEY_FILE: `${volume.dir}/absent.key` }, ca: ca.cert }),
    { message: /TLS_KEY_FILE/ },
  );
});
