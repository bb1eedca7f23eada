// The cluster store against the real @kubernetes/client-node over HTTPS, talking to the in-test Kubernetes API.
import t, { type Test as Tap } from 'tap';
import { createClusterStore } from '../../src/kube/cluster-store.ts';
import type { ClusterStoreOptions } from '../../src/kube/cluster-store.ts';
import { SecretProviderClassError } from '../../src/kube/types.ts';
import type { KubeCallResult, KubeVerb } from '../../src/kube/types.ts';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, APP_LABEL } from '../../src/engine/types.ts';
import type { SecretProviderClass } from '../../src/engine/types.ts';
import { createTestCa } from '../helpers/test-ca.ts';
import { kubeConfigFor, startFakeKubeApi } from '../helpers/fake-kube-api.ts';
import type { FakeKubeApi } from '../helpers/fake-kube-api.ts';

const ca = await createTestCa();

function desired(app = 'orders', namespace = 'acme', environment = 'prod'): SecretProviderClass {
  return {
    apiVersion: 'secrets-store.csi.x-k8s.io/v1',
    kind: 'SecretProviderClass',
    metadata: {
      name: `${app}-database-secrets`,
      namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [APP_LABEL]: app },
    },
    spec: {
      provider: 'aws',
      parameters: {
        region: 'us-east-1',
        objects: `- objectName: "${namespace}-${environment}-database-credentials"\n  objectType: "secretsmanager"\n`,
      },
      secretObjects: [
        {
          secretName: `database-credentials-${app}`,
          type: 'Opaque',
          data: [
            { objectName: 'host', key: 'host' },
            { objectName: 'password', key: 'password' },
          ],
        },
      ],
    },
  };
}

interface Harness {
  api: FakeKubeApi;
  store: ReturnType<typeof createClusterStore>;
  calls: string[];
  logs: Array<{ level: string; obj: Record<string, unknown>; msg: string | undefined }>;
}

async function setup(t: { teardown(fn: () => unknown): void }, options: Partial<ClusterStoreOptions> = {}): Promise<Harness> {
  const api = await startFakeKubeApi({ ca });
  t.teardown(() => api.close());
  const calls: string[] = [];
  const logs: Harness['logs'] = [];
  const logger = {
    info: (obj: object, msg?: string) => logs.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
    warn: (obj: object, msg?: string) => logs.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
    debug: (obj: object, msg?: string) => logs.push({ level: 'debug', obj: obj as Record<string, unknown>, msg }),
  };
  const store = createClusterStore({
    kubeConfig: kubeConfigFor(api),
    logger,
    onCall: (verb: KubeVerb, result: KubeCallResult) => calls.push(`${verb}:${result}`),
    ...options,
  });
  return { api, store, calls, logs };
}

const wet = (ms = 10_000) => ({ dryRun: false, signal: AbortSignal.timeout(ms) });
const dry = (ms = 10_000) => ({ dryRun: true, signal: AbortSignal.timeout(ms) });
const writes = (api: FakeKubeApi) => api.requests.filter((r) => r.method !== 'GET');


t.test('creates a missing SecretProviderClass, then answers from the cache without a call', async (t) => {
  const { api, store, calls } = await setup(t);
  t.same(await store.ensure(desired(), wet()), { outcome: 'created' });
  const stored = api.get('acme', 'orders-database-secrets');
  t.ok(stored, 'the object exists in the API');
  t.same(stored?.spec, desired().spec);
  t.same(stored?.metadata.labels, desired().metadata.labels);
  t.same(
    api.requests.map((r) => `${r.method} ${r.path}`),
    [
      'GET /apis/secrets-store.csi.x-k8s.io/v1/namespaces/acme/secretproviderclasses/orders-database-secrets',
      'POST /apis/secrets-store.csi.x-k8s.io/v1/namespaces/acme/secretproviderclasses',
    ],
  );
  t.same(calls, ['get:not-found', 'create:ok']);
  t.same(api.requests[1]?.query, { fieldManager: 'db-access-webhook' }, 'writes name their field manager');

  const before = api.requests.length;
  t.same(await store.ensure(desired(), wet()), { outcome: 'cached' });
  t.same(await store.ensure(desired(), dry()), { outcome: 'cached' }, 'a dry run may use the cache too');
  t.equal(api.requests.length, before, 'warm path makes no API call');
});

t.test('the cache cannot be fooled: any change in labels or spec goes to the API, a reordered copy only reads', async (t) => {
  const { api, store } = await setup(t);
  t.same(await store.ensure(desired(), wet()), { outcome: 'created' });
  t.same(await store.ensure(desired(), wet()), { outcome: 'cached' });

  // The environment changed: same key, different spec. Not answered from the cache; the object is updated.
  t.same(await store.ensure(desired('orders', 'acme', 'staging'), wet()), { outcome: 'updated' });
  t.match(api.get('acme', 'orders-database-secrets')?.spec, { parameters: { objects: /acme-staging-database-credentials/ } });

  // A label value that only differs in one character is a different object too.
  const relabelled = desired('orders', 'acme', 'staging');
  relabelled.metadata.labels[APP_LABEL] = 'orders ';
  const before = writes(api).length;
  t.not((await store.ensure(relabelled, wet())).outcome, 'cached');
  t.equal(writes(api).length, before + 1, 'the label change is written');

  // The same content with keys in another order: a cache miss at worst (one read), never a write.
  const again = desired('orders', 'acme', 'staging');
  const reordered: SecretProviderClass = {
    spec: { secretObjects: again.spec.secretObjects, parameters: again.spec.parameters, provider: again.spec.provider },
    metadata: { labels: { ...again.metadata.labels }, namespace: again.metadata.namespace, name: again.metadata.name },
    kind: again.kind,
    apiVersion: again.apiVersion,
  } as SecretProviderClass;
  const writesBefore = writes(api).length;
  t.same(await store.ensure(desired('orders', 'acme', 'staging'), wet()), { outcome: 'updated' }, 'the label goes back');
  t.ok(['cached', 'unchanged'].includes((await store.ensure(reordered, wet())).outcome));
  t.equal(writes(api).length, writesBefore + 1, 'no write for a reordered copy');
});

t.test('64 concurrent ensures of one new app make exactly one create', async (t) => {
  const { api, store } = await setup(t);
  api.latencyMs = 20; // keep the flight open while the others join
  const results = await Promise.all(Array.from({ length: 64 }, () => store.ensure(desired(), wet())));
  t.equal(api.count('create'), 1, 'one POST');
  t.equal(api.count('get'), 1, 'one GET');
  t.ok(results.every((r) => r.outcome === 'created'), 'every caller learns the outcome');
  t.equal(store.inFlight, 0, 'no flight left behind');
});

t.test('different apps do not share a flight', async (t) => {
  const { api, store } = await setup(t);
  await Promise.all([store.ensure(desired('a'), wet()), store.ensure(desired('b'), wet())]);
  t.equal(api.count('create'), 2);
  t.ok(api.get('acme', 'a-database-secrets'));
  t.ok(api.get('acme', 'b-database-secrets'));
});

t.test('409 AlreadyExists from a racing replica: read and compare', async (t) => {
  t.test('the other replica wrote the same object: unchanged', async (t) => {
    const { api, store, calls } = await setup(t);
    api.raceNext(1, { verbs: ['create'] });
    t.same(await store.ensure(desired(), wet()), { outcome: 'unchanged' });
    t.same(
      api.requests.map((r) => r.verb),
      ['get', 'create', 'get'],
    );
    t.same(calls, ['get:not-found', 'create:conflict', 'get:ok']);
    t.equal(api.count('update'), 0);
  });
  t.test('the other replica wrote an older version: updated', async (t) => {
    const { api, store } = await setup(t);
    api.raceNext(1, {
      verbs: ['create'],
      mutate: (obj) => {
        (obj.spec as { parameters: Record<string, string> }).parameters.region = 'eu-west-1';
      },
    });
    t.same(await store.ensure(desired(), wet()), { outcome: 'updated' });
    t.same(api.requests.map((r) => r.verb), ['get', 'create', 'get', 'update']);
    t.same(api.get('acme', 'orders-database-secrets')?.spec, desired().spec);
  });
});

t.test('ours but different (environment changed): updated in place, other labels kept', async (t) => {
  const { api, store, calls } = await setup(t);
  const old = desired('orders', 'acme', 'staging');
  const seeded = api.put({ ...old, metadata: { ...old.metadata, labels: { ...old.metadata.labels, team: 'payments' } } });
  t.same(await store.ensure(desired(), wet()), { outcome: 'updated' });
  const stored = api.get('acme', 'orders-database-secrets');
  t.same(stored?.spec, desired().spec);
  t.equal(stored?.metadata.labels?.team, 'payments', 'a label someone else added survives');
  t.equal(stored?.metadata.uid, seeded.metadata.uid, 'same object, not recreated');
  t.not(stored?.metadata.resourceVersion, seeded.metadata.resourceVersion);
  const put = api.requests.find((r) => r.verb === 'update');
  t.equal(put?.method, 'PUT');
  const sent = put?.body as { metadata: Record<string, unknown> } | undefined;
  t.equal(sent?.metadata.resourceVersion, seeded.metadata.resourceVersion, 'optimistic concurrency: the version read');
  t.notOk('managedFields' in (sent?.metadata ?? {}), 'managedFields not echoed back');
  t.same(put?.query, { fieldManager: 'db-access-webhook' });
  t.same(calls, ['get:ok', 'update:ok']);
});

t.test('already right, with server-added fields and extra labels: unchanged, no write', async (t) => {
  const { api, store } = await setup(t);
  const d = desired();
  api.put({
    ...d,
    metadata: {
      ...d.metadata,
      labels: { ...d.metadata.labels, 'argocd.argoproj.io/instance': 'x' },
      annotations: { note: 'hand-made' },
      managedFields: [{ manager: 'kubectl' }],
      creationTimestamp: '2020-01-01T00:00:00Z',
    },
    status: { byPod: [] },
  });
  t.same(await store.ensure(d, wet()), { outcome: 'unchanged' });
  t.same(writes(api), []);
  t.same(await store.ensure(d, wet()), { outcome: 'cached' });
});

t.test('foreign SecretProviderClass (no managed-by label): untouched, warning, logged', async (t) => {
  const { api, store, logs } = await setup(t);
  const d = desired();
  const foreign = api.put({
    ...d,
    metadata: { ...d.metadata, labels: { app: 'orders' } },
    spec: { provider: 'aws', parameters: { objects: 'hand-written' } },
  });
  const result = await store.ensure(d, wet());
  t.equal(result.outcome, 'foreign');
  t.ok(result.warning && result.warning.length < 120, 'warning under 120 characters');
  t.match(result.warning, /orders-database-secrets/);
  t.match(result.warning, /not managed by db-access-webhook/);
  t.same(writes(api), [], 'no write of any kind');
  t.same(api.get('acme', 'orders-database-secrets'), foreign, 'object untouched');
  const warned = logs.find((l) => l.level === 'warn');
  t.same(warned?.obj, { namespace: 'acme', name: 'orders-database-secrets', outcome: 'foreign' }, 'logs names only');

  const before = api.requests.length;
  const again = await store.ensure(d, wet());
  t.equal(again.outcome, 'foreign', 'remembered: still foreign');
  t.equal(again.warning, result.warning);
  t.equal(api.requests.length, before, 'remembered without a call');
});

t.test('a very long name still gives a warning under 120 characters', async (t) => {
  const { api, store } = await setup(t);
  const d = desired('a'.repeat(200));
  api.put({ ...d, metadata: { ...d.metadata, labels: {} } });
  const result = await store.ensure(d, wet());
  t.equal(result.outcome, 'foreign');
  t.ok((result.warning ?? '').length < 120);
});

t.test('dry run never writes', async (t) => {
  t.test('missing object: dry-run, only a read', async (t) => {
    const { api, store } = await setup(t);
    t.same(await store.ensure(desired(), dry()), { outcome: 'dry-run' });
    t.same(api.requests.map((r) => r.method), ['GET']);
    t.equal(api.get('acme', 'orders-database-secrets'), undefined);
    // Not cached: the next real admission still creates it.
    t.same(await store.ensure(desired(), wet()), { outcome: 'created' });
  });
  t.test('ours but different: dry-run, no update', async (t) => {
    const { api, store } = await setup(t);
    const seeded = api.put(desired('orders', 'acme', 'staging'));
    t.same(await store.ensure(desired(), dry()), { outcome: 'dry-run' });
    t.same(writes(api), []);
    t.same(api.get('acme', 'orders-database-secrets'), seeded);
  });
  t.test('64 concurrent dry runs of a new app: no write, and they do not ride a real write', async (t) => {
    const { api, store } = await setup(t);
    api.latencyMs = 10;
    const results = await Promise.all(Array.from({ length: 64 }, () => store.ensure(desired(), dry())));
    t.ok(results.every((r) => r.outcome === 'dry-run'));
    t.same(writes(api), []);
    t.equal(api.count('get'), 1);
  });
});

t.test('API errors become SecretProviderClassError that says what to check', async (t) => {
  t.test('403 on read', async (t) => {
    const { api, store, calls } = await setup(t);
    api.failNext(1, 403);
    const err = await store.ensure(desired(), wet()).catch((e: unknown) => e);
    t.ok(err instanceof SecretProviderClassError);
    const e = err as SecretProviderClassError;
    t.equal(e.status, 403);
    t.match(e.message, /reading SecretProviderClass acme\/orders-database-secrets/);
    t.match(e.message, /RBAC/);
    t.match(e.message, /verb get/);
    t.same(calls, ['get:error']);
  });
  t.test('a failure is logged once per flight, with names and the reason only', async (t) => {
    const { api, store, logs } = await setup(t);
    api.latencyMs = 20;
    api.failNext(1, 403);
    const errors = await Promise.all(Array.from({ length: 8 }, () => store.ensure(desired(), wet()).catch((e: unknown) => e)));
    t.ok(errors.every((e) => e instanceof SecretProviderClassError && e.status === 403), 'every waiter gets the error');
    const warned = logs.filter((l) => l.level === 'warn');
    t.equal(warned.length, 1);
    t.same(warned[0]?.obj, { namespace: 'acme', name: 'orders-database-secrets', outcome: 'error', status: 403 });
    t.match(warned[0]?.msg, /RBAC/);
  });
  t.test('403 on create names the create verb', async (t) => {
    const { api, store } = await setup(t);
    api.failNext(1, 403, { verbs: ['create'] });
    const err = (await store.ensure(desired(), wet()).catch((e: unknown) => e)) as SecretProviderClassError;
    t.equal(err.status, 403);
    t.match(err.message, /creating SecretProviderClass .*verb create/);
  });
  t.test('404 on create: the CRD is missing', async (t) => {
    const { api, store } = await setup(t);
    api.failNext(1, 404, { verbs: ['create'] });
    const err = (await store.ensure(desired(), wet()).catch((e: unknown) => e)) as SecretProviderClassError;
    t.equal(err.status, 404);
    t.match(err.message, /CRD/);
  });
  t.test('not every 403 is RBAC: the API\'s own reason is the diagnosis', async (t) => {
    const { api, store } = await setup(t);
    const forbidden = 'secretproviderclasses.secrets-store.csi.x-k8s.io "orders-database-secrets" is forbidden: ';
    api.failNext(1, 403, { verbs: ['create'], message: `${forbidden}unable to create new content in namespace acme because it is being terminated` });
    const terminating = (await store.ensure(desired(), wet()).catch((e: unknown) => e)) as SecretProviderClassError;
    t.match(terminating.message, /creating SecretProviderClass acme\/orders-database-secrets: Forbidden 403: the namespace is being deleted$/);
    api.failNext(1, 403, {
      verbs: ['create'],
      message: `${forbidden}exceeded quota: spc, requested: count/secretproviderclasses.secrets-store.csi.x-k8s.io=1, used: count/secretproviderclasses.secrets-store.csi.x-k8s.io=10, limited: count/secretproviderclasses.secrets-store.csi.x-k8s.io=10`,
    });
    const quota = (await store.ensure(desired(), wet()).catch((e: unknown) => e)) as SecretProviderClassError;
    t.match(quota.message, /Forbidden 403: refused: .*exceeded quota: spc.*; check ResourceQuotas and admission policies in the namespace$/);
    for (const err of [terminating, quota]) {
      t.equal(err.status, 403);
      t.notMatch(err.message, /RBAC/, 'not sent to check RBAC');
    }
  });
  t.test('404 on create because the namespace is gone: says so, not the CRD', async (t) => {
    const { api, store } = await setup(t);
    api.failNext(1, 404, { verbs: ['create'], message: 'namespaces "acme" not found' });
    const err = (await store.ensure(desired(), wet()).catch((e: unknown) => e)) as SecretProviderClassError;
    t.match(err.message, /NotFound 404: the namespace does not exist$/);
  });
  t.test('500', async (t) => {
    const { api, store } = await setup(t);
    api.failNext(1, 500);
    const err = (await store.ensure(desired(), wet()).catch((e: unknown) => e)) as SecretProviderClassError;
    t.ok(err instanceof SecretProviderClassError);
    t.equal(err.status, 500);
    t.match(err.message, /InternalError 500/);
    t.match(err.message, /API server's health/);
  });
  t.test("500 from another admission webhook: the API's message names it", async (t) => {
    const { api, store } = await setup(t);
    const message = 'Internal error occurred: failed calling webhook "validate.kyverno.svc-fail": context deadline exceeded';
    api.failNext(1, 500, { message, verbs: ['create'] });
    const err = (await store.ensure(desired(), wet()).catch((e: unknown) => e)) as SecretProviderClassError;
    t.equal(err.status, 500);
    t.match(err.message, /^creating SecretProviderClass acme\/orders-database-secrets: InternalError 500: /);
    t.match(err.message, /failed calling webhook "validate\.kyverno\.svc-fail"/);
    t.match(err.message, /the admission webhooks it calls/);
  });
  t.test('a hanging API: the call stops when the signal fires', async (t) => {
    const { api, store } = await setup(t);
    api.hangNext(1);
    const err = (await store.ensure(desired(), wet(200)).catch((e: unknown) => e)) as SecretProviderClassError;
    t.ok(err instanceof SecretProviderClassError);
    t.equal(err.status, undefined);
    t.match(err.message, /no answer within the deadline/);
    t.equal(api.requests[0]?.fault, 'hang', 'the request did reach the hanging API');
    t.equal(store.inFlight, 0, 'the flight was abandoned');
  });
  t.test('a hanging API and a signal that never fires: the store\'s own limit ends it', async (t) => {
    const { api, store } = await setup(t, { maxFlightMs: 200 });
    api.hangNext(1);
    const err = (await store.ensure(desired(), { dryRun: false, signal: new AbortController().signal }).catch((e: unknown) => e)) as SecretProviderClassError;
    t.ok(err instanceof SecretProviderClassError);
    t.match(err.message, /no answer within the deadline/);
  });
  t.test('connection reset', async (t) => {
    const { api, store } = await setup(t);
    api.resetNext(1);
    const err = (await store.ensure(desired(), wet()).catch((e: unknown) => e)) as SecretProviderClassError;
    t.ok(err instanceof SecretProviderClassError);
    t.equal(err.status, undefined);
    t.match(err.message, /cannot reach the Kubernetes API/);
  });
  t.test('connection refused', async (t) => {
    const { api, store } = await setup(t);
    await api.close(); // nothing listens on the port any more
    const err = (await store.ensure(desired(), wet()).catch((e: unknown) => e)) as SecretProviderClassError;
    t.ok(err instanceof SecretProviderClassError);
    t.match(err.message, /cannot reach the Kubernetes API \(connection refused\)/);
  });
  t.test('an untrusted server certificate is refused', async (t) => {
    const { api } = await setup(t);
    const other = await createTestCa('another CA');
    const store = createClusterStore({ kubeConfig: kubeConfigFor({ ...api, ca: other }) });
    const err = (await store.ensure(desired(), wet()).catch((e: unknown) => e)) as SecretProviderClassError;
    t.ok(err instanceof SecretProviderClassError);
    t.match(err.message, /TLS/);
    t.equal(api.count('get'), 0, 'no request was served');
  });
  t.test('an already-aborted signal: no call at all', async (t) => {
    const { api, store } = await setup(t);
    const err = await store.ensure(desired(), { dryRun: false, signal: AbortSignal.abort() }).catch((e: unknown) => e);
    t.ok(err instanceof SecretProviderClassError);
    t.equal(api.requests.length, 0);
  });
  t.test('an object without namespace or name is refused before any call', async (t) => {
    const { api, store } = await setup(t);
    const d = desired();
    d.metadata.namespace = '';
    const err = await store.ensure(d, wet()).catch((e: unknown) => e);
    t.ok(err instanceof SecretProviderClassError);
    t.equal(api.requests.length, 0);
  });
});

t.test('429 with Retry-After', async (t) => {
  t.test('fits in the deadline: waits and retries', async (t) => {
    const { api, store, calls } = await setup(t);
    api.failNext(1, 429, { retryAfterSeconds: 0 });
    t.same(await store.ensure(desired(), wet()), { outcome: 'created' });
    t.same(calls, ['get:error', 'get:not-found', 'create:ok']);
  });
  t.test('does not fit in the deadline: fails at once with a clear message', async (t) => {
    const { api, store } = await setup(t);
    api.failNext(1, 429, { retryAfterSeconds: 30 });
    const err = (await store.ensure(desired(), { ...wet(2000), deadline: Date.now() + 2000 }).catch((e: unknown) => e)) as SecretProviderClassError;
    t.ok(err instanceof SecretProviderClassError);
    t.equal(err.status, 429);
    t.match(err.message, /Retry-After 30s/);
    t.equal(api.requests.length, 1, 'no retry');
  });
  t.test('a wait that would leave no time for the retried call: fails at once, as throttling', async (t) => {
    const { api, store } = await setup(t);
    api.latencyMs = 300; // each call takes 300 ms, so 1 s of waiting leaves 200 ms of the 1.5 s: not enough
    api.failNext(1, 429, { retryAfterSeconds: 1 });
    const err = (await store.ensure(desired(), { ...wet(1500), deadline: Date.now() + 1500 }).catch((e: unknown) => e)) as SecretProviderClassError;
    t.ok(err instanceof SecretProviderClassError);
    t.equal(err.status, 429);
    t.match(err.message, /Retry-After 1s does not fit in the deadline/);
    t.equal(api.requests.length, 1, 'no wait and no retry');
  });
  t.test('the call it waited for runs out of time: the message says it was throttled, not that the API was slow', async (t) => {
    const { api, store } = await setup(t, { maxFlightMs: 1500 });
    api.failNext(1, 429, { retryAfterSeconds: 1 });
    api.hangNext(1); // the retry after the wait never gets an answer
    const err = (await store.ensure(desired(), wet()).catch((e: unknown) => e)) as SecretProviderClassError;
    t.ok(err instanceof SecretProviderClassError);
    t.equal(err.status, 429);
    t.match(err.message, /throttled \(429, waited 1s to retry\), and no answer within the deadline/);
    t.notMatch(err.message, /health/, 'not blamed on a slow API');
    t.equal(api.requests.length, 2, 'one wait, one retry');
  });
  t.test('keeps throttling: bounded retries then an error', async (t) => {
    const { api, store } = await setup(t, { maxThrottleRetries: 2 });
    api.failNext(100, 429, { retryAfterSeconds: 0 });
    const err = (await store.ensure(desired(), wet()).catch((e: unknown) => e)) as SecretProviderClassError;
    t.equal(err.status, 429);
    t.equal(api.requests.length, 3, 'first try and two retries');
  });
});

t.test('409 storm on update: bounded, then an error; then recovery', async (t) => {
  const { api, store } = await setup(t, { maxConflictRetries: 3 });
  api.put(desired('orders', 'acme', 'staging'));
  api.raceNext(100, { verbs: ['update'] });
  const err = (await store.ensure(desired(), wet()).catch((e: unknown) => e)) as SecretProviderClassError;
  t.ok(err instanceof SecretProviderClassError);
  t.equal(err.status, 409);
  t.match(err.message, /still conflicting/);
  t.equal(api.count('update'), 4, 'first update and three retries');
  t.same(api.get('acme', 'orders-database-secrets')?.spec, desired('orders', 'acme', 'staging').spec, 'nothing half-written');

  api.clearFaults();
  t.same(await store.ensure(desired(), wet()), { outcome: 'updated' }, 'no poisoned cache: next call repairs it');
  t.same(api.get('acme', 'orders-database-secrets')?.spec, desired().spec);
});

t.test('a few conflicts on update are absorbed', async (t) => {
  const { api, store, calls } = await setup(t);
  api.put(desired('orders', 'acme', 'staging'));
  api.raceNext(2, { verbs: ['update'] });
  t.same(await store.ensure(desired(), wet()), { outcome: 'updated' });
  t.same(calls, ['get:ok', 'update:conflict', 'get:ok', 'update:conflict', 'get:ok', 'update:ok']);
});

t.test('object deleted between read and update: recreated', async (t) => {
  const { api, store, calls } = await setup(t);
  api.put(desired('orders', 'acme', 'staging'));
  api.raceNext(1, { verbs: ['update'], remove: true });
  t.same(await store.ensure(desired(), wet()), { outcome: 'created' });
  t.same(calls, ['get:ok', 'update:not-found', 'get:not-found', 'create:ok']);
  t.same(api.get('acme', 'orders-database-secrets')?.spec, desired().spec);
});

t.test('recovery after an outage: failures are not cached', async (t) => {
  const { api, store } = await setup(t);
  api.failNext(3, 500);
  for (let i = 0; i < 3; i++) {
    await t.rejects(store.ensure(desired(), wet()), SecretProviderClassError);
  }
  t.equal(store.cacheSize, 0);
  t.same(await store.ensure(desired(), wet()), { outcome: 'created' }, 'recovers by itself');
});

t.test('a failed create is not remembered as success', async (t) => {
  const { api, store } = await setup(t);
  api.failNext(1, 500, { verbs: ['create'] });
  await t.rejects(store.ensure(desired(), wet()), SecretProviderClassError);
  t.equal(api.get('acme', 'orders-database-secrets'), undefined);
  const before = api.requests.length;
  t.same(await store.ensure(desired(), wet()), { outcome: 'created' });
  t.same(api.requests.slice(before).map((r) => r.verb), ['get', 'create']);
});

t.test('single flight: a caller that gives up early does not cancel the others', async (t) => {
  const { api, store } = await setup(t);
  api.latencyMs = 150;
  const early = store.ensure(desired(), wet(50)).catch((e: unknown) => e);
  const patient = store.ensure(desired(), wet());
  t.ok((await early) instanceof SecretProviderClassError, 'the early caller gets its deadline error');
  t.same(await patient, { outcome: 'created' }, 'the patient caller gets the result');
  t.equal(api.count('create'), 1);
});

t.test('an abandoned flight is not joined: the next caller starts afresh', async (t) => {
  const { api, store } = await setup(t);
  api.hangNext(1);
  await t.rejects(store.ensure(desired(), wet(100)), SecretProviderClassError);
  t.same(await store.ensure(desired(), wet()), { outcome: 'created' });
});

t.test('cache entries expire, so a hand edit or deletion gets repaired', async (t) => {
  let clock = 1_000_000;
  const { api, store } = await setup(t, { cacheTtlMs: 60_000, now: () => clock });
  t.same(await store.ensure(desired(), wet()), { outcome: 'created' });
  api.remove('acme', 'orders-database-secrets');
  clock += 30_000;
  t.same(await store.ensure(desired(), wet()), { outcome: 'cached' }, 'within the TTL the cache answers');
  clock += 31_000;
  t.same(await store.ensure(desired(), wet()), { outcome: 'created' }, 'after the TTL it is read again and repaired');
});

/** Waits until `check` holds, for background work the caller does not wait for. */
async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`never happened: ${what}`);
}

t.test('an old cache entry still answers at once, and one background re-check repairs a deleted object', async (t) => {
  let clock = 1_000_000;
  const { api, store, calls } = await setup(t, { cacheTtlMs: 600_000, recheckAfterMs: 60_000, now: () => clock });
  t.same(await store.ensure(desired(), wet()), { outcome: 'created' });
  api.remove('acme', 'orders-database-secrets');
  clock += 59_000;
  t.same(await store.ensure(desired(), wet()), { outcome: 'cached' });
  t.equal(api.requests.length, 2, 'a young entry is not re-checked');
  clock += 1_000;
  for (let i = 0; i < 20; i++) {
    t.same(i % 2 ? store.known(desired()) : await store.ensure(desired(), wet()), { outcome: 'cached' }, 'answered from the cache, not after a call');
  }
  await eventually(() => api.get('acme', 'orders-database-secrets') !== undefined, 'the object is created again');
  t.same(calls, ['get:not-found', 'create:ok', 'get:not-found', 'create:ok'], 'twenty pods, one re-check');
  clock += 30_000;
  t.same(await store.ensure(desired(), wet()), { outcome: 'cached' });
  t.equal(api.requests.length, 4, 'the re-check counts as a fresh confirmation');
});

t.test('pods admitted from a young entry are followed by one re-check when it is due, even with no pod after them', async (t) => {
  const { api, store, calls } = await setup(t, { recheckAfterMs: 200 });
  t.same(await store.ensure(desired(), wet()), { outcome: 'created' });
  api.remove('acme', 'orders-database-secrets'); // deleted by hand (or its namespace recreated) just after the check
  for (let i = 0; i < 5; i++) t.same(store.known(desired()), { outcome: 'cached' }, `pod ${i + 1} of a rollout: from the cache`);
  t.equal(api.requests.length, 2, 'no call on the admission path');
  // Until the client has the answer too: the fake API stores the object before it answers.
  await eventually(() => api.get('acme', 'orders-database-secrets') !== undefined && calls.length === 4, 'recreated with no further pod');
  t.same(calls, ['get:not-found', 'create:ok', 'get:not-found', 'create:ok'], 'one re-check for the five pods');
  await new Promise((r) => setTimeout(r, 500));
  t.equal(api.requests.length, 4, 'and none after it while no pod comes');
});

t.test('only entries that admitted a pod are owed a re-check', async (t) => {
  const { api, store, calls } = await setup(t, { recheckAfterMs: 200 });
  t.same(await store.ensure(desired('orders'), wet()), { outcome: 'created' });
  t.same(await store.ensure(desired('billing'), wet()), { outcome: 'created' });
  t.same(store.known(desired('billing')), { outcome: 'cached' });
  await eventually(() => calls.length === 5, 'billing re-checked');
  await new Promise((r) => setTimeout(r, 400));
  const reads = api.requests.filter((r) => r.method === 'GET').map((r) => r.name);
  t.same(reads, ['orders-database-secrets', 'billing-database-secrets', 'billing-database-secrets'], 'orders, never used, is not');
});

t.test('close() cancels a re-check still owed', async (t) => {
  const { store, calls } = await setup(t, { recheckAfterMs: 200 });
  t.same(await store.ensure(desired(), wet()), { outcome: 'created' });
  t.same(store.known(desired()), { outcome: 'cached' });
  await store.close();
  await new Promise((r) => setTimeout(r, 500));
  t.same(calls, ['get:not-found', 'create:ok'], 'not even an attempt after close()');
});

t.test('a re-check owed to one version does not drop the entry of the next', async (t) => {
  const { api, store } = await setup(t, { recheckAfterMs: 200 });
  const v1 = desired('orders', 'acme', 'prod');
  const v2 = desired('orders', 'acme', 'staging'); // the environment changed: same object, new spec
  t.same(await store.ensure(v1, wet()), { outcome: 'created' });
  t.same(store.known(v1), { outcome: 'cached' }, 'a pod of v1 from the cache: a re-check of v1 is owed');
  t.same(await store.ensure(v2, wet()), { outcome: 'updated' });
  t.same(store.known(v2), { outcome: 'cached' }, 'a pod of v2 from the cache');
  api.remove('acme', 'orders-database-secrets');
  await eventually(() => api.get('acme', 'orders-database-secrets') !== undefined, "v2's own re-check recreates it");
  t.match(api.get('acme', 'orders-database-secrets')?.spec, v2.spec, 'as v2');
  t.same(store.known(v2), { outcome: 'cached' }, "v1's timer left v2's entry in place");
});

t.test('a dry run never starts a re-check (no write on its behalf)', async (t) => {
  let clock = 1_000_000;
  const { api, store } = await setup(t, { recheckAfterMs: 60_000, now: () => clock });
  t.same(await store.ensure(desired(), wet()), { outcome: 'created' });
  api.remove('acme', 'orders-database-secrets');
  clock += 120_000;
  t.same(await store.ensure(desired(), dry()), { outcome: 'cached' });
  t.same(store.known(desired(), true), { outcome: 'cached' });
  await new Promise((r) => setTimeout(r, 50));
  t.equal(api.requests.length, 2, 'no call at all');
});

t.test('a failed re-check keeps the cached answer, is logged once, and is tried again one interval later', async (t) => {
  let clock = 1_000_000;
  const { api, store, logs } = await setup(t, { recheckAfterMs: 60_000, now: () => clock });
  t.same(await store.ensure(desired(), wet()), { outcome: 'created' });
  api.failNext(1, 500);
  clock += 60_000;
  t.same(store.known(desired()), { outcome: 'cached' });
  await eventually(() => logs.some((l) => l.level === 'warn'), 'the failure is logged');
  t.same(store.known(desired()), { outcome: 'cached' }, 'still answered from the cache');
  t.equal(api.requests.length, 3);
  clock += 60_000;
  t.same(store.known(desired()), { outcome: 'cached' });
  await eventually(() => api.requests.length === 4, 'tried again');
  t.equal(logs.filter((l) => l.level === 'warn').length, 1);
});

t.test('re-checks that keep failing do not keep the entry alive: it expires a TTL after the last success', async (t) => {
  let clock = 1_000_000;
  const { api, store, logs } = await setup(t, { cacheTtlMs: 300_000, recheckAfterMs: 60_000, now: () => clock });
  t.same(await store.ensure(desired(), wet()), { outcome: 'created' });
  api.failNext(100, 403); // RBAC revoked
  for (let minute = 1; minute <= 4; minute++) {
    clock += 60_000;
    t.same(store.known(desired()), { outcome: 'cached' }, `minute ${minute}: still cached`);
    await eventually(() => logs.filter((l) => l.level === 'warn').length === minute, `re-check ${minute} failed`);
  }
  clock += 60_000; // five minutes after the create, the last success
  t.equal(store.known(desired()), undefined, 'expired: the next admission asks the API itself');
  await t.rejects(store.ensure(desired(), wet()), /403/, 'and sees the error');
});

t.test('known(): the cache answer without any I/O, and nothing when the API must be asked', async (t) => {
  let clock = 1_000_000;
  const { api, store, calls } = await setup(t, { cacheTtlMs: 60_000, now: () => clock });
  t.equal(store.known(desired()), undefined, 'unknown before the first ensure');
  t.equal(api.requests.length, 0, 'asking made no call');
  t.same(await store.ensure(desired(), wet()), { outcome: 'created' });
  const before = api.requests.length;
  t.same(store.known(desired()), { outcome: 'cached' });
  t.equal(store.known(desired('orders', 'acme', 'staging')), undefined, 'another desired spec is not known');
  t.equal(store.known(desired('billing')), undefined, 'another app is not known');
  t.equal(api.requests.length, before, 'no call');
  t.same(calls, ['get:not-found', 'create:ok'], 'no call counted');
  clock += 61_000;
  t.equal(store.known(desired()), undefined, 'expired entries are not known');

  const d = desired('legacy');
  api.put({ ...d, metadata: { ...d.metadata, labels: { app: 'legacy' } } });
  const first = await store.ensure(d, wet());
  t.same(store.known(d), first, 'a foreign object is known as foreign, with the same warning');
  t.equal(store.known({ ...d, metadata: { ...d.metadata, namespace: '' } }), undefined, 'no namespace: not known');
});

t.test('a changed desired object is not answered from the cache', async (t) => {
  const { store } = await setup(t);
  t.same(await store.ensure(desired('orders', 'acme', 'staging'), wet()), { outcome: 'created' });
  t.same(await store.ensure(desired('orders', 'acme', 'prod'), wet()), { outcome: 'updated' });
});

t.test('the cache is bounded', async (t) => {
  const { store } = await setup(t, { cacheMaxEntries: 2 });
  for (const app of ['a', 'b', 'c']) await store.ensure(desired(app), wet());
  t.equal(store.cacheSize, 2);
  t.same(await store.ensure(desired('c'), wet()), { outcome: 'cached' });
  t.same(await store.ensure(desired('a'), wet()), { outcome: 'unchanged' }, 'the oldest entry was dropped');
});

t.test('logs carry namespace, name and outcome only', async (t) => {
  const { store, logs } = await setup(t);
  await store.ensure(desired(), wet());
  t.ok(logs.length > 0);
  for (const l of logs) {
    t.same(Object.keys(l.obj).sort(), ['name', 'namespace', 'outcome']);
  }
});

t.test('one kept-alive TLS connection for every API call (client-node alone opens one per call)', async (t) => {
  const { api, store } = await setup(t);
  t.teardown(() => store.close());
  for (let i = 0; i < 20; i++) t.same(await store.ensure(desired(`app${i}`), wet()), { outcome: 'created' });
  t.equal(api.requests.length, 40, 'a read and a create per new app');
  // undici may open a second connection when a call starts in the same tick the previous one ends; never more.
  t.ok(api.tlsConnections <= 2, `40 calls on ${api.tlsConnections} connection(s)`);
  // A dropped connection (reset) is replaced by a new one, and the store keeps working.
  api.resetNext(1);
  await t.rejects(store.ensure(desired('reset'), wet()), SecretProviderClassError);
  t.same(await store.ensure(desired('after-reset'), wet()), { outcome: 'created' });
  t.ok(api.tlsConnections <= 4, `reconnected: ${api.tlsConnections} connections`);
});

t.test('the shared connection still sends each call\'s own credentials: the token is applied per request', async (t) => {
  const api = await startFakeKubeApi({ ca });
  t.teardown(() => api.close());
  const kubeConfig = kubeConfigFor(api);
  const store = createClusterStore({ kubeConfig, cacheTtlMs: 0 });
  t.teardown(() => store.close());
  t.same(await store.ensure(desired('one'), wet()), { outcome: 'created' });
  // Credentials change (as a rotated token does): the next call on the same connection carries the new one.
  const user = kubeConfig.getCurrentUser() as { token?: string };
  user.token = 'revoked-token';
  const err = (await store.ensure(desired('two'), wet()).catch((e: unknown) => e)) as SecretProviderClassError;
  t.ok(err instanceof SecretProviderClassError);
  t.equal(err.status, 401, 'the server saw the new (wrong) token');
  user.token = api.token;
  t.same(await store.ensure(desired('two'), wet()), { outcome: 'created' });
  t.ok(api.tlsConnections <= 2, `${api.tlsConnections} connection(s) for 5 calls`);
});

t.test('TLS settings of the kubeconfig hold on the shared connection', async (t) => {
  const api = await startFakeKubeApi({ ca });
  t.teardown(() => api.close());
  const withCluster = (cluster: Record<string, unknown>) => {
    const kc = kubeConfigFor(api);
    const base = kc.getCurrentCluster()!;
    const copy = new (kc.constructor as typeof import('@kubernetes/client-node').KubeConfig)();
    copy.loadFromOptions({
      clusters: [{ ...base, ...cluster }],
      users: [{ name: 'webhook', token: api.token }],
      contexts: [{ name: 'fake', cluster: base.name, user: 'webhook' }],
      currentContext: 'fake',
    });
    return copy;
  };
  // tlsServerName: the certificate is checked against that name instead of the URL's host.
  const named = createClusterStore({ kubeConfig: withCluster({ tlsServerName: 'kubernetes.default.svc' }) });
  t.teardown(() => named.close());
  t.same(await named.ensure(desired('named'), wet()), { outcome: 'created' });
  const misnamed = createClusterStore({ kubeConfig: withCluster({ tlsServerName: 'elsewhere.example' }) });
  t.teardown(() => misnamed.close());
  const refused = (await misnamed.ensure(desired('misnamed'), wet()).catch((e: unknown) => e)) as SecretProviderClassError;
  t.match(refused.message, /certificate name mismatch|cannot reach/);
  // No CA: refused; the same with skipTLSVerify: accepted (client-node's semantics).
  const untrusted = createClusterStore({ kubeConfig: withCluster({ caData: undefined }) });
  t.teardown(() => untrusted.close());
  t.match(((await untrusted.ensure(desired('untrusted'), wet()).catch((e: unknown) => e)) as Error).message, /TLS|cannot reach/);
  const skipping = createClusterStore({ kubeConfig: withCluster({ caData: undefined, skipTLSVerify: true }) });
  t.teardown(() => skipping.close());
  t.same(await skipping.ensure(desired('skipping'), wet()), { outcome: 'created' });
});

t.test('close() ends the kept-alive connection', async (t) => {
  const { store } = await setup(t);
  t.same(await store.ensure(desired('x'), wet()), { outcome: 'created' });
  await store.close();
  await t.resolves(store.close(), 'closing twice is harmless');
});

t.test('a kubeconfig whose exec plugin returns a client certificate keeps working (client-node applies it per call)', async (t) => {
  const https = await import('node:https');
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const { KubeConfig } = await import('@kubernetes/client-node');
  const { issueCertificate } = await import('../helpers/test-ca.ts');
  const leaf = await issueCertificate(ca, { ipAddresses: ['127.0.0.1'] });
  const clientCert = await issueCertificate(ca, { dnsNames: ['webhook-user'] });
  // Answers 404 (not found) to a client that shows a certificate of the CA, 401 to any other.
  const server = https.createServer({ ...leaf, ca: ca.cert, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const authorized = (req.socket as import('node:tls').TLSSocket).authorized;
    res.writeHead(authorized ? 404 : 401, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: authorized ? 404 : 401, reason: authorized ? 'NotFound' : 'Unauthorized' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exec-credential-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const credential = path.join(dir, 'credential.json');
  fs.writeFileSync(credential, JSON.stringify({
    apiVersion: 'client.authentication.k8s.io/v1',
    kind: 'ExecCredential',
    status: { clientCertificateData: clientCert.cert, clientKeyData: clientCert.key },
  }));
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'c', server: `https://127.0.0.1:${(server.address() as import('node:net').AddressInfo).port}`, caData: Buffer.from(ca.cert).toString('base64'), skipTLSVerify: false }],
    users: [{ name: 'u', exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'cat', args: [credential], interactiveMode: 'Never' } }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  const store = createClusterStore({ kubeConfig });
  t.teardown(() => store.close());
  // The read reaches the API with the certificate (404, so it goes on to create); without it the store got 401.
  const err = await store.ensure(desired(), wet()).then(() => undefined, (e: unknown) => e as SecretProviderClassError);
  t.match(err?.message, /creating SecretProviderClass acme\/orders-database-secrets: NotFound 404/, 'the read was authorized; the create hit this stub\'s 404');
});

/** A store whose kubeconfig names the CA by file, as in-cluster configuration does (…/serviceaccount/ca.crt). */
async function caFileSetup(t: Tap, options: Partial<ClusterStoreOptions> = {}) {
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const { KubeConfig } = await import('@kubernetes/client-node');
  const api = await startFakeKubeApi({ ca: await createTestCa('cluster CA year 1') });
  t.teardown(() => api.close());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'serviceaccount-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const caFile = path.join(dir, 'ca.crt');
  fs.writeFileSync(caFile, api.ca.cert);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'c', server: api.url, caFile, skipTLSVerify: false }],
    users: [{ name: 'u', token: api.token }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  const calls: string[] = [];
  const store = createClusterStore({ kubeConfig, onCall: (verb, result) => calls.push(`${verb}:${result}`), ...options });
  t.teardown(() => store.close());
  return { api, store, calls, writeCa: (pem: string) => fs.writeFileSync(caFile, pem) };
}

t.test('the cluster CA rotates: the first call that fails to verify re-reads ca.crt and is retried once', async (t) => {
  const { api, store, calls, writeCa } = await caFileSetup(t);
  t.same(await store.ensure(desired('before'), wet()), { outcome: 'created' });
  const next = await createTestCa('cluster CA year 2');
  await api.rotateCa(next);
  writeCa(next.cert); // the kubelet updates the projected ca.crt
  t.same(await store.ensure(desired('after'), wet()), { outcome: 'created' }, 'no restart needed');
  t.same(calls.slice(2), ['get:error', 'get:not-found', 'create:ok'], 'one failed read, then the retry on a new connection');
});

t.test('calls failing together on the old CA are all retried, not only the one that re-read the files', async (t) => {
  const { api, store, calls, writeCa } = await caFileSetup(t);
  t.same(await store.ensure(desired('before'), wet()), { outcome: 'created' });
  const next = await createTestCa('cluster CA year 2');
  await api.rotateCa(next);
  writeCa(next.cert);
  const apps = ['one', 'two', 'three', 'four'];
  const results = await Promise.all(apps.map((app) => store.ensure(desired(app), wet())));
  t.same(results, apps.map(() => ({ outcome: 'created' })), 'every pod of the rollout is admitted');
  t.equal(calls.filter((c) => c === 'create:ok').length, 1 + apps.length);
});

t.test('ca.crt is also compared on a timer, so a CA bundle that grows is used before anything fails', async (t) => {
  let clock = 1_000_000;
  const { api, store, calls, writeCa } = await caFileSetup(t, { tlsRecheckMs: 30_000, now: () => clock });
  t.same(await store.ensure(desired('before'), wet()), { outcome: 'created' });
  const next = await createTestCa('cluster CA year 2');
  writeCa(`${api.ca.cert.trim()}\n${next.cert}`); // the bundle carries both during the rotation
  clock += 30_000;
  t.same(await store.ensure(desired('during'), wet()), { outcome: 'created' }, 'the re-read bundle trusts the old server certificate');
  await api.rotateCa(next);
  t.same(await store.ensure(desired('after'), wet()), { outcome: 'created' });
  t.notOk(calls.includes('get:error'), 'no call failed');
});

t.test('an empty CA file (caught mid-write) keeps the connection that works', async (t) => {
  const { api, store, calls, writeCa } = await caFileSetup(t, { tlsRecheckMs: 0 });
  t.same(await store.ensure(desired('one'), wet()), { outcome: 'created' });
  writeCa('');
  t.same(await store.ensure(desired('two'), wet()), { outcome: 'created' });
  writeCa(api.ca.cert);
  t.same(await store.ensure(desired('three'), wet()), { outcome: 'created' });
  t.notOk(calls.includes('get:error'), 'no call failed');
});

t.test('ours but being deleted (a finalizer holds it): refused as transient, not cached, recreated once gone', async (t) => {
  const { api, store } = await setup(t, { recheckAfterMs: 0 });
  const want = desired();
  await store.ensure(want, wet());
  t.equal(store.known(want)?.outcome, 'cached');
  const stored = api.get('acme', 'orders-database-secrets')!;
  api.put({ ...stored, metadata: { ...stored.metadata, deletionTimestamp: '2026-11-28T08:00:00Z', finalizers: ['example.com/hold'] } });
  // The next warm admission still answers from the cache and starts the re-check, which finds it going.
  t.equal(store.known(want)?.outcome, 'cached');
  await eventually(() => store.cacheSize === 0, 'the re-check forgets it');
  const err = (await store.ensure(want, wet()).catch((e: unknown) => e)) as SecretProviderClassError;
  t.ok(err instanceof SecretProviderClassError);
  t.equal(err.status, 409, 'transient: the admission answers 503 and the controller retries');
  t.match(err.message, /SecretProviderClass acme\/orders-database-secrets is being deleted/);
  t.equal(writes(api).length, 1, 'only the first create: nothing written to an object being deleted');
  api.remove('acme', 'orders-database-secrets');
  t.equal((await store.ensure(want, wet())).outcome, 'created', 'the first ensure after it is gone recreates it');
});
