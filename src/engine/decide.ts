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
import { listContainers, selectTargets, type PodContainer } from './containers.ts';
import { INJECTED_ENV_NAME_SET, injectedEnv } from './env.ts';
import { indexesWhere, readNamedList } from './named-list.ts';
import {
  DNS1123_LABEL_RULE,
  isDns1123Label,
  secretIdFor,
  secretProviderClassNameFor,
  syncedSecretNameFor,
} from './names.ts';
import { isRecord, own, type JsonRecord } from './object.ts';
import { pointer, reconcileArray } from './patch.ts';
import { refuse, type Refusal } from './result.ts';
import { buildSecretProviderClass } from './secret-provider-class.ts';
import { STATUS_VERSION, formatStatus, parseStatus, type InjectionStatus } from './status.ts';
import { quote, warning } from './text.ts';
import type { AdmissionRequestInput, Decision, EnginePolicy, PatchOperation, SkipReason } from './types.ts';
import { VOLUME_NAME, injectedMount, injectedVolume, sameMountPath } from './volume.ts';

/** Never injected, whatever the configuration says. */
export const ALWAYS_EXCLUDED_NAMESPACES: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease'];

/**
 * The ServiceAccount each organization's namespace provides for database access (bound to the organization's IAM
 * role through IRSA or Pod Identity). Another account only earns a warning: the CSI mount will fail on IAM.
 */
export const ORGANIZATION_SERVICE_ACCOUNT = 'db-access';

const KNOWN_SUFFIXES = KNOWN_ANNOTATIONS.filter((k) => k !== STATUS_ANNOTATION)
  .map((k) => k.slice(ANNOTATION_PREFIX.length))
  .join(', ');
const MAX_UNKNOWN_ANNOTATION_WARNINGS = 3;

export function isExcludedNamespace(namespace: string, policy: EnginePolicy): boolean {
  return (
    ALWAYS_EXCLUDED_NAMESPACES.includes(namespace) ||
    namespace === policy.webhookNamespace ||
    policy.excludedNamespaces.includes(namespace)
  );
}

/** The Pod in the request, if `request.object` is an object at all. */
export function podFromRequest(request: unknown): JsonRecord | undefined {
  const object = own(request, 'object');
  return isRecord(object) ? object : undefined;
}

function skip(reason: SkipReason, warnings: readonly string[] = []): Decision {
  return { action: 'skip', reason, warnings };
}

function deny(refusal: Refusal, warnings: readonly string[] = []): Decision {
  return { action: 'deny', code: refusal.code, message: refusal.message, warnings };
}

function isCoreGroup(value: unknown): boolean {
  return value === undefined || value === '';
}

/** The request is about `pods` in the core group (`kind` is the fallback when `resource` is absent). */
function isPodResource(request: JsonRecord): boolean {
  const resource = own(request, 'resource');
  if (isRecord(resource)) return isCoreGroup(own(resource, 'group')) && own(resource, 'resource') === 'pods';
  return isPodKind(request);
}

function isPodKind(request: JsonRecord): boolean {
  const kind = own(request, 'kind');
  return isRecord(kind) && isCoreGroup(own(kind, 'group')) && own(kind, 'kind') === 'Pod';
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

  const patch = buildPatch({
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
  if (!Array.isArray(patch)) return deny(patch as Refusal, warnings);

  const serviceAccount = serviceAccountOf(spec);
  if (serviceAccount !== ORGANIZATION_SERVICE_ACCOUNT) {
    warnings.push(
      warning(
        `service account ${quote(serviceAccount, 30)} is not ${quote(ORGANIZATION_SERVICE_ACCOUNT)}; ` +
          "the CSI mount fails without the organization's IAM role",
      ),
    );
  }

  return {
    action: 'inject',
    patch,
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

/** The ServiceAccount admission plugin runs before webhooks and fills in "default"; the same default applies here. */
function serviceAccountOf(spec: JsonRecord): string {
  const name = own(spec, 'serviceAccountName');
  if (typeof name === 'string' && name !== '') return name;
  const legacy = own(spec, 'serviceAccount');
  if (typeof legacy === 'string' && legacy !== '') return legacy;
  return 'default';
}

interface PatchInput {
  readonly spec: JsonRecord;
  readonly annotations: JsonRecord;
  readonly containers: readonly PodContainer[];
  readonly targets: readonly PodContainer[];
  /** The status a previous call recorded: everything it names is ours to strip and re-apply. */
  readonly recorded: InjectionStatus | undefined;
  readonly status: InjectionStatus;
  readonly policy: EnginePolicy;
}

/**
 * The operations that bring the pod to "exactly our injection on exactly the targets": empty when it already is.
 * Conflicts with what the user defined (not recorded as ours) are refused.
 */
function buildPatch(input: PatchInput): PatchOperation[] | Refusal {
  const { spec, recorded, status } = input;
  const ops: PatchOperation[] = [];

  const volumes = readNamedList(spec, 'volumes', 'spec.volumes');
  if (!volumes.ok) return volumes;
  const ourVolumes = indexesWhere(volumes.value, (name) => name === VOLUME_NAME);
  if (ourVolumes.length > 0 && recorded === undefined) {
    return refuse(
      `the pod already has a volume named ${quote(VOLUME_NAME)}, which db-access-webhook injects; ` +
        `rename that volume or remove ${ENABLED_ANNOTATION}`,
    );
  }
  ops.push(...reconcileArray('/spec/volumes', volumes.value, ourVolumes, [injectedVolume(status.secretProviderClass)]));

  const targeted = new Set(input.targets);
  const previously = new Set(recorded?.containers ?? []);
  const mount = injectedMount(status.mountPath);
  const env = injectedEnv(syncedSecretNameFor(status.app), input.policy.urlFromSecret);
  for (const container of input.containers) {
    const isTarget = targeted.has(container);
    const wasTarget = previously.has(container.name);
    if (!isTarget && !wasTarget) continue; // cost stays with the containers we touch
    const base = pointer('spec', container.list, container.index);
    const label = `container ${quote(container.name)}`;

    const mounts = readNamedList(container.value, 'volumeMounts', `${label} volumeMounts`);
    if (!mounts.ok) return mounts;
    const ourMounts = indexesWhere(mounts.value, (name) => name === VOLUME_NAME);
    if (ourMounts.length > 0 && !wasTarget) {
      return refuse(
        `${label} already mounts a volume named ${quote(VOLUME_NAME)}, which db-access-webhook injects; ` +
          `remove that mount or leave the container out of db-access/containers`,
      );
    }
    if (isTarget) {
      for (const entry of mounts.value ?? []) {
        if (own(entry, 'name') !== VOLUME_NAME && sameMountPath(own(entry, 'mountPath'), status.mountPath)) {
          return refuse(
            `${label} already mounts volume ${quote(own(entry, 'name'))} at ${quote(status.mountPath)}; ` +
              'set db-access/mount-path to a free path or move that mount',
          );
        }
      }
    }
    ops.push(...reconcileArray(`${base}/volumeMounts`, mounts.value, ourMounts, isTarget ? [mount] : []));

    const vars = readNamedList(container.value, 'env', `${label} env`);
    if (!vars.ok) return vars;
    const ourVars = indexesWhere(vars.value, (name) => INJECTED_ENV_NAME_SET.has(name));
    if (ourVars.length > 0 && !wasTarget) {
      const first = own(vars.value?.[ourVars[0] as number], 'name') as string;
      return refuse(
        `${label} already defines env ${first}, which db-access-webhook injects; ` +
          'rename or remove it, or leave the container out of db-access/containers',
      );
    }
    ops.push(...reconcileArray(`${base}/env`, vars.value, ourVars, isTarget ? env : []));
  }

  const statusValue = formatStatus(status);
  const statusPath = pointer('metadata', 'annotations', STATUS_ANNOTATION);
  if (!Object.hasOwn(input.annotations, STATUS_ANNOTATION)) {
    ops.push({ op: 'add', path: statusPath, value: statusValue });
  } else if (input.annotations[STATUS_ANNOTATION] !== statusValue) {
    ops.push({ op: 'replace', path: statusPath, value: statusValue });
  }
  return ops;
}
