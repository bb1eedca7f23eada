// The chart README documents every value, the three certificate modes, the requirements and the safety design.
import t from 'tap';
import { isRecord, loadDefaultValues, readChartFile } from './chart.ts';

const readme = readChartFile('README.md');

/** Leaf paths of values.yaml: scalars, lists and empty maps (maps of user keys such as podAnnotations are leaves). */
function leaves(node: unknown, prefix = ''): string[] {
  if (!isRecord(node) || Object.keys(node).length === 0) return [prefix];
  return Object.entries(node).flatMap(([k, v]) => leaves(v, prefix ? `${prefix}.${k}` : k));
}

t.test('the values table has a row for every value in values.yaml, with its default', async (t) => {
  const paths = leaves(loadDefaultValues());
  t.ok(paths.length > 60, `${paths.length} values`);
  const rows = new Map(
    [...readme.matchAll(/^\| `([^`]+)` \| `([^`]*)` \| (.+) \|$/gm)].map((m) => [m[1]!, { def: m[2]!, text: m[3]! }]),
  );
  for (const path of paths) {
    const row = rows.get(path);
    t.ok(row, `${path} has a row`);
    t.ok(row && row.text.trim().length > 10, `${path} is described`);
  }
  t.same([...rows.keys()].filter((k) => !paths.includes(k)), [], 'no rows for values that do not exist');
  t.equal(rows.get('webhook.timeoutSeconds')?.def, '10');
  t.equal(rows.get('tls.mode')?.def, 'certManager');
});

t.test('requirements, certificate modes and safety are explained', async (t) => {
  t.match(readme, /## Requirements/);
  t.match(readme, /syncSecret\.enabled=true/);
  t.match(readme, /secrets-store-csi-driver-provider-aws/);
  t.match(readme, /enableSecretRotation/);
  t.match(readme, /does \*\*not\*\* change the\s+environment of a running container/);
  for (const mode of ['certManager', 'existingSecret', 'selfSigned']) t.match(readme, `\`${mode}\``);
  t.match(readme, /GitOps drift/);
  t.match(readme, /cert-manager\.io\/inject-ca-from/);
  t.match(readme, /`Ignore` default of Vault's agent injector/);
  t.match(readme, /crash-loops/);
  t.match(readme, /matchConditions/);
});
