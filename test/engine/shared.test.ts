// Shared values: what every pod of an app gets is built once, frozen at every depth, and handed out again.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { decide, type AdmissionRequestInput } from '../../src/engine/index.ts';
import { SHARED_VALUES_LIMIT, deepFreeze, derivedText, isSharedValue, sharedValues } from '../../src/engine/shared.ts';
import { TEST_POLICY } from '../helpers/policy.ts';
import { podCreateRequest } from '../helpers/pod-request.ts';

function podRequest(app: string, containers: string[]): AdmissionRequestInput {
  return podCreateRequest({
    metadata: { generateName: `${app}-`, labels: { app }, annotations: { 'db-access/enabled': 'true' } },
    spec: { serviceAccountName: 'acme', containers: containers.map((name) => ({ name, image: 'x', env: [{ name: 'A', value: '1' }] })) },
  });
}

function injected(app: string, containers = ['main', 'sidecar']) {
  const decision = decide(podRequest(app, containers), TEST_POLICY);
  if (decision.action !== 'inject') throw new Error(`expected an injection, got ${decision.action}`);
  const value = (path: string) => (decision.patch.find((op) => op.path === path) as { value: unknown } | undefined)?.value;
  // The pod has no volumes or mounts: each is added as a new list holding the shared entry.
  const first = (path: string) => (value(path) as unknown[] | undefined)?.[0];
  return { decision, volume: first('/spec/volumes'), mount: first('/spec/containers/0/volumeMounts'), firstEnv: value('/spec/containers/0/env/0') };
}

t.test('deepFreeze freezes every level; the value, and each element of a list, can keep derived texts', async (t) => {
  const value = deepFreeze({ a: [{ b: { c: 1 } }], d: 'x' });
  for (const part of [value, value.a, value.a[0], value.a[0]?.b]) t.ok(Object.isFrozen(part));
  t.ok(isSharedValue(value));
  t.notOk(isSharedValue(value.a), 'a nested list only is frozen');
  const list = deepFreeze([{ name: 'A', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }]);
  t.ok(isSharedValue(list));
  t.ok(isSharedValue(list[0]), 'an element of a list is a patch value of its own');
  t.notOk(isSharedValue(list[0]?.valueFrom));
  t.ok(Object.isFrozen(list[0]?.valueFrom.secretKeyRef));
  t.notOk(isSharedValue(Object.freeze({ a: {} })), 'a shallow freeze is not enough');
  t.notOk(isSharedValue({}));
  t.notOk(isSharedValue('text'));
  t.notOk(isSharedValue(null));
  t.throws(() => {
    (value.a[0] as { b: { c: number } }).b.c = 2;
  }, TypeError);
  t.same(Object.keys(value), ['a', 'd'], 'the place for derived texts is invisible to Object.keys');
  t.equal(JSON.stringify(value), '{"a":[{"b":{"c":1}}],"d":"x"}', 'and to JSON');
  t.same(structuredClone(value), { a: [{ b: { c: 1 } }], d: 'x' }, 'and to structuredClone');
});

t.test('derivedText: computed once for a shared value, every time for anything else', async (t) => {
  let computed = 0;
  const text = (value: unknown) =>
    derivedText(value, 'json', () => {
      computed++;
      return JSON.stringify(value);
    });
  const shared = deepFreeze({ name: 'A' });
  t.equal(text(shared), '{"name":"A"}');
  t.equal(text(shared), '{"name":"A"}');
  t.equal(computed, 1);
  const plain = { name: 'B' };
  text(plain);
  plain.name = 'C';
  t.equal(text(plain), '{"name":"C"}', 'a plain object is read again');
  t.equal(computed, 3);
});

/** A memo keyed by name whose builds are counted. */
function countedMemo() {
  const counter = { builds: 0 };
  const make = sharedValues(
    (name: string) => name,
    (name: string) => {
      counter.builds++;
      return { name, nested: { list: [name] } };
    },
  );
  return { make, counter };
}

t.test('sharedValues: one object per key, built again once more than the limit have been asked for', async (t) => {
  const { make, counter } = countedMemo();
  const first = make('a');
  t.equal(make('a'), first, 'the same key gives the same object');
  t.not(make('b'), first, 'another key gives another object');
  t.equal(counter.builds, 2);
  t.ok(Object.isFrozen(first.nested.list));
  t.ok(isSharedValue(first));
  for (let i = 0; i < SHARED_VALUES_LIMIT; i++) make(`other-${i}`);
  const rebuilt = make('a');
  t.not(rebuilt, first, 'the oldest key was dropped');
  t.same(rebuilt, first, 'and built to the same content');
  t.equal(counter.builds, SHARED_VALUES_LIMIT + 3);
});

t.test('sharedValues: an app asked for again is kept, however many new ones come after it (least recently used goes)', async (t) => {
  const { make, counter } = countedMemo();
  const busy = make('busy');
  for (let i = 0; i < SHARED_VALUES_LIMIT * 3; i++) {
    make(`new-${i}`);
    t.equal(make('busy'), busy);
  }
  t.equal(counter.builds, 1 + SHARED_VALUES_LIMIT * 3, 'the busy app was built once');
  const oldest = make('new-0');
  t.equal(counter.builds, 2 + SHARED_VALUES_LIMIT * 3, 'the least recently used one was dropped and is built again');
  t.same(oldest, { name: 'new-0', nested: { list: ['new-0'] } });
});

t.test('pods of one app share the frozen env, volume, mount and SecretProviderClass; other apps do not', async (t) => {
  const one = injected('orders');
  const two = injected('orders', ['main']);
  const other = injected('billing');
  for (const [what, a, b, c] of [
    ['volume', one.volume, two.volume, other.volume],
    ['mount', one.mount, two.mount, undefined],
    ['env entry', one.firstEnv, two.firstEnv, other.firstEnv],
    ['SecretProviderClass', one.decision.secretProviderClass, two.decision.secretProviderClass, other.decision.secretProviderClass],
  ] as const) {
    t.ok(isSharedValue(a), `${what} is shared and frozen`);
    t.equal(a, b, `${what} is shared by pods of one app`);
    if (c !== undefined) t.not(a, c, `${what} differs for another app`);
  }
  t.equal(one.mount, other.mount, 'the mount depends on the mount path only');
  t.same((other.firstEnv as { valueFrom: { secretKeyRef: { name: string } } }).valueFrom.secretKeyRef.name, 'database-credentials-billing');
});

t.test('a SecretProviderClass differs for any input that differs', async (t) => {
  const base = injected('orders').decision.secretProviderClass;
  const withPolicy = (policy: Partial<typeof TEST_POLICY>) => {
    const d = decide(podRequest('orders', ['main']), { ...TEST_POLICY, ...policy });
    return d.action === 'inject' ? d.secretProviderClass : undefined;
  };
  for (const change of [{ region: 'us-east-1' }, { usePodIdentity: true }, { urlFromSecret: true }, { environment: 'staging' }]) {
    const spc = withPolicy(change);
    t.not(spc, base, JSON.stringify(change));
    t.notSame(spc, base, `${JSON.stringify(change)} changes the content`);
  }
});

t.test('values dropped from the bound are freed: memory does not grow with the number of apps seen', async (t) => {
  // A child with --expose-gc: 40,000 apps through one memo, with texts derived, then a full collection. Weak
  // collections keyed by these values grew 16.5 MB here (0.4 KB per app); the bound must hold whatever the stream.
  const script = `
    const { sharedValues, derivedText } = await import(${JSON.stringify(new URL('../../src/engine/shared.ts', import.meta.url).href)});
    const env = sharedValues((name) => name, (name) =>
      Array.from({ length: 12 }, (_, k) => ({ name: 'DB_' + k, valueFrom: { secretKeyRef: { name, key: 'k' + k } } })));
    const run = (from, to) => {
      for (let i = from; i < to; i++) for (const entry of env('database-credentials-app-' + i)) derivedText(entry, 'json', () => JSON.stringify(entry));
    };
    run(0, 1000);
    gc(); gc();
    const before = process.memoryUsage().heapUsed;
    run(1000, 41000);
    gc(); gc();
    console.log(process.memoryUsage().heapUsed - before);
  `;
  const child = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' });
  t.equal(child.status, 0, child.stderr);
  const grown = Number(child.stdout.trim());
  t.ok(grown < 2_000_000, `heap grew ${(grown / 1e6).toFixed(2)} MB over 40,000 apps (bound: ${SHARED_VALUES_LIMIT})`);
});
