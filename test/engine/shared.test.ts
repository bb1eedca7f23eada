// Shared values: what every pod of an app gets is built once, frozen at every depth, and handed out again.
import t from 'tap';
import { decide, type AdmissionRequestInput } from '../../src/engine/index.ts';
import { SHARED_VALUES_LIMIT, deepFreeze, isDeeplyFrozen, sharedValues } from '../../src/engine/shared.ts';
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

t.test('deepFreeze freezes and records every level; nothing else counts as deeply frozen', async (t) => {
  const value = deepFreeze({ a: [{ b: { c: 1 } }], d: 'x' });
  for (const part of [value, value.a, value.a[0], value.a[0]?.b]) {
    t.ok(Object.isFrozen(part));
    t.ok(isDeeplyFrozen(part));
  }
  t.notOk(isDeeplyFrozen(Object.freeze({ a: {} })), 'a shallow freeze is not enough');
  t.notOk(isDeeplyFrozen({}));
  t.notOk(isDeeplyFrozen('text'));
  t.notOk(isDeeplyFrozen(null));
  t.throws(() => {
    (value.a[0] as { b: { c: number } }).b.c = 2;
  }, TypeError);
});

t.test('sharedValues: one object per key, built again once more than the limit have been asked for', async (t) => {
  let builds = 0;
  const make = sharedValues(
    (name: string) => name,
    (name: string) => {
      builds++;
      return { name, nested: { list: [name] } };
    },
  );
  const first = make('a');
  t.equal(make('a'), first, 'the same key gives the same object');
  t.not(make('b'), first, 'another key gives another object');
  t.equal(builds, 2);
  t.ok(isDeeplyFrozen(first.nested.list));
  for (let i = 0; i < SHARED_VALUES_LIMIT; i++) make(`other-${i}`);
  const rebuilt = make('a');
  t.not(rebuilt, first, 'the oldest key was dropped');
  t.same(rebuilt, first, 'and built to the same content');
  t.equal(builds, SHARED_VALUES_LIMIT + 3);
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
    t.ok(isDeeplyFrozen(a), `${what} is deeply frozen`);
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
