import t from 'tap';
import { appFromGenerateName, appFromOwner, resolveAppName } from '../../src/engine/app-name.ts';

const app = (metadata: unknown, annotation?: string) => {
  const r = resolveAppName(metadata, annotation);
  return r.ok ? `${r.value.app} (${r.value.source})` : `DENY ${r.message}`;
};

t.test('explicit sources come first: annotation, app.kubernetes.io/name, app', async (t) => {
  const labels = { 'app.kubernetes.io/name': 'named', app: 'plain' };
  t.equal(app({ labels }, 'explicit'), 'explicit (annotation db-access/app)');
  t.equal(app({ labels }), 'named (label app.kubernetes.io/name)');
  t.equal(app({ labels: { app: 'plain' } }), 'plain (label app)');
  t.equal(app({ labels: { app: '' }, name: 'pod' }), 'pod (metadata.name)', 'an empty label is no source');
});

t.test('owners', async (t) => {
  t.equal(appFromOwner('ReplicaSet', 'web-7d4b9c6f5d', '7d4b9c6f5d'), 'web', 'exact hash from the label');
  t.equal(appFromOwner('ReplicaSet', 'web-7d4b9c6f5d', undefined), 'web', 'hash-shaped suffix without the label');
  t.equal(appFromOwner('ReplicaSet', 'web-2710681425', undefined), 'web', 'old decimal hashes');
  t.equal(appFromOwner('ReplicaSet', 'web-cdn', undefined), 'web', 'without the label, a vowel-free last word looks like a hash');
  t.equal(appFromOwner('ReplicaSet', 'web-frontend', undefined), 'web-frontend', 'vowels: not a hash');
  t.equal(appFromOwner('ReplicaSet', 'service-deployment-12345', '2710681425'), 'service-deployment-12345', 'label hash not in the name: keep');
  t.equal(appFromOwner('Job', 'nightly-29390400', undefined), 'nightly', 'CronJob schedule suffix');
  t.equal(appFromOwner('Job', 'migrate-42', undefined), 'migrate-42', 'short numbers are part of the name');
  t.equal(appFromOwner('StatefulSet', 'db-7d4b9c6f5d', undefined), 'db-7d4b9c6f5d', 'StatefulSet name as is');
  t.equal(appFromOwner('DaemonSet', 'agent', undefined), 'agent');
});

t.test('generateName', async (t) => {
  t.equal(appFromGenerateName('web-7d4b9c6f5d-', '7d4b9c6f5d'), 'web');
  t.equal(appFromGenerateName('web-', undefined), 'web');
  t.equal(appFromGenerateName('report-29390400-', undefined), 'report', 'CronJob pod without an owner reference');
  t.equal(app({ generateName: 'web-7d4b9c6f5d-', labels: { 'pod-template-hash': '7d4b9c6f5d' } }), 'web (metadata.generateName)');
});

t.test('owner selection ignores malformed references and prefers the controller', async (t) => {
  const refs = [
    null,
    { kind: 'ReplicaSet' },
    { kind: 'ConfigMap', name: 'cm' },
    { kind: 'StatefulSet', name: 'ledger', controller: true },
  ];
  t.equal(app({ ownerReferences: refs }), 'ledger (owner StatefulSet)');
  t.equal(app({ ownerReferences: [{ kind: 'A', name: 'a' }, { kind: 'B', name: 'b' }], name: 'pod' }), 'pod (metadata.name)', 'two owners, no controller');
  t.equal(app({ ownerReferences: 'nope', generateName: 'x-' }), 'x (metadata.generateName)');
});

t.test('unusable names are denied with their source and the fix', async (t) => {
  t.match(app({}, 'a\n- objectName: x'), /^DENY app name "a\\n- objectName: x" \(from annotation db-access\/app\) is not a valid DNS-1123 label/);
  t.match(app({}, 'UPPER'), /DENY .*set annotation db-access\/app/);
  t.match(app({}, 'a'.repeat(64)), /^DENY/);
  t.equal(app({}, 'a'.repeat(63)), `${'a'.repeat(63)} (annotation db-access/app)`);
  t.match(app({ labels: { 'app.kubernetes.io/name': 'My.App' } }), /from label app.kubernetes.io\/name/);
  t.match(app({ ownerReferences: [{ kind: 'StatefulSet', name: 'my.db', controller: true }] }), /from owner StatefulSet/);
  t.match(app({}), /^DENY cannot tell the app name/);
  t.match(app(null), /^DENY cannot tell the app name/);
  t.match(app({ labels: { 'app.kubernetes.io/name': 7 }, name: ['x'] }), /^DENY cannot tell/);
});
