// TLS as a client would find it: only TLS 1.2 and 1.3, only forward-secret AEAD suites, with an ECDSA and an RSA
// serving certificate. A permissive control server with the same certificate proves that this machine's OpenSSL
// can offer the weak options, so a refusal is the webhook's, not the client's. The key never reaches the logs.
import t from 'tap';
import { connect, createServer, getCiphers } from 'node:tls';
import type { Server } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';
import { createDevCa, issueServingCertificate, servingNames } from '../../src/tls/dev-certificates.ts';
import { createSecretVolume } from '../helpers/secret-volume.ts';
import { startTestServer } from '../helpers/start-server.ts';
import type { TestServer } from '../helpers/start-server.ts';
import { DEFAULT_SERVERNAME } from '../helpers/webhook-client.ts';
import { assertNoSecrets } from '../helpers/log-capture.ts';
import { ENV } from '../reliability/harness.ts';

/** What the webhook may negotiate on TLS 1.2 (OpenSSL names): ECDHE key exchange, AEAD ciphers. */
const STRONG_TLS12 = /^ECDHE-(ECDSA|RSA)-(AES128-GCM-SHA256|AES256-GCM-SHA384|CHACHA20-POLY1305)$/;
const TLS13_SUITES = new Set(['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256']);

type Handshake = { ok: true; protocol: string; cipher: string } | { ok: false; error: string };

function handshake(port: number, ca: string, opts: { minVersion?: string; maxVersion?: string; ciphers?: string }): Promise<Handshake> {
  return new Promise((resolve) => {
    let socket;
    try {
      socket = connect({
        host: '127.0.0.1',
        port,
        ca,
        servername: DEFAULT_SERVERNAME,
        minVersion: (opts.minVersion ?? 'TLSv1') as 'TLSv1',
        maxVersion: (opts.maxVersion ?? 'TLSv1.3') as 'TLSv1.3',
        // Security level 0 lets the client offer everything it knows; the server must do the refusing.
        ciphers: opts.ciphers ?? 'ALL:@SECLEVEL=0',
      });
    } catch (err) {
      resolve({ ok: false, error: `client cannot offer it: ${(err as Error).message}` });
      return;
    }
    const s = socket;
    s.setTimeout(3_000, () => s.destroy(new Error('handshake timed out')));
    s.once('secureConnect', () => {
      const result: Handshake = { ok: true, protocol: s.getProtocol() ?? '', cipher: s.getCipher().name };
      s.end();
      resolve(result);
    });
    s.once('error', (err) => resolve({ ok: false, error: (err as NodeJS.ErrnoException).code ?? err.message }));
  });
}

async function controlServer(pair: { cert: string; key: string }): Promise<Server> {
  const server = createServer({ ...pair, minVersion: 'TLSv1', ciphers: 'ALL:@SECLEVEL=0' }, (s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}
const portOf = (s: Server) => (s.address() as AddressInfo).port;

const ca = await createDevCa('tls test CA');
const ecPair = await issueServingCertificate(ca, servingNames());
// An RSA serving certificate as well (RSA key exchange and RSA-signed suites only show up with one), under an
// RSA CA of its own: selfsigned signs with the issuer's key type.
const now = Date.now();
const validity = { notBeforeDate: new Date(now - 3_600_000), notAfterDate: new Date(now + 86_400_000) };
const rsaCaPems = await generate([{ name: 'commonName', value: 'tls test RSA CA' }], {
  keyType: 'rsa',
  keySize: 2048,
  algorithm: 'sha256',
  ...validity,
  extensions: [
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
  ],
});
const rsaCa = { cert: rsaCaPems.cert, key: rsaCaPems.private };
const rsaPems = await generate([{ name: 'commonName', value: DEFAULT_SERVERNAME }], {
  keyType: 'rsa',
  keySize: 2048,
  algorithm: 'sha256',
  ...validity,
  ca: rsaCa,
  extensions: [
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 2, value: DEFAULT_SERVERNAME }, { type: 7, ip: '127.0.0.1' }] },
  ],
});
const rsaPair = { cert: rsaPems.cert, key: rsaPems.private };

const tls12Ciphers = getCiphers()
  .map((c) => c.toUpperCase())
  .filter((c) => !c.startsWith('TLS_'));

for (const [label, pair, pin] of [['ECDSA', ecPair, ca.cert], ['RSA', rsaPair, rsaCa.cert]] as const) {
  t.test(`${label} certificate`, async (t) => {
    const volume = await createSecretVolume(pair);
    const ts: TestServer = await startTestServer({ env: { ...ENV, TLS_CERT_FILE: volume.certFile, TLS_KEY_FILE: volume.keyFile }, ca: pin });
    const control = await controlServer(pair);
    t.teardown(async () => {
      await ts.close();
      await new Promise((r) => control.close(r));
      await volume.remove();
    });
    const port = Number(new URL(ts.url).port);

    for (const version of ['TLSv1', 'TLSv1.1'] as const) {
      const c = await handshake(portOf(control), pin, { minVersion: version, maxVersion: version });
      const w = await handshake(port, pin, { minVersion: version, maxVersion: version });
      if (c.ok) t.equal(c.protocol, version, `control: this client can speak ${version}`);
      else t.comment(`this OpenSSL cannot offer ${version} at all (${c.error}); the webhook refusal below is still checked`);
      t.equal(w.ok, false, `${version} is refused by the webhook${w.ok ? ` (negotiated ${w.cipher})` : ` (${w.error})`}`);
    }

    for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
      const w = await handshake(port, pin, { minVersion: version, maxVersion: version, ciphers: 'DEFAULT' });
      t.ok(w.ok && w.protocol === version, `${version} works${w.ok ? ` (${w.cipher})` : ` (${w.error})`}`);
      if (w.ok && version === 'TLSv1.3') t.ok(TLS13_SUITES.has(w.cipher), `TLS 1.3 suite ${w.cipher}`);
    }

    // Every TLS 1.2 suite this OpenSSL knows, one at a time.
    const accepted: string[] = [];
    const weakControl: string[] = [];
    for (const cipher of tls12Ciphers) {
      const w = await handshake(port, pin, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: `${cipher}:@SECLEVEL=0` });
      if (w.ok) accepted.push(w.cipher);
      if (!STRONG_TLS12.test(cipher)) {
        const c = await handshake(portOf(control), pin, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: `${cipher}:@SECLEVEL=0` });
        if (c.ok) weakControl.push(c.cipher);
      }
    }
    t.ok(accepted.length > 0, `some strong suites work: ${accepted.join(', ')}`);
    t.same(accepted.filter((c) => !STRONG_TLS12.test(c)), [], 'only ECDHE + AEAD suites are negotiable on TLS 1.2');
    t.ok(weakControl.length > 0, `the control server (same certificate) accepts weak suites from this client: ${weakControl.slice(0, 8).join(', ')}…`);

    for (const [name, spec] of [['RC4', 'RC4'], ['3DES', '3DES'], ['NULL', 'eNULL'], ['EXPORT', 'EXP'], ['anonymous', 'aNULL'], ['CBC (non-AEAD)', 'AES128-SHA:AES256-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES128-SHA'], ['static RSA key exchange', 'kRSA']] as const) {
      const w = await handshake(port, pin, { minVersion: 'TLSv1', maxVersion: 'TLSv1.2', ciphers: `${spec}:@SECLEVEL=0` });
      t.equal(w.ok, false, `${name} suites are not negotiable${w.ok ? ` (got ${w.cipher})` : ''}`);
    }

    // The private key never appears in the logs (trace level), in any encoding, even after refused reloads.
    await volume.update({ cert: pair.cert, key: 'not a key' });
    await ts.server.reloadCertificate();
    await volume.update({ cert: ecPair.cert === pair.cert ? rsaPair.cert : ecPair.cert, key: pair.key });
    await ts.server.reloadCertificate();
    const keyLines = pair.key.split('\n').filter((l) => l.length >= 40 && !l.startsWith('-----'));
    t.ok(keyLines.length > 0);
    assertNoSecrets(t, ts.logs.lines, [...keyLines, pair.key.trim()]);
    t.notOk(ts.logs.lines.some((l) => l.includes('PRIVATE KEY')), 'no PEM key marker in the logs');
  });
}

t.test('the in-memory self-signed default also refuses TLS 1.1 and weak suites', async (t) => {
  const ts = await startTestServer({ env: ENV });
  t.teardown(() => ts.close());
  const port = Number(new URL(ts.url).port);
  t.equal((await handshake(port, ts.ca, { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1' })).ok, false);
  t.equal((await handshake(port, ts.ca, { maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA:ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0' })).ok, false);
  const ok = await handshake(port, ts.ca, { minVersion: 'TLSv1.3' });
  t.ok(ok.ok, 'TLS 1.3 works');
  const key = ts.server.certificate().key;
  assertNoSecrets(t, ts.logs.lines, key.split('\n').filter((l) => l.length >= 40 && !l.startsWith('-----')));
});
