// Pure helpers: fingerprint, comparison of what we own, merge, warning text.
import t from 'tap';
import { fingerprint, foreignWarning, isOurs, matchesDesired, mergeDesired, stableStringify } from '../../src/kube/spc.ts';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, APP_LABEL } from '../../src/engine/types.ts';
import type { SecretProviderClass } from '../../src/engine/types.ts';
import { deepFreeze } from '../../src/engine/shared.ts';

const d: SecretProviderClass = {
  apiVersion: 'secrets-store.csi.x-k8s.io/v1',
  kind: 'SecretProviderClass',
  metadata: { name: 'orders-database-secrets', namespace: 'acme', labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [APP_LABEL]: 'orders' } },
  spec: { provider: 'aws', parameters: { region: 'us-east-1', objects: 'x' }, secretObjects: [] },
};

t.test('stableStringify ignores key order, not array order', async (t) => {
  t.equal(stableStringify({ b: 1, a: [2, { d: 1, c: 2 }] }), stableStringify({ a: [2, { c: 2, d: 1 }], b: 1 }));
  t.not(stableStringify([1, 2]), stableStringify([2, 1]));
});

t.test('fingerprint: equal for equal objects, different for any difference in labels or spec', async (t) => {
  t.equal(fingerprint(structuredClone(d)), fingerprint(d));
  // Text that would look like structure if it were not escaped still gives a different fingerprint.
  const tricky: SecretProviderClass = { ...d, metadata: { ...d.metadata, labels: { [MANAGED_BY_LABEL]: `${MANAGED_BY_VALUE}"},{"provider":"aws` } } };
  t.not(fingerprint(tricky), fingerprint(d));
  t.not(fingerprint({ ...d, spec: { ...d.spec, parameters: { region: 'us-east-1', objects: 'x ' } } }), fingerprint(d));
  t.not(fingerprint({ ...d, spec: { ...d.spec, secretObjects: [{ secretName: 'x', type: 'Opaque', data: [] }] } }), fingerprint(d));
  t.not(fingerprint({ ...d, spec: { ...d.spec, parameters: { region: 'eu-west-1', objects: 'x' } } }), fingerprint(d));
  t.not(fingerprint({ ...d, metadata: { ...d.metadata, labels: { ...d.metadata.labels, [APP_LABEL]: 'other' } } }), fingerprint(d));
});

t.test('fingerprint: the same short size for any object, since the cache keeps one per app', async (t) => {
  const big: SecretProviderClass = { ...d, spec: { ...d.spec, parameters: { region: 'us-east-1', objects: 'x'.repeat(10_000) } } };
  t.match(fingerprint(d), /^[A-Za-z0-9_-]{43}$/, 'a SHA-256 in base64url');
  t.equal(fingerprint(big).length, 43);
});

t.test('fingerprint: a shared, deeply frozen object gets the fingerprint of an equal copy, every time it is asked', async (t) => {
  const shared = deepFreeze(structuredClone(d));
  const first = fingerprint(shared);
  t.equal(first, fingerprint(structuredClone(d)));
  t.equal(fingerprint(shared), first);
  // An object that is not deeply frozen may change, so it is hashed every time.
  const mutable = structuredClone(d);
  const before = fingerprint(mutable);
  mutable.spec.parameters.region = 'eu-central-1';
  t.not(fingerprint(mutable), before);
});

t.test('matchesDesired compares our labels and the spec only', async (t) => {
  const actual = {
    metadata: { ...d.metadata, labels: { ...d.metadata.labels, extra: 'x' }, resourceVersion: '9', uid: 'u' },
    spec: structuredClone(d.spec),
    status: {},
  };
  t.ok(matchesDesired(actual, d));
  t.notOk(matchesDesired({ ...actual, metadata: { ...actual.metadata, labels: { extra: 'x' } } }, d));
  t.notOk(matchesDesired({ ...actual, spec: { ...d.spec, provider: 'azure' } }, d));
  t.notOk(matchesDesired({ metadata: {} }, d));
});

t.test('isOurs needs the exact managed-by value', async (t) => {
  t.ok(isOurs(d));
  t.notOk(isOurs({ metadata: { labels: { [MANAGED_BY_LABEL]: 'helm' } } }));
  t.notOk(isOurs({}));
});

t.test('mergeDesired keeps foreign labels and resourceVersion, drops managedFields', async (t) => {
  const read = {
    metadata: { name: d.metadata.name, namespace: 'acme', labels: { team: 'x', [APP_LABEL]: 'old' }, resourceVersion: '7', managedFields: [] },
    spec: { old: true },
  };
  const merged = mergeDesired(read as { metadata: { labels: Record<string, string>; resourceVersion: string } }, d);
  t.same(merged.metadata.labels, { team: 'x', ...d.metadata.labels });
  t.equal((merged.metadata as { resourceVersion?: string }).resourceVersion, '7');
  t.notOk('managedFields' in merged.metadata);
  t.same(merged.spec, d.spec);
});

t.test('foreignWarning stays under 120 characters', async (t) => {
  t.equal(foreignWarning(d), 'SecretProviderClass orders-database-secrets is not managed by db-access-webhook; left untouched');
  const long = foreignWarning({ ...d, metadata: { ...d.metadata, name: 'n'.repeat(253) } });
  t.ok(long.length < 120);
  t.match(long, /…/);
});
