// A server with certificate files must not load the development-certificate library (about 6 MB of RSS it would
// never use); only the embedded default, which makes its certificate in memory, may. Watched with a module load
// hook registered before the module under test is imported.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { registerHooks } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const loaded: string[] = [];
registerHooks({
  load(url, context, next) {
    loaded.push(url);
    return next(url, context);
  },
});
const selfsignedLoaded = (): boolean => loaded.some((url) => url.includes('/node_modules/selfsigned/'));

// The pair is made in a child process, so this process never loads the library for it.
const pair = JSON.parse(
  execFileSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const { createDevCertificates } = await import(${JSON.stringify(new URL('../../src/tls/dev-certificates.ts', import.meta.url).href)});
       process.stdout.write(JSON.stringify((await createDevCertificates()).serving));`,
    ],
    { encoding: 'utf8' },
  ),
) as { cert: string; key: string };

const { loadServingCertificate } = await import('../../src/tls/serving-certificate.ts');

t.test('certificate files: the development-certificate library is never loaded', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'serving-cert-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'tls.crt'), pair.cert);
  await writeFile(join(dir, 'tls.key'), pair.key);
  const serving = await loadServingCertificate({ certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') });
  t.equal(serving.source, 'files');
  t.equal(serving.pair.cert, pair.cert);
  t.ok(loaded.some((url) => url.endsWith('/src/tls/serving-certificate.ts')), 'the hook sees this module graph');
  t.notOk(selfsignedLoaded(), 'selfsigned was not loaded');
});

t.test('no files: the embedded default loads it and makes a certificate', async (t) => {
  const serving = await loadServingCertificate({ certFile: undefined, keyFile: undefined });
  t.equal(serving.source, 'self-signed');
  t.ok(selfsignedLoaded(), 'selfsigned was loaded for the in-memory certificate');
});
