import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import {
  CertificateError,
  createDevCa,
  createDevCertificates,
  issueServingCertificate,
  loadKeyPair,
  loadServingCertificate,
  parseKeyPair,
  servingNames,
} from '../../src/tls/index.ts';

const ca = await createDevCa('key-pair test CA');
const good = await issueServingCertificate(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
const other = await issueServingCertificate(ca, { dnsNames: ['other'] });

t.test('a good pair parses and describes itself without key material', async (t) => {
  const pair = parseKeyPair(good.cert, good.key);
  t.equal(pair.cert, good.cert);
  t.match(pair.subjectAltName, /DNS:localhost/);
  t.match(pair.subjectAltName, /IP Address:127.0.0.1/);
  t.match(pair.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  t.ok(pair.notAfter.getTime() > Date.now());
  t.ok(pair.notBefore.getTime() < Date.now());
});

t.test('bad pairs are refused with a reason', async (t) => {
  const expired = await issueServingCertificate(ca, {
    dnsNames: ['localhost'],
    notBefore: new Date(Date.now() - 48 * 3600_000),
    notAfter: new Date(Date.now() - 3600_000),
  });
  const cases: Array<[string, string, RegExp]> = [
    [good.cert, other.key, /private key does not belong to the certificate/],
    ['not a cert', good.key, /certificate is not a valid PEM X.509 certificate/],
    [good.cert.slice(0, 200), good.key, /certificate is not a valid PEM/],
    [good.cert, 'garbage', /private key is not a valid unencrypted PEM private key/],
    [good.cert, '', /private key is not a valid/],
    [expired.cert, expired.key, /the certificate expired at \d{4}-/],
  ];
  for (const [cert, key, reason] of cases) {
    try {
      parseKeyPair(cert, key);
      t.fail(`accepted: ${reason}`);
    } catch (err) {
      t.ok(err instanceof CertificateError);
      t.match((err as Error).message, reason);
      t.notMatch((err as Error).message, /PRIVATE KEY/, 'no key material in the message');
    }
  }
});

t.test('files: a missing file names its setting', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'db-access-kp-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  await writeFile(certFile, good.cert);
  await t.rejects(loadKeyPair(certFile, keyFile), { name: 'CertificateError', message: /^TLS_KEY_FILE ".*tls.key" cannot be read: no such file$/ });
  await t.rejects(loadKeyPair(join(dir, 'nope.crt'), certFile), { message: /^TLS_CERT_FILE ".*nope.crt" cannot be read: no such file$/ });
  await t.rejects(loadKeyPair(dir, certFile), { message: /TLS_CERT_FILE .* cannot be read: it is a directory/ });
  await writeFile(keyFile, other.key);
  await t.rejects(loadKeyPair(certFile, keyFile), { message: /^TLS_CERT_FILE ".*" \/ TLS_KEY_FILE ".*": the private key does not belong/ });
  await writeFile(keyFile, good.key);
  const pair = await loadKeyPair(certFile, keyFile);
  t.equal(pair.key, good.key);
});

t.test('the embedded default: CA-signed in memory, localhost and the service names', async (t) => {
  const serving = await loadServingCertificate({ certFile: undefined, keyFile: undefined });
  t.equal(serving.source, 'self-signed');
  t.ok(serving.ca);
  const x509 = new X509Certificate(serving.pair.cert);
  t.ok(x509.checkHost('localhost'));
  t.ok(x509.checkIP('127.0.0.1'));
  t.ok(x509.checkHost('db-access-webhook.db-access-webhook.svc'));
  t.ok(x509.verify(new X509Certificate(serving.ca!.cert).publicKey), 'signed by the reported CA');
  t.notOk(x509.ca);
});

t.test('dev certificates: names for a given service and namespace', async (t) => {
  const dev = await createDevCertificates('hook', 'team-a');
  t.same(dev.names, servingNames('hook', 'team-a'));
  const x509 = new X509Certificate(dev.serving.cert);
  t.ok(x509.checkHost('hook.team-a.svc'));
  t.ok(new X509Certificate(dev.ca.cert).ca);
  await t.rejects(issueServingCertificate(dev.ca, {}), /at least one DNS name or IP address/);
});

t.test('a certificate with only a Common Name (no DNS or IP subjectAltName) is refused: Go clients ignore the CN', async (t) => {
  const { generate } = await import('selfsigned');
  const cnOnly = await generate([{ name: 'commonName', value: 'db-access-webhook.db-access-webhook.svc' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    ca: { key: ca.key, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
    ],
  });
  t.equal(new X509Certificate(cnOnly.cert).subjectAltName, undefined, 'the fixture really has no SAN');
  t.throws(() => parseKeyPair(cnOnly.cert, cnOnly.private), {
    name: 'CertificateError',
    message: /no DNS or IP subjectAltName.*<service>\.<namespace>\.svc/,
  });
  const ipOnly = await issueServingCertificate(ca, { ipAddresses: ['10.0.0.1'] });
  t.match(parseKeyPair(ipOnly.cert, ipOnly.key).subjectAltName, 'IP Address:10.0.0.1', 'an IP entry alone is enough');
});
