// Golden files: every case in test/golden/cases/*.in.yaml runs through decide() and must match its .out.yaml.
// Regenerate after an intended change: UPDATE_GOLDEN=1 npx tap test/engine/golden.test.ts (then review the diff).
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import t from 'tap';
import { parse, stringify } from 'yaml';
import { decide, type AdmissionRequestInput, type Decision, type EnginePolicy } from '../../src/engine/index.ts';
import { patchText } from '../../src/admission/respond.ts';
import { applyPatch } from '../helpers/apply-patch.ts';
import { validatePod, validateSecretProviderClass } from '../helpers/schemas.ts';

type Rec = Record<string, unknown>;

interface GoldenCase {
  description: string;
  /** A real capture in test/fixtures/admission/ whose request is the base (the file itself is never modified). */
  fixture?: string;
  /** Annotations merged into a copy of the pod, e.g. to opt a real capture in. */
  annotate?: Record<string, string>;
  /** AdmissionRequest fields over the defaults (or over the fixture's request). */
  request?: Rec;
  /** Shorthand for request.object. */
  pod?: unknown;
  policy?: Partial<EnginePolicy>;
  /** JSON patch "another webhook" applies after our injection; the case then records the reinvocation. */
  otherWebhook?: unknown[];
}

const casesDir = new URL('../golden/cases/', import.meta.url);
const fixturesDir = new URL('../fixtures/admission/', import.meta.url);
const update = process.env.UPDATE_GOLDEN === '1';

const basePolicy: EnginePolicy = {
  environment: 'prod',
  region: 'eu-west-1',
  webhookNamespace: 'db-access-webhook',
  excludedNamespaces: ['legacy'],
  usePodIdentity: false,
  urlFromSecret: false,
};

const baseRequest: Rec = {
  uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
  kind: { group: '', version: 'v1', kind: 'Pod' },
  resource: { group: '', version: 'v1', resource: 'pods' },
  operation: 'CREATE',
  namespace: 'acme',
  dryRun: false,
};

const yamlOptions = { lineWidth: 0, aliasDuplicateObjects: false } as const;

function buildRequest(c: GoldenCase): Rec {
  let request: Rec = structuredClone(baseRequest);
  if (c.fixture !== undefined) {
    const review = JSON.parse(readFileSync(new URL(c.fixture, fixturesDir), 'utf8')) as { request: Rec };
    request = structuredClone(review.request);
  }
  Object.assign(request, structuredClone(c.request ?? {}));
  if (c.pod !== undefined) request.object = structuredClone(c.pod);
  if (c.annotate !== undefined) {
    const pod = request.object as { metadata?: { annotations?: Record<string, string> } };
    pod.metadata ??= {};
    pod.metadata.annotations = { ...pod.metadata.annotations, ...c.annotate };
  }
  return request;
}

function outcome(decision: Decision, pod: unknown): Rec {
  switch (decision.action) {
    case 'skip':
      return { skipped: decision.reason, warnings: decision.warnings };
    case 'deny':
      return { denied: { code: decision.code, message: decision.message }, warnings: decision.warnings };
    case 'inject':
      return {
        warnings: decision.warnings,
        target: decision.target,
        patch: decision.patch,
        secretProviderClass: decision.secretProviderClass,
        patchedPod: applyPatch(pod, decision.patch),
      };
  }
}

const caseFiles = readdirSync(casesDir).filter((f) => f.endsWith('.in.yaml')).sort();
const usedFixtures = new Set<string>();

for (const file of caseFiles) {
  const name = file.slice(0, -'.in.yaml'.length);
  t.test(name, async (t) => {
    const c = parse(readFileSync(new URL(file, casesDir), 'utf8')) as GoldenCase;
    if (c.fixture !== undefined) usedFixtures.add(c.fixture);
    const policy: EnginePolicy = { ...basePolicy, ...c.policy };
    let request = buildRequest(c);

    if (c.otherWebhook !== undefined) {
      const first = decide(request as AdmissionRequestInput, policy);
      t.equal(first.action, 'inject', 'the first call injects');
      if (first.action !== 'inject') return;
      const injected = applyPatch(request.object, first.patch);
      request = { ...request, object: applyPatch(injected, c.otherWebhook) };
    }

    const decision = decide(request as AdmissionRequestInput, policy);
    const result = outcome(decision, request.object);
    const actual = stringify({ description: c.description, ...result }, yamlOptions);
    const goldenUrl = new URL(`${name}.out.yaml`, casesDir);
    if (update) {
      writeFileSync(goldenUrl, actual);
    } else {
      let expected = '';
      try {
        expected = readFileSync(goldenUrl, 'utf8');
      } catch {
        t.fail(`missing ${name}.out.yaml: run UPDATE_GOLDEN=1 npx tap test/engine/golden.test.ts and review it`);
      }
      t.equal(actual, expected, `matches ${name}.out.yaml (stale? UPDATE_GOLDEN=1 regenerates)`);
    }

    for (const w of decision.warnings) t.ok(w.length < 120, `warning under 120 chars: ${w}`);

    // A dry run decides exactly the same (only the server's writes differ).
    const flipped = decide({ ...request, dryRun: request.dryRun !== true } as AdmissionRequestInput, policy);
    t.same(flipped, decision, 'dryRun does not change the decision');

    if (decision.action !== 'inject') {
      t.same(decide(request as AdmissionRequestInput, policy), decision, 'deterministic');
      return;
    }
    const patchedPod = result.patchedPod;
    t.equal(patchText(decision.patch), JSON.stringify(decision.patch), 'the answer encodes the patch as JSON.stringify does');
    t.same(validatePod(patchedPod), [], 'patched pod passes Pod validation and the apiserver rules');
    t.same(validateSecretProviderClass(decision.secretProviderClass), [], 'SecretProviderClass matches the CRD');
    const spec = (patchedPod as { spec: { volumes: Rec[]; containers?: Rec[]; initContainers?: Rec[] } }).spec;
    const volume = spec.volumes.find((v) => v.name === 'database-secrets') as { csi?: { readOnly?: unknown } } | undefined;
    t.equal(volume?.csi?.readOnly, true, 'the CSI volume is read-only');
    for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
      const mounts = ((c.volumeMounts as Rec[] | undefined) ?? []).filter((m) => m.name === 'database-secrets');
      const targeted = decision.target.containers.includes(c.name as string);
      t.equal(mounts.length, targeted ? 1 : 0, `${String(c.name)}: ${targeted ? 'one mount' : 'no mount'}`);
      for (const m of mounts) t.equal(m.readOnly, true, `${String(c.name)}: the mount is read-only`);
    }
    const objects = parse(decision.secretProviderClass.spec.parameters.objects ?? '') as Array<Rec>;
    t.equal(objects.length, 1, 'objects holds exactly one secret');
    t.equal(objects[0]?.objectName, decision.target.secretId, 'objects names the organization secret');

    // Idempotency: the same request on our own output changes nothing.
    const again = decide({ ...request, object: patchedPod } as AdmissionRequestInput, policy);
    t.equal(again.action, 'inject', 'second call injects again');
    if (again.action === 'inject') {
      t.same(again.patch, [], 'second call on the patched pod yields an empty patch');
      t.same(again.secretProviderClass, decision.secretProviderClass, 'same SecretProviderClass');
      t.same(again.target, decision.target, 'same target (same containers)');
      t.same(again.warnings, decision.warnings, 'same warnings');
    }
  });
}

t.test('every real capture in test/fixtures/admission is a golden case', async (t) => {
  const fixtures = readdirSync(fixturesDir).filter((f) => f.endsWith('.review.json'));
  for (const f of fixtures) t.ok(usedFixtures.has(f), `${f} is used by a case`);
});
