// Log hygiene at every level: the same scenarios (injection, cache hit, dry run, foreign object, Kubernetes API
// errors, AWS preflight with tags, skipped kinds carrying a Secret, malformed and oversized bodies, credentials in
// headers and query strings) run at LOG_LEVEL trace, debug, info, warn and error; every line is searched for
// planted values in every encoding (test/helpers/log-capture.ts).
import t from 'tap';
import { request } from 'undici';
import { createPreflight } from '../../src/aws/preflight.ts';
import { kubeConfigFor, startFakeKubeApi } from '../helpers/fake-kube-api.ts';
import type { FakeKubeApi } from '../helpers/fake-kube-api.ts';
import { secretsManagerClientConfigFor, startFakeSecretsManager } from '../helpers/fake-secrets-manager.ts';
import type { FakeSecretsManager } from '../helpers/fake-secrets-manager.ts';
import { startTestServer } from '../helpers/start-server.ts';
import { DEFAULT_SERVERNAME } from '../helpers/webhook-client.ts';
import { plainPod, reviewFor } from '../helpers/fuzz-arbitraries.ts';
import { assertNoSecrets, createLogCapture, plantSecrets, plantedSecrets, sentinel } from '../helpers/log-capture.ts';
import { ENV, ENVIRONMENT, desiredSpc } from '../reliability/harness.ts';

const ORG_TAG = 'db-access/organization';
const LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;

let api: FakeKubeApi;
let sm: FakeSecretsManager;
t.before(async () => {
  api = await startFakeKubeApi();
  sm = await startFakeSecretsManager({ region: 'eu-west-1' });
});
t.teardown(async () => {
  await api.close();
  await sm.close();
});

for (const level of LEVELS) {
  t.test(`LOG_LEVEL=${level}`, async (t) => {
    const planted = plantedSecrets();
    const extra = {
      secretData: sentinel('SECRETDATA'),
      stringData: sentinel('STRINGDATA'),
      awsKey: sentinel('AWSKEY'),
      tag: sentinel('TAG'),
      bearer: sentinel('BEARER'),
      query: sentinel('QUERY'),
      badJson: sentinel('BADJSON'),
      oversized: sentinel('OVERSIZED'),
    };
    const all = [...planted.all, ...Object.values(extra)];
    const ns = `org-${level}`;
    sm.addSecret({ name: `${ns}-${ENVIRONMENT}-database-credentials`, tags: { [ORG_TAG]: ns, 'cost-center': extra.tag } });

    const preflightLogs = createLogCapture();
    const { clientConfig, agent } = secretsManagerClientConfigFor(sm);
    t.teardown(() => agent.destroy());
    const preflight = createPreflight({
      region: 'eu-west-1',
      orgTagKey: ORG_TAG,
      logger: preflightLogs.logger(level),
      clientConfig: { ...clientConfig, credentials: { accessKeyId: 'AKIAPLANTEDPLANTED00', secretAccessKey: extra.awsKey } },
    });
    const ts = await startTestServer({
      env: { ...ENV, LOG_LEVEL: level, DB_ACCESS_PREFLIGHT: 'warn', DB_ACCESS_PREFLIGHT_ORG_TAG: ORG_TAG },
      kubeConfig: kubeConfigFor(api),
      preflight,
    });
    t.teardown(() => ts.close());
    const client = ts.client();
    const pod = (app: string) => plantSecrets(plainPod(app), planted);

    // Injection, then the cache hit, then a dry run of a new app.
    t.equal((await client.mutate(reviewFor(pod('web'), ns))).json.response.allowed, true);
    t.equal((await client.mutate(reviewFor(pod('web'), ns))).json.response.allowed, true);
    t.equal((await client.mutate(reviewFor(pod('dry'), ns, undefined, { dryRun: true }))).json.response.allowed, true);
    // A foreign SecretProviderClass (no managed-by label) with a planted value in its spec.
    api.put({ ...desiredSpc('theirs', ns), metadata: { name: 'theirs-database-secrets', namespace: ns, labels: {} }, spec: { provider: 'aws', parameters: { objects: planted.annotationValue } } } as never);
    const foreign = (await client.mutate(reviewFor(pod('theirs'), ns))).json.response.warnings as string[];
    t.ok(foreign.some((w) => /left untouched|not managed/.test(w)), 'the foreign object is left alone, with a warning');
    // Kubernetes API errors: 500 and 403.
    api.failNext(5, 500);
    t.equal((await client.mutate(reviewFor(pod('fails'), ns))).json.response.allowed, false);
    api.failNext(5, 403);
    t.equal((await client.mutate(reviewFor(pod('forbidden'), ns))).json.response.allowed, false);
    api.clearFaults();
    // AWS: throttled, then a secret in another organization's name (tag mismatch).
    sm.failNext(5, 'ThrottlingException');
    await client.mutate(reviewFor(pod('throttled'), `${ns}-x`));
    sm.clearFaults();
    sm.addSecret({ name: `${ns}-y-${ENVIRONMENT}-database-credentials`, tags: { [ORG_TAG]: 'someone-else', 'cost-center': extra.tag } });
    await client.mutate(reviewFor(pod('mismatch'), `${ns}-y`));
    // Skipped: a Secret (with data) and an UPDATE of a pod.
    const secretObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', annotations: { 'db-access/enabled': 'true' } }, data: { password: Buffer.from(extra.secretData).toString('base64') }, stringData: { password: extra.stringData } };
    await client.mutate(reviewFor(secretObject, ns, undefined, { kind: { group: '', version: 'v1', kind: 'Secret' }, resource: { group: '', version: 'v1', resource: 'secrets' } }));
    await client.mutate(reviewFor(pod('updated'), ns, undefined, { operation: 'UPDATE', oldObject: pod('old') }));
    // Refused before admission: invalid JSON, oversized, wrong content type, unknown route.
    t.equal((await client.mutate(`{"request": {"uid": "${extra.badJson}"`)).status, 400);
    t.equal((await client.mutate(JSON.stringify(reviewFor({ ...pod('big'), blob: `${extra.oversized}${'x'.repeat(4 * 1024 * 1024)}` }, ns)))).status, 413);
    t.equal((await client.mutate(JSON.stringify(reviewFor(pod('ct'), ns)), { contentType: 'text/plain' })).status, 415);
    // Credentials in a header and in the query string.
    const res = await request(`${ts.url}/mutate?timeout=10s&token=${extra.query}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${extra.bearer}`, cookie: `session=${extra.bearer}` },
      body: JSON.stringify(reviewFor(pod('hdr'), ns)),
      dispatcher: undefined,
    }).catch(() => undefined);
    void res;
    await request(`${ts.url}/nowhere/${extra.query}?token=${extra.query}`, { method: 'POST', body: '{}' }).catch(() => undefined);

    const lines = [...ts.logs.lines, ...preflightLogs.lines];
    // At error level these scenarios log nothing (they are answers, not faults of the webhook): nothing to search.
    const minLines = level === 'error' ? 0 : level === 'warn' ? 1 : 10;
    assertNoSecrets(t, lines, all, { minLines });
    t.notOk(lines.some((l) => l.includes(api.token)), 'the Kubernetes bearer token is never logged');
    if (level === 'info') {
      const admissions = ts.logs.records().filter((r) => r.msg === 'admission');
      t.ok(admissions.length >= 10, `one line per admission (${admissions.length})`);
      t.ok(admissions.every((r) => typeof r.uid === 'string' && typeof r.durationMs === 'number'), 'each with uid and duration');
    }
  });
}

t.test('the err serializer drops what an HTTP client error carries (response body and headers), at any depth', async (t) => {
  const { createLogger } = await import('../../src/server/logger.ts');
  const { ApiException } = await import('@kubernetes/client-node');
  const { SecretProviderClassError } = await import('../../src/kube/types.ts');
  const bodySecret = sentinel('APIBODY');
  const headerSecret = sentinel('APIHEADER');
  // client-node 2 builds ApiException's message from the response: "HTTP-Code … Body: {…} Headers: {…}".
  const apiError = new ApiException(422, 'Unprocessable', { kind: 'Status', message: `objects: Invalid value: "${bodySecret}"` }, { 'set-cookie': headerSecret });
  const wrapped = new SecretProviderClassError('creating SecretProviderClass tenant-a/web-database-secrets: Invalid 422: …', 422, { cause: apiError });
  const capture = createLogCapture();
  const logger = createLogger('trace', capture.destination); // the production logger and its err serializer
  logger.error({ err: wrapped }, 'admission');
  logger.error({ err: apiError }, 'unexpected error');
  assertNoSecrets(t, capture.lines, [bodySecret, headerSecret]);
});
