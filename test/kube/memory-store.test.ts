// The in-memory store: the embedded default when there is no cluster.
import t from 'tap';
import { createMemoryStore } from '../../src/kube/memory-store.ts';
import { SecretProviderClassError } from '../../src/kube/types.ts';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, APP_LABEL } from '../../src/engine/types.ts';
import type { SecretProviderClass } from '../../src/engine/types.ts';

function desired(app = 'orders', region = 'us-east-1'): SecretProviderClass {
  return {
    apiVersion: 'secrets-store.csi.x-k8s.io/v1',
    kind: 'SecretProviderClass',
    metadata: { name: `${app}-database-secrets`, namespace: 'acme', labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [APP_LABEL]: app } },
    spec: { provider: 'aws', parameters: { region }, secretObjects: [] },
  };
}

function capture() {
  const lines: Array<{ level: string; obj: Record<string, unknown>; msg?: string }> = [];
  const logger = {
    info: (obj: object, msg?: string) => lines.push({ level: 'info', obj: obj as Record<string, unknown>, ...(msg ? { msg } : {}) }),
    warn: (obj: object, msg?: string) => lines.push({ level: 'warn', obj: obj as Record<string, unknown>, ...(msg ? { msg } : {}) }),
    debug: () => {},
  };
  return { lines, logger };
}

const opts = (dryRun = false) => ({ dryRun, signal: new AbortController().signal });

t.test('creates, logs namespace/name at info, then answers from memory', async (t) => {
  const { lines, logger } = capture();
  const calls: string[] = [];
  const store = createMemoryStore({ logger, onCall: (v, r) => calls.push(`${v}:${r}`) });
  t.same(await store.ensure(desired(), opts()), { outcome: 'created' });
  t.same(await store.ensure(desired(), opts()), { outcome: 'cached' });
  t.equal(store.size, 1);
  t.same(store.get('acme', 'orders-database-secrets')?.spec, desired().spec);
  t.same(calls, ['create:ok']);
  t.equal(lines.length, 1);
  t.equal(lines[0]?.level, 'info');
  t.same(lines[0]?.obj, { namespace: 'acme', name: 'orders-database-secrets', outcome: 'created', store: 'memory' });
});

t.test('dry run never writes', async (t) => {
  const store = createMemoryStore();
  t.same(await store.ensure(desired(), opts(true)), { outcome: 'dry-run' });
  t.equal(store.size, 0);
  await store.ensure(desired('orders', 'us-east-1'), opts());
  t.same(await store.ensure(desired('orders', 'eu-west-1'), opts(true)), { outcome: 'dry-run' });
  t.same(store.get('acme', 'orders-database-secrets')?.spec, desired('orders', 'us-east-1').spec, 'not updated by a dry run');
});

t.test('ours but different: updated', async (t) => {
  const store = createMemoryStore();
  await store.ensure(desired('orders', 'us-east-1'), opts());
  t.same(await store.ensure(desired('orders', 'eu-west-1'), opts()), { outcome: 'updated' });
  t.same(store.get('acme', 'orders-database-secrets')?.spec, desired('orders', 'eu-west-1').spec);
});

t.test('foreign: untouched, with a short warning', async (t) => {
  const foreign = { ...desired(), metadata: { ...desired().metadata, labels: { team: 'x' } } };
  const { lines, logger } = capture();
  const store = createMemoryStore({ logger, initial: [foreign] });
  const result = await store.ensure(desired(), opts());
  t.equal(result.outcome, 'foreign');
  t.ok(result.warning && result.warning.length < 120);
  t.same(store.get('acme', 'orders-database-secrets'), foreign);
  t.equal(lines[0]?.level, 'warn');
});

t.test('an aborted signal is an error, as in the cluster store', async (t) => {
  const store = createMemoryStore();
  await t.rejects(store.ensure(desired(), { dryRun: false, signal: AbortSignal.abort() }), SecretProviderClassError);
  t.equal(store.size, 0);
});

t.test('bounded: the oldest object is dropped', async (t) => {
  const store = createMemoryStore({ maxObjects: 2 });
  for (const app of ['a', 'b', 'c']) await store.ensure(desired(app), opts());
  t.equal(store.size, 2);
  t.equal(store.get('acme', 'a-database-secrets'), undefined);
});

t.test('initial objects need a namespace and a name', async (t) => {
  t.throws(() => createMemoryStore({ initial: [{ metadata: { name: 'x' } }] }), TypeError);
});

t.test('known(): what ensure would answer without a change, and nothing when ensure must act', async (t) => {
  const foreign = { ...desired('legacy'), metadata: { ...desired('legacy').metadata, labels: { team: 'x' } } };
  const store = createMemoryStore({ initial: [foreign] });
  t.equal(store.known?.(desired(), false), undefined, 'missing: ensure must create it');
  await store.ensure(desired(), opts());
  t.same(store.known?.(desired(), false), { outcome: 'cached' });
  t.same(store.known?.(desired(), false), await store.ensure(desired(), opts()), 'the same answer as ensure');
  t.equal(store.known?.(desired('orders', 'eu-west-1'), false), undefined, 'different: ensure must update it');
  const legacy = store.known?.(desired('legacy'), false);
  t.same(legacy, await store.ensure(desired('legacy'), opts()), 'foreign, with the same warning as ensure');
  t.equal(legacy?.outcome, 'foreign');
});
