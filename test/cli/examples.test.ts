// Each shipped example against its expected output (golden file), and a second run on that output changes nothing.
// Regenerate after an intended change: UPDATE_GOLDEN=1 npx tap test/cli/examples.test.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { validatePod, validateSecretProviderClass } from '../helpers/schemas.ts';
import { ROOT, runCli } from './run-cli.ts';

type Obj = Record<string, any>;

/** The pod a workload's controller would create, for schema checks: the template plus a name. */
function podOf(obj: Obj): Obj {
  const template =
    obj.kind === 'Pod' ? obj :
    obj.kind === 'CronJob' ? obj.spec.jobTemplate.spec.template :
    obj.spec.template;
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'example', ...template.metadata }, spec: template.spec };
}

export const EXAMPLES = ['deployment', 'cronjob-migration', 'multi-container-pod'];
const UPDATE = process.env.UPDATE_GOLDEN === '1';

for (const name of EXAMPLES) {
  t.test(`examples/${name}.yaml`, async (t) => {
    const input = `examples/${name}.yaml`;
    const goldenPath = join(ROOT, 'examples', `${name}.injected.yaml`);
    const result = await runCli(['inject', '-f', input]);
    t.equal(result.stderr, '', 'no warnings: the example uses the organization service account');
    t.equal(result.code, 0);

    if (UPDATE) writeFileSync(goldenPath, result.stdout);
    const golden = readFileSync(goldenPath, 'utf8');
    t.equal(result.stdout, golden, `stale golden file: run UPDATE_GOLDEN=1 npx tap test/cli/examples.test.ts`);

    const docs = parseAllDocuments(result.stdout);
    t.ok(Array.isArray(docs));
    const objects = (Array.isArray(docs) ? docs : []).map((d) => d.toJS() as Obj);
    t.same(objects.map((o) => o.kind).slice(-1), ['SecretProviderClass'], 'the SecretProviderClass comes last');
    for (const o of objects) {
      if (o.kind === 'SecretProviderClass') t.same(validateSecretProviderClass(o), [], 'the SecretProviderClass matches its CRD');
      else t.same(validatePod(podOf(o)), [], `the injected ${o.kind}'s pod is valid for the apiserver`);
    }

    const again = await runCli(['inject', '-f', '-'], result.stdout);
    t.equal(again.code, 0);
    t.equal(again.stdout, result.stdout, 'injecting the output again changes nothing (the webhook is reinvoked the same way)');
  });
}
