// Least privilege: the chart grants EXACTLY these rules, nothing on Secrets, and exactly the verbs the server uses.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXPECTED_RULES, docsOfKind, isRecord, readTemplate, repoRoot, skeleton, manifestTemplates, loadDefaultValues } from './chart.ts';


const RBAC_KINDS = ['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding'];
const values = loadDefaultValues();
const all = manifestTemplates().flatMap((file) => skeleton(readTemplate(file), { values }).docs.map((doc) => ({ file, doc })));

t.test('RBAC objects live in clusterrole.yaml only', async (t) => {
  const rbac = all.filter(({ doc }) => isRecord(doc) && RBAC_KINDS.includes(String(doc['kind'])));
  t.same(
    rbac.map(({ file, doc }) => `${file}:${String((doc as Record<string, unknown>)['kind'])}`),
    ['clusterrole.yaml:ClusterRole', 'clusterrole.yaml:ClusterRoleBinding'],
  );
});

t.test('the ClusterRole grants exactly the expected rules', async (t) => {
  const s = skeleton(readTemplate('clusterrole.yaml'), { values });
  const [role] = docsOfKind(s, 'ClusterRole');
  t.same(role?.['rules'], EXPECTED_RULES);
  t.notOk(role && 'aggregationRule' in role, 'no aggregation that could pull in more rules');
  const flat = JSON.stringify(role?.['rules']);
  t.notMatch(flat, /"secrets"/, 'no access to Secrets');
  t.notMatch(flat, /"\*"/, 'no wildcards');
  t.notMatch(flat, /"delete"|"deletecollection"|"escalate"|"bind"|"impersonate"/, 'no destructive or escalating verbs');
});

t.test('the binding gives that role to the chart ServiceAccount only', async (t) => {
  const s = skeleton(readTemplate('clusterrole.yaml'), { values });
  const [binding] = docsOfKind(s, 'ClusterRoleBinding');
  const roleRef = binding?.['roleRef'] as Record<string, unknown>;
  t.same({ apiGroup: roleRef['apiGroup'], kind: roleRef['kind'] }, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole' });
  const subjects = binding?.['subjects'] as Record<string, unknown>[];
  t.equal(subjects.length, 1);
  t.equal(subjects[0]?.['kind'], 'ServiceAccount');
  t.match(readTemplate('clusterrole.yaml'), /name: \{\{ include "db-access-webhook\.serviceAccountName" \. \| quote \}\}\n\s+namespace: \{\{ \.Release\.Namespace \| quote \}\}/);
});

t.test('the grant covers what the server actually calls', async (t) => {
  // Read src/kube, so a new API call without RBAC fails here.
  const spc = join(repoRoot, 'src', 'kube', 'spc.ts');
  const types = join(repoRoot, 'src', 'kube', 'types.ts');
  const { SPC_GROUP, SPC_PLURAL } = (await import(spc)) as { SPC_GROUP: string; SPC_PLURAL: string };
  t.same([SPC_GROUP, SPC_PLURAL], [EXPECTED_RULES[0]!.apiGroups[0], EXPECTED_RULES[0]!.resources[0]]);
  const { KUBE_VERBS: used } = (await import(types)) as { KUBE_VERBS: readonly string[] };
  t.ok(used.length > 0, 'KUBE_VERBS lists the verbs the store calls');
  t.same([...used].sort(), [...EXPECTED_RULES[0]!.verbs].sort(), 'granted verbs are exactly the verbs the store uses');
  // Each client-node call in the store maps to one verb; a new kind of call must come with its RBAC.
  const verbOf: Record<string, string> = {
    getNamespacedCustomObject: 'get',
    createNamespacedCustomObject: 'create',
    replaceNamespacedCustomObject: 'update',
  };
  const store = readFileSync(join(repoRoot, 'src', 'kube', 'cluster-store.ts'), 'utf8');
  const calls = new Set([...store.matchAll(/\b(\w+CustomObject\w*)\(/g)].map((m) => m[1]!));
  t.ok(calls.size > 0, 'the store calls the custom objects API');
  for (const call of calls) {
    t.ok(verbOf[call] !== undefined && used.includes(verbOf[call]!), `${call} is a granted verb (${verbOf[call] ?? 'unknown'})`);
  }
});
