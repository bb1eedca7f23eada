// The server as the container image runs it: bundled by `npm run build` (scripts/build.ts) into a directory with no
// node_modules anywhere above it, and started with Node's type stripping turned off. It must serve what the sources
// serve, reach the Kubernetes API and Secrets Manager (with IRSA credentials) through the real clients, and stop
// cleanly on SIGTERM. The
// bundle's shape is what keeps its memory low (scripts/build.ts), so that is checked too.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Metafile } from 'esbuild';
import { buildServer, SERVER_ENTRY } from '../scripts/build.ts';
import { kubeConfigFor, startFakeKubeApi } from './helpers/fake-kube-api.ts';
import { startFakeSecretsManager } from './helpers/fake-secrets-manager.ts';
import { FAKE_STS_ACCESS_KEY_ID, startFakeSts } from './helpers/fake-sts.ts';
import { bareEnv, listeningPort, recordsOnce, start, stopGroup } from './helpers/server-process.ts';
import { startTestServer } from './helpers/start-server.ts';
import { createTestCa, issueCertificate } from './helpers/test-ca.ts';
import { createWebhookClient, DEFAULT_SERVERNAME, optedIn } from './helpers/webhook-client.ts';

t.setTimeout(120_000);

const dir = await mkdtemp(join(tmpdir(), 'db-access-build-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const outdir = join(dir, 'dist');
const { main, metafile } = await buildServer(outdir);

const review = JSON.parse(readFileSync(new URL('./fixtures/admission/01-deployment-pod-mutating-phase.review.json', import.meta.url), 'utf8'));

/** The sources in `output` and in everything it imports statically: what a process loads before any import(). */
function loadedWith(meta: Metafile, output: string): string[] {
  const seen = new Set<string>();
  const queue = [output];
  while (queue.length > 0) {
    const next = queue.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    for (const i of meta.outputs[next]?.imports ?? []) if (i.kind === 'import-statement') queue.push(i.path);
  }
  return [...seen].flatMap((o) => Object.keys(meta.outputs[o]?.inputs ?? {}));
}
function outputHolding(meta: Metafile, input: string): string {
  const found = Object.entries(meta.outputs).find(([, o]) => input in o.inputs);
  if (!found) throw new Error(`no output holds ${input}`);
  return found[0];
}
const LAZY = /node_modules\/(@kubernetes\/client-node|@aws-sdk\/client-secrets-manager|selfsigned)\//;

t.test('the bundle: lazily imported libraries stay out of what every process loads', async (t) => {
  const atStart = loadedWith(metafile, outputHolding(metafile, SERVER_ENTRY));
  t.ok(atStart.includes(SERVER_ENTRY));
  t.notOk(atStart.includes('src/server/server.ts'), 'the server is imported after the settings are checked');
  const server = loadedWith(metafile, outputHolding(metafile, 'src/server/server.ts'));
  t.ok(server.some((i) => i.startsWith('node_modules/fastify/')), 'fastify is bundled with the server');
  t.same(server.filter((i) => LAZY.test(i)), [], 'client-node, the AWS SDK and selfsigned load only when used');
  for (const lazy of ['src/kube/cluster-store.ts', 'src/aws/preflight.ts', 'src/tls/dev-certificates.ts']) {
    t.notOk(server.includes(lazy), `${lazy} is in a chunk of its own`);
  }
});

t.test('the bundle holds production dependencies only, whose licence files the image carries', async (t) => {
  const lock = JSON.parse(readFileSync(new URL('../package-lock.json', import.meta.url), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  const inputs = Object.values(metafile.outputs).flatMap((o) => Object.keys(o.inputs));
  const packages = new Set(inputs.flatMap((i) => /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(i)?.[1] ?? []));
  t.ok(packages.has('node_modules/fastify'), `${packages.size} packages`);
  for (const pkg of packages) {
    t.ok(lock.packages[pkg], `${pkg} is in the lockfile`);
    t.notOk(lock.packages[pkg]?.dev, `${pkg} is a production dependency (the image's node_modules has its licence)`);
  }
});

t.test("the bundle: of client-node's generated APIs, only the one the store calls", async (t) => {
  const inputs = Object.values(metafile.outputs).flatMap((o) => Object.keys(o.inputs));
  const apis = inputs.filter((i) => /client-node\/dist\/gen\/apis\/\w+Api\.js$/.test(i)).map((i) => i.split('/').at(-1));
  // A dynamic import('@kubernetes/client-node') would bring back all 60 (about 16 MB of RSS, scripts/build.ts).
  t.same(apis, ['CustomObjectsApi.js']);
});

t.test('the bundle is ASCII, so V8 keeps each chunk at one byte per character', async (t) => {
  const files = readdirSync(outdir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.mjs'));
  t.ok(files.length > 3, `${files.length} chunks`);
  for (const file of files) {
    const bytes = readFileSync(join(outdir, file));
    const at = bytes.findIndex((b) => b > 0x7f);
    t.equal(at, -1, `${file}: no non-ASCII byte`);
  }
  t.ok(readdirSync(outdir, { recursive: true, encoding: 'utf8' }).some((f) => f.endsWith('.LEGAL.txt')), 'licence comments are kept beside the chunks');
});

t.test('the bundled server answers as the sources do, with the real clients, and stops on SIGTERM', async (t) => {
  const ca = await createTestCa('build test CA');
  const api = await startFakeKubeApi();
  t.teardown(() => api.close());
  const sm = await startFakeSecretsManager({ ca });
  t.teardown(() => sm.close());
  sm.addSecret({ name: 'kubewarden-prod-database-credentials' });
  const sts = await startFakeSts(ca);
  t.teardown(() => sts.close());
  await writeFile(join(dir, 'token'), 'header.payload.signature');
  const leaf = await issueCertificate(ca, { dnsNames: [DEFAULT_SERVERNAME], ipAddresses: ['127.0.0.1'] });
  await writeFile(join(dir, 'tls.crt'), leaf.cert);
  await writeFile(join(dir, 'tls.key'), leaf.key, { mode: 0o600 });
  await writeFile(join(dir, 'ca.crt'), ca.cert);
  await writeFile(join(dir, 'kubeconfig'), kubeConfigFor(api).exportConfig());

  // Started from its own directory: nothing may resolve from the repository's node_modules through the cwd either.
  const child = start(process.execPath, ['--no-experimental-strip-types', main], bareEnv({
    PORT: '0',
    METRICS_PORT: '0',
    HOST: '127.0.0.1',
    TLS_CERT_FILE: join(dir, 'tls.crt'),
    TLS_KEY_FILE: join(dir, 'tls.key'),
    KUBECONFIG: join(dir, 'kubeconfig'),
    DB_ACCESS_KUBE: 'cluster',
    DB_ACCESS_ENVIRONMENT: 'prod',
    DB_ACCESS_PREFLIGHT: 'deny',
    // The AWS SDK's own settings, as EKS sets them for a service account with an IAM role (IRSA), with the
    // endpoints pointed at the in-test ones. The web-identity provider is one the SDK loads only when it needs it.
    AWS_REGION: sm.region,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.url,
    AWS_ENDPOINT_URL_STS: sts.url,
    AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/db-access-webhook',
    AWS_WEB_IDENTITY_TOKEN_FILE: join(dir, 'token'),
    AWS_EC2_METADATA_DISABLED: 'true',
    NODE_EXTRA_CA_CERTS: join(dir, 'ca.crt'),
  }), dir);
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

  // The same review through the sources, in process (memory store, no preflight: neither changes a clean answer).
  const reference = await startTestServer({ env: { DB_ACCESS_ENVIRONMENT: 'prod' } });
  t.teardown(() => reference.close());
  const expected = await reference.client().mutate(sent);
  t.equal(expected.json.response.patchType, 'JSONPatch', 'the reference injected');
  t.same(answer.json, expected.json, 'the same AdmissionReview as the sources answer');
  t.ok(api.get('kubewarden', 'kubewarden-controller-database-secrets'), 'the SecretProviderClass was created through the Kubernetes API');
  t.match(sts.calls, [{ action: 'AssumeRoleWithWebIdentity', roleArn: 'arn:aws:iam::123456789012:role/db-access-webhook', webIdentityToken: 'header.payload.signature' }], 'the SDK took the role with the projected token');
  t.match(
    sm.calls,
    [{ operation: 'DescribeSecret', secretId: 'kubewarden-prod-database-credentials', signed: true, accessKeyId: FAKE_STS_ACCESS_KEY_ID }],
    "the preflight asked Secrets Manager, signed with the role's credentials",
  );

  sm.removeSecret('kubewarden-prod-database-credentials');
  const other = optedIn(review, {});
  other.request.uid = 'a-second-uid';
  other.request.namespace = 'acme';
  other.request.object.metadata.namespace = 'acme';
  const denied = await client.mutate(other);
  t.equal(denied.json.response.allowed, false, 'a missing secret denies the pod (DB_ACCESS_PREFLIGHT=deny)');
  t.match(denied.json.response.status.message, /acme-prod-database-credentials/);

  child.proc.kill('SIGTERM');
  t.equal(await child.exited, 0, 'exit 0 after SIGTERM');
  const records = await recordsOnce(child, (r) => r.msg === 'stopped');
  t.equal(records.filter((r) => r.msg === 'admission').length, 2, 'one admission line each');
  t.ok(records.some((r) => r.msg === 'stopped'), 'a clean stop');
});
