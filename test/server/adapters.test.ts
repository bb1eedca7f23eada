// The whole path with real adapters: the webhook over HTTPS, the real client-node talking to an in-test Kubernetes
// API, the real AWS SDK talking to an in-test Secrets Manager.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { createPreflight } from '../../src/aws/preflight.ts';
import { kubeConfigFor, startFakeKubeApi, type FakeKubeApi } from '../helpers/fake-kube-api.ts';
import { secretsManagerClientConfigFor, startFakeSecretsManager } from '../helpers/fake-secrets-manager.ts';
import { startTestServer } from '../helpers/start-server.ts';
import { optedIn } from '../helpers/webhook-client.ts';

const review = JSON.parse(
  readFileSync(new URL('../fixtures/admission/01-deployment-pod-mutating-phase.review.json', import.meta.url), 'utf8'),
);
const dryRunReview = JSON.parse(
  readFileSync(new URL('../fixtures/admission/09-pod-create-dryrun-kube-apiserver-1.24.review.json', import.meta.url), 'utf8'),
);
const SPC = ['kubewarden', 'kubewarden-controller-database-secrets'] as const;

async function withKube(t: { teardown(fn: () => unknown): void }, env: Record<string, string> = {}) {
  const api = await startFakeKubeApi();
  t.teardown(() => api.close());
  const ts = await startTestServer({ kubeConfig: kubeConfigFor(api), env });
  t.teardown(() => ts.close());
  return { api, ts };
}

const creates = (api: FakeKubeApi) => api.requests.filter((r) => r.verb === 'create').length;

t.test('64 concurrent pods of one new app: all admitted, exactly one create', async (t) => {
  const { api, ts } = await withKube(t);
  api.latencyMs = 50; // let them pile up behind the first call
  const client = ts.client({ connections: 16 });
  const answers = await Promise.all(
    Array.from({ length: 64 }, (_, i) => {
      const r = optedIn(review);
      r.request.uid = `pod-${i}`;
      return client.mutate(r);
    }),
  );
  t.equal(answers.filter((a) => a.status === 200 && a.json.response.allowed === true && a.json.response.patchType === 'JSONPatch').length, 64);
  t.same(answers.map((a) => a.json.response.uid).sort(), Array.from({ length: 64 }, (_, i) => `pod-${i}`).sort());
  t.equal(creates(api), 1, 'one create');
  t.ok(api.get(...SPC), 'the SecretProviderClass exists in the API');
  const metrics = await ts.metrics.registry.metrics();
  t.match(metrics, /db_access_secretproviderclass_api_calls_total\{verb="create",result="ok"\} 1/);
  t.match(metrics, /db_access_admissions_total\{outcome="injected"\} 64/);
  t.equal(ts.logs.records().filter((r) => r.msg === 'admission').length, 64, 'one line per admission');

  // Warm path: no API call at all.
  const before = api.requests.length;
  t.equal((await client.mutate(optedIn(review))).status, 200);
  t.equal(api.requests.length, before, 'cached: no call');
});

t.test('a dry run makes no write; the patch is the same', async (t) => {
  const { api, ts } = await withKube(t);
  const client = ts.client();
  const dry = optedIn(dryRunReview);
  const res = await client.mutate(dry);
  t.equal(res.json.response.allowed, true);
  t.equal(creates(api), 0);
  t.notOk(api.requests.some((r) => r.verb === 'create' || r.verb === 'update'), 'no write of any kind');
  const wet = optedIn(dryRunReview);
  wet.request.dryRun = false;
  const real = await client.mutate(wet);
  t.equal(real.json.response.patch, res.json.response.patch);
  t.equal(creates(api), 1);
});

t.test('a 409 race (another replica created it first) is read and compared, and the pod is admitted', async (t) => {
  const { api, ts } = await withKube(t);
  // The other replica creates it ...
  const other = await startTestServer({ kubeConfig: kubeConfigFor(api) });
  t.teardown(() => other.close());
  t.equal((await other.client().mutate(optedIn(review))).json.response.allowed, true);
  t.equal(creates(api), 1);
  // ... just after our GET found nothing, so our create meets 409 AlreadyExists.
  api.failNext(1, 404, { verbs: ['get'] });
  const res = await ts.client().mutate(optedIn(review));
  t.equal(res.json.response.allowed, true);
  t.equal(res.json.response.patchType, 'JSONPatch');
  t.notOk(res.json.response.warnings?.some((w: string) => /could not/.test(w)));
  t.equal(creates(api), 2, 'our create was tried');
  t.match(await ts.metrics.registry.metrics(), /db_access_secretproviderclass_api_calls_total\{verb="create",result="conflict"\} 1/);
  t.notOk(api.requests.some((r) => r.verb === 'update'), 'identical: no update');
});

t.test('the Kubernetes API is down: denial (default) or admission with a warning, within the deadline', async (t) => {
  for (const [setting, allowed] of [['deny', false], ['warn', true]] as const) {
    const { api, ts } = await withKube(t, { DB_ACCESS_ON_KUBE_ERROR: setting });
    api.hangNext(100);
    const started = Date.now();
    const res = await ts.client().mutate(optedIn(review), { timeout: '2s' });
    const elapsed = Date.now() - started;
    t.equal(res.status, 200, `${setting}: an answer, not an HTTP error`);
    t.equal(res.json.response.allowed, allowed, `${setting}: allowed=${allowed}`);
    if (allowed) t.ok(res.json.response.warnings.some((w: string) => /could not be ensured/.test(w)));
    else t.match(res.json.response.status.message, /could not ensure SecretProviderClass.*(deadline|answer)/);
    t.ok(elapsed < 2_000, `${setting}: answered within the apiserver's 2 s (${elapsed} ms)`);
    api.clearFaults();
  }
});

t.test('a 403 from the API denies with what to check', async (t) => {
  const { api, ts } = await withKube(t);
  api.failNext(10, 403);
  const res = await ts.client().mutate(optedIn(review));
  t.equal(res.json.response.allowed, false);
  t.equal(res.json.response.status.code, 500);
  t.match(res.json.response.status.message, /403|[Ff]orbidden/);
});

t.test('a foreign SecretProviderClass in the API is left untouched', async (t) => {
  const { api, ts } = await withKube(t);
  const foreign = api.put({
    apiVersion: 'secrets-store.csi.x-k8s.io/v1',
    kind: 'SecretProviderClass',
    metadata: { name: SPC[1], namespace: SPC[0], labels: { owner: 'someone-else' } },
    spec: { provider: 'aws', parameters: { objects: 'x' } },
  });
  const res = await ts.client().mutate(optedIn(review));
  t.equal(res.json.response.allowed, true);
  t.ok(res.json.response.warnings.some((w: string) => /not managed by db-access-webhook/.test(w)));
  t.same(api.get(...SPC), foreign, 'unchanged, same resourceVersion');
  t.notOk(api.requests.some((r) => r.verb === 'update' || r.verb === 'create'));
});

t.test('preflight with the real AWS SDK: missing → deny, throttled → admit with warning', async (t) => {
  const sm = await startFakeSecretsManager();
  t.teardown(() => sm.close());
  const { clientConfig, agent } = secretsManagerClientConfigFor(sm);
  t.teardown(() => agent.destroy());
  const preflight = createPreflight({ region: sm.region, clientConfig, unavailableTtlMs: 0, negativeTtlMs: 0 });
  const ts = await startTestServer({ env: { DB_ACCESS_PREFLIGHT: 'deny' }, preflight });
  t.teardown(() => ts.close());
  const client = ts.client();

  const missing = await client.mutate(optedIn(review));
  t.equal(missing.json.response.allowed, false);
  t.equal(missing.json.response.status.code, 403);
  t.match(missing.json.response.status.message, /kubewarden-dev-database-credentials/);
  t.match(sm.calls[0], { operation: 'DescribeSecret', secretId: 'kubewarden-dev-database-credentials', signed: true });

  sm.addSecret({ name: 'kubewarden-dev-database-credentials' });
  const ok = await client.mutate(optedIn(review));
  t.equal(ok.json.response.allowed, true);

  preflight.clearCache();
  sm.failNext(5, 'ThrottlingException', 400);
  const throttled = await client.mutate(optedIn(review));
  t.equal(throttled.json.response.allowed, true, 'AWS trouble never blocks a pod');
  t.ok(throttled.json.response.warnings.length >= 1);
  const metrics = await ts.metrics.registry.metrics();
  t.match(metrics, /db_access_preflight_results_total\{status="missing"\} 1/);
  t.match(metrics, /db_access_preflight_results_total\{status="unavailable"\} 1/);
});
