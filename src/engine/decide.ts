// Orchestration: admission request + policy → skip, deny or inject. Pure: no I/O, no clock, never throws.
import {
  ANNOTATION_PREFIX,
  ENABLED_ANNOTATION,
  KNOWN_ANNOTATIONS,
  STATUS_ANNOTATION,
  parseAnnotations,
  parseTrigger,
  readAnnotations,
} from './annotations.ts';
import { resolveAppName } from './app-name.ts';
import { listContainers, selectTargets } from './containers.ts';
import { planPatch } from './injection.ts';
import {
  DNS1123_LABEL_RULE,
  isDns1123Label,
  secretIdFor,
  secretProviderClassNameFor,
  syncedSecretNameFor,
} from './names.ts';
import { isExcludedNamespace } from './namespaces.ts';
import { isRecord, own } from './object.ts';
import { isPodKind, isPodResource } from './request.ts';
import { refuse, type Refusal } from './result.ts';
import { buildSecretProviderClass } from './secret-provider-class.ts';
import { serviceAccountWarning } from './service-account.ts';
import { STATUS_VERSION, parseStatus } from './status.ts';
import { quote, quoteList, warning } from '../text.ts';
import type { AdmissionRequestInput, Decision, EnginePolicy, SkipReason } from './types.ts';

const KNOWN_SUFFIXES = KNOWN_ANNOTATIONS.filter((k) => k !== STATUS_ANNOTATION)
  .map((k) => k.slice(ANNOTATION_PREFIX.length))
  .join(', ');
const MAX_UNKNOWN_ANNOTATION_WARNINGS = 3;
const NO_WARNINGS: readonly string[] = Object.freeze([]);

function skip(reason: SkipReason, warnings: readonly string[] = []): Decision {
  return { action: 'skip', reason, warnings };
}

function deny(refusal: Refusal, warnings: readonly string[] = []): Decision {
  return { action: 'deny', code: refusal.code, message: refusal.message, warnings };
}

export function decide(request: AdmissionRequestInput, policy: EnginePolicy): Decision {
  try {
    return decidePod(request as unknown, policy);
  } catch (error) {
    // Unreachable by design (fuzzed); a bug must still become an answer, not a crash of the request.
    const reason = error instanceof Error ? error.message : 'unknown error';
    return { action: 'deny', code: 500, message: `internal error in db-access-webhook: ${quote(reason, 120)}`, warnings: [] };
  }
}

/**
 * db-access/* annotations without db-access/enabled: most likely a typo of that key (`db-access/enable`), which would
 * otherwise leave the pod without its database and without a word. An explicit "false" is an opt-out and gets none.
 */
function missingTriggerWarnings(annotations: Record<string, unknown>): readonly string[] {
  // Every pod without the annotation passes here (the pass-through path): nothing is allocated unless one is found.
  let found: string[] | undefined;
  for (const key in annotations) {
    if (key.startsWith(ANNOTATION_PREFIX) && Object.hasOwn(annotations, key)) (found ??= []).push(key);
  }
  if (found === undefined) return NO_WARNINGS;
  return [
    // The list goes last: a long one is what the length limit cuts.
    warning(`nothing injected: no ${ENABLED_ANNOTATION}: "true", but ${quoteList(found, MAX_UNKNOWN_ANNOTATION_WARNINGS)} set`),
  ];
}

function decidePod(request: unknown, policy: EnginePolicy): Decision {
  if (!isRecord(request)) return deny(refuse(`the admission request must be an object, got ${quote(request)}`));
  if (!isPodResource(request)) return skip('not-a-pod');
  // pods/exec, pods/binding, pods/ephemeralcontainers…: their kind is not Pod and they are never injected.
  const subResource = own(request, 'subResource');
  if (subResource !== undefined && subResource !== null && subResource !== '') return skip('subresource');
  if (own(request, 'kind') !== undefined && !isPodKind(request)) return skip('not-a-pod');
  if (own(request, 'operation') !== 'CREATE') return skip('not-create');

  const namespace = own(request, 'namespace');
  const object = own(request, 'object');
  const metadata = own(object, 'metadata');

  // Before any check that could deny: pods in excluded namespaces (kube-system…) must never be blocked by us.
  if (typeof namespace === 'string' && isExcludedNamespace(namespace, policy)) {
    const enabled = own(own(metadata, 'annotations'), ENABLED_ANNOTATION);
    const warnings =
      enabled !== undefined && enabled !== 'false'
        ? [warning(`${ENABLED_ANNOTATION} ignored: namespace ${quote(namespace, 63)} is excluded from injection`)]
        : [];
    return skip('excluded-namespace', warnings);
  }

  if (!isRecord(object)) return deny(refuse(`request.object must be the Pod being created, got ${quote(object)}`));
  const annotations = readAnnotations(metadata);
  if (!annotations.ok) return deny(annotations);
  const trigger = parseTrigger(annotations.value);
  if (!trigger.ok) return deny(trigger);
  if (trigger.value === 'absent') return skip('not-opted-in', missingTriggerWarnings(annotations.value));
  if (trigger.value !== 'true') return skip('not-opted-in');

  // The organization is the request's namespace and nothing else: the pod cannot name another one.
  if (!isDns1123Label(namespace)) {
    return deny(
      refuse(
        `request.namespace ${quote(namespace)} is not a valid namespace name (${DNS1123_LABEL_RULE}); ` +
          "create the pod in your organization's namespace",
      ),
    );
  }
  const organization = namespace;

  const parsed = parseAnnotations(annotations.value);
  if (!parsed.ok) return deny(parsed);
  const warnings: string[] = [];
  for (const key of parsed.value.unknown.slice(0, MAX_UNKNOWN_ANNOTATION_WARNINGS)) {
    warnings.push(warning(`unknown annotation ${quote(key, 40)} ignored; known: ${KNOWN_SUFFIXES}`));
  }

  const spec = own(object, 'spec');
  if (!isRecord(spec)) return deny(refuse(`spec must be an object, got ${quote(spec)}`), warnings);
  const containers = listContainers(spec);
  if (!containers.ok) return deny(containers, warnings);
  const status = parseStatus(parsed.value.status);
  if (!status.ok) return deny(status, warnings);
  const app = resolveAppName(metadata, parsed.value.app);
  if (!app.ok) return deny(app, warnings);
  const targets = selectTargets(containers.value, parsed.value.containers, status.value?.containers);
  if (!targets.ok) return deny(targets, warnings);
  if (targets.value.length === 0) {
    return deny(refuse(`${STATUS_ANNOTATION} names no container of this pod; remove the annotation`), warnings);
  }

  const names = {
    app: app.value.app,
    secretId: secretIdFor(organization, policy.environment),
    secretProviderClassName: secretProviderClassNameFor(app.value.app),
    syncedSecretName: syncedSecretNameFor(app.value.app),
  };
  const mountPath = parsed.value.mountPath;

  const patch = planPatch({
    spec,
    annotations: annotations.value,
    containers: containers.value,
    targets: targets.value,
    recorded: status.value,
    status: {
      version: STATUS_VERSION,
      app: names.app,
      secretProviderClass: names.secretProviderClassName,
      mountPath,
      containers: targets.value.map((c) => c.name),
    },
    policy,
  });
  if (!patch.ok) return deny(patch, warnings);
  const serviceAccount = serviceAccountWarning(spec, organization);
  if (serviceAccount !== undefined) warnings.push(serviceAccount);

  return {
    action: 'inject',
    patch: patch.value,
    secretProviderClass: buildSecretProviderClass({
      name: names.secretProviderClassName,
      namespace: organization,
      app: names.app,
      secretId: names.secretId,
      syncedSecretName: names.syncedSecretName,
      region: policy.region,
      usePodIdentity: policy.usePodIdentity,
      urlFromSecret: policy.urlFromSecret,
    }),
    target: {
      organization,
      environment: policy.environment,
      app: names.app,
      secretId: names.secretId,
      secretProviderClassName: names.secretProviderClassName,
      syncedSecretName: names.syncedSecretName,
      containers: targets.value.map((c) => c.name),
      mountPath,
    },
    warnings,
  };
}

