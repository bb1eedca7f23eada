// Racing replicas: several webhook replicas (one cluster store each, as in a 2+ replica Deployment) ensure the same
// SecretProviderClass against one Kubernetes API at once. Exactly one create wins; the others read and compare;
// everyone admits; nothing is left half-written; bounded retries end even when writers keep disagreeing.
import t from 'tap';
import { createClusterStore } from '../../src/kube/cluster-store.ts';
import type { ClusterStore } from '../../src/kube/cluster-store.ts';
import { decide } from '../../src/engine/index.ts';
import type { EnginePolicy, SecretProviderClass } from '../../src/engine/index.ts';
import { SecretProviderClassError } from '../../src/kube/types.ts';
import { kubeConfigFor, startFakeKubeApi } from '../helpers/fake-kube-api.ts';
import type { FakeKubeApi } from '../helpers/fake-kube-api.ts';
import { plainPod } from '../helpers/fuzz-arbitraries.ts';
import { createLogCapture, assertNoSecrets, plantedSecrets, plantSecrets } from '../helpers/log-capture.ts';

const policy = (environment: string): EnginePolicy => ({
  environment,
  region: 'eu-west-1',
  webhookNamespace: 'db-access-webhook',
  excludedNamespaces: [],
  usePodIdentity: false,
  urlFromSecret: false,
});

function desiredFor(app: string, namespace: string, environment = 'prod', pod: Record<string, unknown> = plainPod(app)): SecretProviderClass {
  const d = decide(
    { uid: 'u', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, operation: 'CREATE', namespace, object: pod },
    policy(environment),
  );
  if (d.action !== 'inject') throw new Error(`fixture pod not injected: ${JSON.stringify(d)}`);
  return d.secretProviderClass;
}

const capture = createLogCapture();
const planted = plantedSecrets();

function replicas(api: FakeKubeApi, n: number): ClusterStore[] {
  return Array.from({ length: n }, () =>
    createClusterStore({ kubeConfig: kubeConfigFor(api), logger: capture.logger('trace') }),
  );
}

const ensureOpts = () => ({ dryRun: false, signal: AbortSignal.timeout(5_000) });

let api: FakeKubeApi;
t.before(async () => {
  api = await startFakeKubeApi();
});
t.teardown(async () => {
  await api.close();
});

t.test('4 replicas × 16 concurrent pods of a new app: one create, every admission succeeds', async (t) => {
  const stores = replicas(api, 4);
  const desired = desiredFor('checkout', 'tenant-a', 'prod', plantSecrets(plainPod('checkout'), planted));
  const before = api.requests.length;
  const perReplica = await Promise.all(stores.map((s) => Promise.all(Array.from({ length: 16 }, () => s.ensure(desired, ensureOpts())))));
  const log = api.requests.slice(before);
  for (const results of perReplica) {
    t.equal(new Set(results.map((r) => r.outcome)).size, 1, 'the 16 pods of one replica share one answer (one flight)');
  }
  const outcomes = perReplica.map((results) => results[0]?.outcome);
  t.equal(outcomes.filter((o) => o === 'created').length, 1, `exactly one replica created it: ${outcomes.join(',')}`);
  t.ok(outcomes.every((o) => o === 'created' || o === 'unchanged'), 'the others read it back and found it right');
  const stored = api.get('tenant-a', 'checkout-database-secrets');
  t.ok(log.filter((r) => r.verb === 'create').length <= 4, 'at most one create attempt per replica (single flight inside each)');
  t.equal(log.filter((r) => r.verb === 'update').length, 0, 'no needless update');
  t.ok(log.every((r) => r.namespace === 'tenant-a'), 'only tenant-a was touched');
  t.same(stored?.spec, desired.spec, 'the stored object is complete and right');
  t.same(stored?.metadata.labels, desired.metadata.labels);
});

t.test('409 storm: every create loses a race, the replicas read, compare and admit', async (t) => {
  const stores = replicas(api, 3);
  const desired = desiredFor('storm', 'tenant-b');
  api.raceNext(3, { verbs: ['create'] });
  const results = await Promise.all(stores.map((s) => s.ensure(desired, ensureOpts())));
  t.ok(results.every((r) => r.outcome === 'unchanged'), `all read the winner's object: ${results.map((r) => r.outcome).join(',')}`);
  t.same(api.get('tenant-b', 'storm-database-secrets')?.spec, desired.spec);
});

t.test('409 storm where the other replica wrote an older version: ours is brought in line, once', async (t) => {
  const stores = replicas(api, 3);
  const desired = desiredFor('older', 'tenant-b', 'prod');
  const stale = desiredFor('older', 'tenant-b', 'staging');
  api.raceNext(1, { verbs: ['create'], mutate: (o) => Object.assign(o, { spec: stale.spec }) });
  const results = await Promise.all(stores.map((s) => s.ensure(desired, ensureOpts())));
  t.ok(results.every((r) => ['created', 'updated', 'unchanged'].includes(r.outcome)), results.map((r) => r.outcome).join(','));
  t.same(api.get('tenant-b', 'older-database-secrets')?.spec, desired.spec, 'converged on the desired spec');
});

t.test('update conflicts from a racing replica are retried, and a writer that never stops ends with a clear 409', async (t) => {
  const [store] = replicas(api, 1) as [ClusterStore];
  const desired = desiredFor('flip', 'tenant-a', 'prod');
  api.put(desiredFor('flip', 'tenant-a', 'dev'));
  api.raceNext(2, { verbs: ['update'] });
  const first = await store.ensure(desired, ensureOpts());
  t.equal(first.outcome, 'updated', 'two conflicts, then the update went through');
  t.same(api.get('tenant-a', 'flip-database-secrets')?.spec, desired.spec);

  // Another writer (a second controller) changes the object on every one of our updates: bounded, then an error.
  const [other] = replicas(api, 1) as [ClusterStore];
  api.put(desiredFor('flip', 'tenant-a', 'dev'));
  api.raceNext(1_000, { verbs: ['update'], mutate: (o) => Object.assign(o, { spec: desiredFor('flip', 'tenant-a', 'staging').spec }) });
  const before = api.requests.length;
  const err = await other.ensure(desired, ensureOpts()).then(
    () => undefined,
    (e: unknown) => e,
  );
  api.clearFaults();
  t.type(err, SecretProviderClassError);
  t.match((err as Error).message, /409|conflict/i, 'says it is a conflict');
  t.ok(api.requests.length - before < 20, `bounded: ${api.requests.length - before} calls`);
  // Recovery: the other writer stopped; the next admission fixes it.
  t.equal((await other.ensure(desired, ensureOpts())).outcome, 'updated');
  t.same(api.get('tenant-a', 'flip-database-secrets')?.spec, desired.spec);
});

t.test('an update that finds the object deleted by another replica recreates it', async (t) => {
  const [store] = replicas(api, 1) as [ClusterStore];
  const desired = desiredFor('gone', 'tenant-a', 'prod');
  api.put(desiredFor('gone', 'tenant-a', 'dev'));
  api.raceNext(1, { verbs: ['update'], remove: true });
  const r = await store.ensure(desired, ensureOpts());
  t.ok(['created', 'updated'].includes(r.outcome), r.outcome);
  t.same(api.get('tenant-a', 'gone-database-secrets')?.spec, desired.spec);
});

t.test('a foreign object (no managed-by label) raced in by someone else is never overwritten', async (t) => {
  const stores = replicas(api, 2);
  const desired = desiredFor('theirs', 'tenant-a');
  api.raceNext(2, { verbs: ['create'], mutate: (o) => Object.assign(o, { metadata: { ...o.metadata, labels: { owner: 'platform' } }, spec: { provider: 'aws', parameters: { objects: 'x' } } }) });
  const results = await Promise.all(stores.map((s) => s.ensure(desired, ensureOpts())));
  t.ok(results.every((r) => r.outcome === 'foreign' && typeof r.warning === 'string'), 'admitted with a warning');
  t.same(api.get('tenant-a', 'theirs-database-secrets')?.spec, { provider: 'aws', parameters: { objects: 'x' } }, 'left untouched');
  t.equal(api.requests.filter((r) => r.name === 'theirs-database-secrets' && r.verb === 'update').length, 0);
});

t.test('store logs of all the races above carry no pod contents', async (t) => {
  assertNoSecrets(t, capture.lines, planted.all);
});
