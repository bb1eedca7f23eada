// A compromised namespace admin edits the SecretProviderClass the webhook wrote, pointing it at another
// organization's secret. The webhook is not the last line of defence here (the CSI driver reads the secret with the
// pod's IAM role, which must only reach its own organization's secrets), but it must never keep such an object as
// its own: a tampered object that still carries our label is put back on the first check after the cache lifetime;
// one whose label was removed is never written again ("foreign") and every pod using it gets a warning.
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';
import { createClusterStore } from '../../src/kube/cluster-store.ts';
import { kubeConfigFor, startFakeKubeApi } from '../helpers/fake-kube-api.ts';
import type { FakeKubeApi, StoredSpc } from '../helpers/fake-kube-api.ts';
import { ENVIRONMENT, desiredSpc } from '../reliability/harness.ts';

const VICTIM_SECRET = `victim-${ENVIRONMENT}-database-credentials`;
let api: FakeKubeApi;
t.before(async () => {
  api = await startFakeKubeApi();
});
t.teardown(() => api.close());

function objectNameOf(obj: StoredSpc | undefined): unknown {
  const objects = parse(String((obj?.spec as { parameters?: { objects?: unknown } } | undefined)?.parameters?.objects ?? '')) as unknown;
  return Array.isArray(objects) ? (objects[0] as { objectName?: unknown } | undefined)?.objectName : undefined;
}

function tamper(ns: string, name: string, keepLabel: boolean): void {
  const current = api.get(ns, name);
  if (!current) throw new Error('nothing to tamper with');
  const spec = structuredClone(current.spec) as { parameters: Record<string, string> };
  spec.parameters.objects = spec.parameters.objects!.replace(`${ns}-${ENVIRONMENT}-database-credentials`, VICTIM_SECRET);
  api.put({ ...current, metadata: { ...current.metadata, labels: keepLabel ? current.metadata.labels : { owner: 'me' } }, spec });
}

t.test('a tampered object that keeps our label is repaired on the first check after the cache lifetime', async (t) => {
  const store = createClusterStore({ kubeConfig: kubeConfigFor(api), cacheTtlMs: 200 });
  const desired = desiredSpc('shop', 'tenant-a');
  t.equal((await store.ensure(desired, { dryRun: false, signal: AbortSignal.timeout(5_000) })).outcome, 'created', 'the webhook wrote it');
  tamper('tenant-a', 'shop-database-secrets', true);
  t.equal(objectNameOf(api.get('tenant-a', 'shop-database-secrets')), VICTIM_SECRET, 'tampered');
  await sleep(250); // past the cache lifetime (10 minutes by default)
  const r = await store.ensure(desired, { dryRun: false, signal: AbortSignal.timeout(5_000) });
  t.equal(r.outcome, 'updated', 'the next admission put it back');
  t.equal(objectNameOf(api.get('tenant-a', 'shop-database-secrets')), `tenant-a-${ENVIRONMENT}-database-credentials`, 'naming its own secret again');
});

t.test('a tampered object without our label is never written, and every admission using it warns', async (t) => {
  const store = createClusterStore({ kubeConfig: kubeConfigFor(api), cacheTtlMs: 200, foreignTtlMs: 200 });
  const desired = desiredSpc('cart', 'tenant-a');
  await store.ensure(desired, { dryRun: false, signal: AbortSignal.timeout(5_000) });
  tamper('tenant-a', 'cart-database-secrets', false);
  await sleep(250);
  const before = api.requests.length;
  for (let i = 0; i < 3; i++) {
    const r = await store.ensure(desired, { dryRun: false, signal: AbortSignal.timeout(5_000) });
    t.equal(r.outcome, 'foreign', `admission ${i}: reported as not ours`);
    t.match(r.warning, /cart-database-secrets/, 'with a warning naming it');
    await sleep(100);
  }
  t.equal(api.requests.slice(before).filter((x) => x.verb !== 'get').length, 0, 'never written');
  t.equal(objectNameOf(api.get('tenant-a', 'cart-database-secrets')), VICTIM_SECRET, 'left as the admin made it (IAM decides)');
});
