// Complements test/chart/rbac.test.ts (which reads values.yaml): with EVERY example values file (cert-manager,
// existing Secret, self-signed, extras), the rendered skeleton grants exactly the same rules, nothing on Secrets,
// and no other RBAC object, hook or Job appears (e.g. a certificate-generating Job with Secret access).
import t from 'tap';
import { EXPECTED_RULES, docsOfKind, isRecord, loadCiValues, loadDefaultValues, manifestTemplates, readTemplate, skeleton } from '../chart/chart.ts';
import type { Values } from '../chart/chart.ts';

const RBAC_KINDS = ['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding'];
const variants: Array<[string, Values]> = [['values.yaml', loadDefaultValues()], ...loadCiValues().map((c): [string, Values] => [c.file, c.values])];

for (const [name, values] of variants) {
  t.test(name, async (t) => {
    const docs = manifestTemplates().flatMap((file) => skeleton(readTemplate(file), { values }).docs.map((doc) => ({ file, doc })));
    const rbac = docs.filter(({ doc }) => isRecord(doc) && RBAC_KINDS.includes(String(doc['kind'])));
    t.same(rbac.map(({ doc }) => String((doc as Record<string, unknown>)['kind'])).sort(), ['ClusterRole', 'ClusterRoleBinding'], 'one ClusterRole and its binding, nothing else');
    const [role] = docsOfKind(skeleton(readTemplate('clusterrole.yaml'), { values }), 'ClusterRole');
    t.same(role?.['rules'], EXPECTED_RULES, 'exactly the expected rules');
    t.notMatch(JSON.stringify(role?.['rules'] ?? null), /"secrets"|"\*"/, 'no Secrets, no wildcards');
    const kinds = docs.map(({ doc }) => (isRecord(doc) ? String(doc['kind']) : '')).filter((k) => k !== '');
    t.same(kinds.filter((k) => ['Job', 'CronJob', 'Pod', 'DaemonSet'].includes(k)), [], 'no Jobs or extra workloads (which would need their own privileges)');
    const text = manifestTemplates().map((f) => readTemplate(f)).join('\n');
    t.notMatch(text, /helm\.sh\/hook/, 'no Helm hooks');
  });
}
