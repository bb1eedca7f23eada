// certs/generate.ts: a CA and a serving certificate a kube-apiserver-like client accepts for <svc>.<ns>.svc.
import t from 'tap';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseKeyPair } from '../../src/tls/key-pair.ts';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;

t.test('writes ca.crt, ca.key, tls.crt, tls.key with the service names', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'db-access-certs-'));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  const { stdout } = await run(process.execPath, ['certs/generate.ts', 'hook', 'team-a', '--out', out], { cwd: root });
  t.match(stdout, /wrote .*tls.key/);
  const [caCert, cert, key] = await Promise.all(['ca.crt', 'tls.crt', 'tls.key'].map((f) => readFile(join(out, f), 'utf8')));
  const leaf = new X509Certificate(cert!);
  const ca = new X509Certificate(caCert!);
  t.ok(ca.ca);
  t.ok(leaf.verify(ca.publicKey), 'signed by the CA');
  for (const host of ['localhost', 'hook.team-a.svc', 'hook.team-a.svc.cluster.local']) t.ok(leaf.checkHost(host), host);
  t.ok(leaf.checkIP('127.0.0.1'));
  t.ok(parseKeyPair(cert!, key!), 'the pair is usable by the server');
  t.equal((await stat(join(out, 'tls.key'))).mode & 0o077, 0, 'the key is private to its owner');
  t.equal((await stat(join(out, 'ca.key'))).mode & 0o077, 0);
});

t.test('bad names are refused with usage', async (t) => {
  const err = await run(process.execPath, ['certs/generate.ts', 'Not_A_Label'], { cwd: root }).catch((e) => e);
  t.equal(err.code, 2);
  t.match(err.stderr, /service must be a lowercase DNS label; got "Not_A_Label"/);
});
