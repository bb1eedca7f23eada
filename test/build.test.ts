// The server as the container image runs it: compiled by `npm run build` (tsconfig.build.json) and started with
// Node's type stripping turned off, so a `.ts` import left in the output cannot pass unnoticed. It must serve what
// the sources serve, create the SecretProviderClass through the Kubernetes API, and stop cleanly on SIGTERM.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { compileInto } from './helpers/compile.ts';
import { kubeConfigFor, startFakeKubeApi } from './helpers/fake-kube-api.ts';
import { bareEnv, listeningPort, recordsOnce, start, stopGroup } from './helpers/server-process.ts';
import { startTestServer } from './helpers/start-server.ts';
import { createTestCa, issueCertificate } from './helpers/test-ca.ts';
import { createWebhookClient, DEFAULT_SERVERNAME, optedIn } from './helpers/webhook-client.ts';

t.setTimeout(120_000);

const dir = await mkdtemp(join(tmpdir(), 'db-access-build-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const dist = join(dir, 'dist');
compileInto('tsconfig.build.json', dist);

const review = JSON.parse(readFileSync(new URL('./fixtures/admission/01-deployment-pod-mutating-phase.review.json', import.meta.url), 'utf8'));

function filesUnder(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)));
}

t.test('the output is JavaScript only, with no TypeScript import left', async (t) => {
  const files = filesUnder(dist).filter((f) => f !== 'package.json' && !f.startsWith('node_modules'));
  t.ok(files.includes(join('server', 'main.js')), 'the entry');
  t.ok(files.includes(join('server', 'server.js')), 'what the entry imports with import()');
  t.ok(files.includes(join('kube', 'cluster-store.js')), 'and what that imports with import()');
  t.same(files.filter((f) => !f.endsWith('.js')), [], 'nothing but .js');
  t.notOk(files.some((f) => f.startsWith('cli')), 'not the CLI: the image runs the server only');
  for (const file of files) {
    const text = readFileSync(join(dist, file), 'utf8');
    t.notMatch(text, /(?:from\s+|import\(\s*)['"][^'"]+\.ts['"]/, `${file}: no .ts specifier`);
  }
});

t.test('the compiled server answers as the sources do, creates the SecretProviderClass, and stops on SIGTERM', async (t) => {
  const api = await startFakeKubeApi();
  t.teardown(() => api.close());
  const ca = await createTestCa('build test CA');
  const leaf = await issueCertificate(ca, { dnsNames: [DEFAULT_SERVERNAME], ipAddresses: ['127.0.0.1'] });
  await writeFile(join(dir, 'tls.crt'), leaf.cert);
  await writeFile(join(dir, 'tls.key'), leaf.key, { mode: 0o600 });
  await writeFile(join(dir, 'kubeconfig'), kubeConfigFor(api).exportConfig());

  const child = start(process.execPath, ['--no-experimental-strip-types', join(dist, 'server', 'main.js')], bareEnv({
    PORT: '0',
    METRICS_PORT: '0',
    HOST: '127.0.0.1',
    TLS_CERT_FILE: join(dir, 'tls.crt'),
    TLS_KEY_FILE: join(dir, 'tls.key'),
    KUBECONFIG: join(dir, 'kubeconfig'),
    DB_ACCESS_KUBE: 'cluster',
    DB_ACCESS_ENVIRONMENT: 'prod',
  }));
  t.teardown(async () => {
    stopGroup(child, 'SIGKILL');
    await child.exited;
  });
  const port = await listeningPort(child);
  t.ok(port, `started; stderr: ${child.stderr()}`);

  const client = createWebhookClient({ url: `https://127.0.0.1:${port}`, ca: ca.cert });
  t.teardown(() => client.close());
  const sent = optedIn(review);
  const answer = await client.mutate(sent);
  t.equal(answer.status, 200);

  // The same review through the sources, in process (memory store: the answer does not depend on the store).
  const reference = await startTestServer({ env: { DB_ACCESS_ENVIRONMENT: 'prod' } });
  t.teardown(() => reference.close());
  const expected = await reference.client().mutate(sent);
  t.equal(expected.json.response.patchType, 'JSONPatch', 'the reference injected');
  t.same(answer.json, expected.json, 'the same AdmissionReview as the sources answer');
  t.ok(api.get('kubewarden', 'kubewarden-controller-database-secrets'), 'the SecretProviderClass was created through the API');

  child.proc.kill('SIGTERM');
  t.equal(await child.exited, 0, 'exit 0 after SIGTERM');
  const records = await recordsOnce(child, (r) => r.msg === 'stopped');
  t.ok(records.some((r) => r.msg === 'admission'), 'the admission line was written');
  t.ok(records.some((r) => r.msg === 'stopped'), 'a clean stop');
});
