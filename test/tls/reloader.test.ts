import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { CertificateReloader, createDevCa, issueServingCertificate, parseKeyPair, type KeyPair, type ReloadEvent } from '../../src/tls/index.ts';
import { createSecretVolume } from '../helpers/secret-volume.ts';

const ca = await createDevCa('reloader test CA');
const first = await issueServingCertificate(ca, { dnsNames: ['first'] });
const second = await issueServingCertificate(ca, { dnsNames: ['second'] });
const third = await issueServingCertificate(ca, { dnsNames: ['third'] });

function recordingLogger() {
  const lines: Array<{ level: string; obj: object; msg: string }> = [];
  const at = (level: string) => (obj: object, msg: string) => void lines.push({ level, obj, msg });
  return { lines, logger: { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') } };
}

/** Waits (bounded) until `predicate` holds. */
async function until(predicate: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (predicate()) return;
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function setup(t: { teardown(fn: () => unknown): void }, options: { pollIntervalMs?: number } = {}) {
  const volume = await createSecretVolume(first);
  t.teardown(() => volume.remove());
  const applied: KeyPair[] = [];
  const events: ReloadEvent[] = [];
  const { lines, logger } = recordingLogger();
  const reloader = new CertificateReloader({
    certFile: volume.certFile,
    keyFile: volume.keyFile,
    initial: parseKeyPair(first.cert, first.key),
    apply: (pair) => void applied.push(pair),
    logger,
    onEvent: (e) => void events.push(e),
    pollIntervalMs: options.pollIntervalMs ?? 60_000,
    debounceMs: 20,
  });
  reloader.start();
  t.teardown(() => reloader.stop());
  return { volume, applied, events, lines, reloader };
}

t.test('a kubelet-style ..data swap is picked up by the directory watch', async (t) => {
  const { volume, applied, events, lines, reloader } = await setup(t);
  await volume.update(second);
  await until(() => applied.length === 1, 'the new pair');
  t.match(applied[0]?.subjectAltName, /DNS:second/);
  t.equal(reloader.current.subjectAltName, applied[0]?.subjectAltName);
  t.same(events.map((e) => e.type), ['reloaded']);
  t.ok(lines.some((l) => l.level === 'info' && l.msg === 'serving certificate reloaded'));
  t.notOk(JSON.stringify(lines).includes('PRIVATE KEY'), 'no key material logged');
});

t.test('polling alone finds a change (no watch events)', async (t) => {
  const volume = await createSecretVolume(first);
  t.teardown(() => volume.remove());
  const applied: KeyPair[] = [];
  const reloader = new CertificateReloader({
    certFile: volume.certFile,
    keyFile: volume.keyFile,
    initial: parseKeyPair(first.cert, first.key),
    apply: (pair) => void applied.push(pair),
    logger: recordingLogger().logger,
    watch: false,
    pollIntervalMs: 50,
  });
  reloader.start();
  t.teardown(() => reloader.stop());
  await volume.update(second);
  await until(() => applied.length === 1, 'a polled reload');
  t.match(applied[0]?.subjectAltName, /DNS:second/);
});

t.test('corrupt, mismatched and expired pairs are refused; the last good pair stays', async (t) => {
  const { volume, applied, events, lines, reloader } = await setup(t);
  const expired = await issueServingCertificate(ca, {
    dnsNames: ['expired'],
    notBefore: new Date(Date.now() - 48 * 3600_000),
    notAfter: new Date(Date.now() - 3600_000),
  });
  const bad = [
    { cert: 'garbage', key: second.key },
    { cert: second.cert, key: third.key },
    { cert: expired.cert, key: expired.key },
  ];
  for (const [i, files] of bad.entries()) {
    await volume.update(files);
    await until(() => events.length === i + 1, `rejection ${i + 1}`);
    t.equal(events[i]?.type, 'rejected');
  }
  t.equal(applied.length, 0, 'nothing installed');
  t.match(reloader.current.subjectAltName, /DNS:first/);
  const errors = lines.filter((l) => l.level === 'error');
  t.equal(errors.length, 3);
  t.match(errors.map((l) => (l.obj as { reason: string }).reason), [
    /not a valid PEM X.509/,
    /does not belong to the certificate/,
    /expired/,
  ]);
  t.ok(errors.every((l) => l.msg.includes('still serving the last good one')));
  // The same bad files polled again are not reported again.
  await reloader.check();
  t.equal(events.length, 3);
  // And a good pair afterwards is installed.
  await volume.update(third);
  await until(() => applied.length === 1, 'the good pair');
  t.match(reloader.current.subjectAltName, /DNS:third/);
  t.notOk(JSON.stringify(lines).includes('PRIVATE KEY'), 'no key material logged');
});

t.test('a pair the server refuses to install is not kept as current', async (t) => {
  const volume = await createSecretVolume(first);
  t.teardown(() => volume.remove());
  const events: ReloadEvent[] = [];
  const reloader = new CertificateReloader({
    certFile: volume.certFile,
    keyFile: volume.keyFile,
    initial: parseKeyPair(first.cert, first.key),
    apply: () => {
      throw new Error('nope');
    },
    logger: recordingLogger().logger,
    onEvent: (e) => void events.push(e),
  });
  await volume.update(second);
  await reloader.check();
  t.same(events, [{ type: 'rejected', reason: 'the TLS server refused the new pair' }]);
  t.match(reloader.current.subjectAltName, /DNS:first/);
});

t.test('unchanged files (a touch) cause no reload', async (t) => {
  const { volume, applied, events, reloader } = await setup(t);
  await volume.update(first);
  await reloader.check();
  await sleep(60);
  t.equal(applied.length, 0);
  t.equal(events.length, 0);
});

t.test('a mismatched pair that settles into a good one within a moment is installed, not reported', async (t) => {
  // What a read across a kubelet ..data swap sees: the certificate of one pair and the key of the next.
  const { volume, applied, events, lines, reloader } = await setup(t);
  await volume.update({ cert: second.cert, key: third.key });
  const checking = reloader.check();
  await sleep(50);
  await volume.update(third);
  await checking;
  await until(() => applied.length === 1, 'the settled pair');
  t.match(reloader.current.subjectAltName, /DNS:third/);
  t.same(events.map((e) => e.type), ['reloaded'], 'no rejection: no false alarm');
  t.same(lines.filter((l) => l.level === 'error'), []);
});

t.test('a pair that is not valid yet keeps the current one serving until its notBefore, then is installed', async (t) => {
  const { volume, applied, events, lines, reloader } = await setup(t);
  const early = await issueServingCertificate(ca, { dnsNames: ['early'], notBefore: new Date(Date.now() + 2_000) });
  await volume.update(early);
  await until(() => lines.some((l) => l.level === 'warn'), 'the warning');
  t.equal(applied.length, 0, 'not installed before its time');
  t.match(reloader.current.subjectAltName, /DNS:first/);
  t.match(lines.find((l) => l.level === 'warn')?.msg, /not valid yet; still serving the current one/);
  await reloader.check();
  t.equal(lines.filter((l) => l.level === 'warn').length, 1, 'said once');
  await until(() => applied.length === 1, 'installed once valid');
  t.match(reloader.current.subjectAltName, /DNS:early/);
  t.same(events.map((e) => e.type), ['reloaded'], 'never counted as a failure');
});
