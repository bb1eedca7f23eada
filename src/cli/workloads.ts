// Where each workload kind keeps its pod template, and what the pod that its controller creates looks like at
// admission. The CLI hands the engine that pod, so the app name it derives from owner and generateName is the one
// the webhook derives for the real pod.
import { createHash } from 'node:crypto';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface WorkloadKind {
  /** API groups this kind is served under; '' is the core group. */
  readonly groups: readonly string[];
  /** Path from the document root to the pod template; empty for a Pod, which is its own template. */
  readonly templatePath: readonly string[];
}

export const WORKLOAD_KINDS: Readonly<Record<string, WorkloadKind>> = {
  Pod: { groups: [''], templatePath: [] },
  Deployment: { groups: ['apps', 'extensions'], templatePath: ['spec', 'template'] },
  StatefulSet: { groups: ['apps'], templatePath: ['spec', 'template'] },
  DaemonSet: { groups: ['apps', 'extensions'], templatePath: ['spec', 'template'] },
  ReplicaSet: { groups: ['apps', 'extensions'], templatePath: ['spec', 'template'] },
  ReplicationController: { groups: [''], templatePath: ['spec', 'template'] },
  Job: { groups: ['batch'], templatePath: ['spec', 'template'] },
  CronJob: { groups: ['batch'], templatePath: ['spec', 'jobTemplate', 'spec', 'template'] },
};

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function group(apiVersion: unknown): string | undefined {
  if (typeof apiVersion !== 'string') return undefined;
  const slash = apiVersion.indexOf('/');
  return slash === -1 ? '' : apiVersion.slice(0, slash);
}

/** The kind's entry when this object is a workload we inject into (kind AND group match, so CRDs reusing a kind name pass through). */
export function workloadKind(obj: JsonObject): WorkloadKind | undefined {
  const kind = typeof obj.kind === 'string' ? WORKLOAD_KINDS[obj.kind] : undefined;
  const g = group(obj.apiVersion);
  return kind && g !== undefined && kind.groups.includes(g) ? kind : undefined;
}

/** A list of objects: kubectl's `v1 List`, or a typed list such as `DeploymentList` (`kubectl get -o yaml`). */
export function isList(value: Json | undefined): value is JsonObject & { kind: string; items: Json[] } {
  return isObject(value) && typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items);
}

export function getPath(obj: Json | undefined, path: readonly (string | number)[]): Json | undefined {
  let at: Json | undefined = obj;
  for (const key of path) {
    if (typeof key === 'number') at = Array.isArray(at) ? at[key] : undefined;
    else at = isObject(at) ? at[key] : undefined;
  }
  return at;
}

// Kubernetes' rand.SafeEncodeString alphabet: no vowels, so generated names never spell words.
const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/**
 * A stand-in for the controller's pod-template-hash: same shape (a SafeEncodeString of a 32-bit number), stable
 * for a given template. It is not the value the real controller computes, and it never appears in the output.
 */
export function templateHash(template: Json): string {
  const n = createHash('sha256').update(JSON.stringify(template)).digest().readUInt32BE(0);
  return [...String(n)].map((c) => SAFE_ALPHABET[c.charCodeAt(0) % SAFE_ALPHABET.length]).join('');
}

/** The minutes-since-epoch suffix the CronJob controller gives each Job; fixed so the output is stable. */
export const CRONJOB_SCHEDULED_MINUTES = 29_000_000;

const SYNTHETIC_UID = '00000000-0000-4000-8000-000000000000';

export interface ControllerPod {
  /** The Pod object as the workload's controller would submit it (namespace set). */
  readonly pod: JsonObject;
  /** Labels the controller adds to the template's labels; removed again when writing back. */
  readonly addedLabels: readonly string[];
}

function owner(apiVersion: string, kind: string, name: string): JsonObject {
  return { apiVersion, kind, name, uid: SYNTHETIC_UID, controller: true, blockOwnerDeletion: true };
}

/**
 * The pod a controller creates from `template` for the workload `workload` (a Deployment's pod comes from its
 * ReplicaSet `<name>-<hash>` with generateName `<name>-<hash>-`, a CronJob's from Job `<name>-<minutes>`, …).
 * Like the controllers, only labels, annotations and finalizers of the template's metadata are copied.
 */
export function controllerPod(workload: JsonObject, template: JsonObject, namespace: string): ControllerPod {
  const kind = String(workload.kind);
  const meta = isObject(workload.metadata) ? workload.metadata : {};
  const tmeta = isObject(template.metadata) ? template.metadata : {};
  let name = typeof meta.name === 'string' ? meta.name : undefined;
  if (name === undefined && typeof meta.generateName === 'string') {
    name = meta.generateName + templateHash(template).slice(0, 5); // what the apiserver does with generateName
  }
  const labels: JsonObject = isObject(tmeta.labels) ? { ...tmeta.labels } : {};
  const before = new Set(Object.keys(labels));
  const metadata: JsonObject = { namespace };
  if (name !== undefined) {
    const hash = templateHash(template);
    switch (kind) {
      case 'Deployment': {
        const rs = `${name}-${hash}`;
        labels['pod-template-hash'] = hash;
        metadata.generateName = `${rs}-`;
        metadata.ownerReferences = [owner('apps/v1', 'ReplicaSet', rs)];
        break;
      }
      case 'StatefulSet':
        metadata.name = `${name}-0`;
        labels['controller-revision-hash'] = `${name}-${hash}`;
        labels['statefulset.kubernetes.io/pod-name'] = `${name}-0`;
        labels['apps.kubernetes.io/pod-index'] = '0';
        metadata.ownerReferences = [owner('apps/v1', 'StatefulSet', name)];
        break;
      case 'DaemonSet':
        labels['controller-revision-hash'] = hash;
        labels['pod-template-generation'] = '1';
        metadata.generateName = `${name}-`;
        metadata.ownerReferences = [owner('apps/v1', 'DaemonSet', name)];
        break;
      case 'ReplicaSet':
        metadata.generateName = `${name}-`;
        metadata.ownerReferences = [owner('apps/v1', 'ReplicaSet', name)];
        break;
      case 'ReplicationController':
        metadata.generateName = `${name}-`;
        metadata.ownerReferences = [owner('v1', 'ReplicationController', name)];
        break;
      case 'Job':
      case 'CronJob': {
        const job = kind === 'CronJob' ? `${name}-${CRONJOB_SCHEDULED_MINUTES}` : name;
        for (const key of ['batch.kubernetes.io/controller-uid', 'controller-uid']) labels[key] = SYNTHETIC_UID;
        for (const key of ['batch.kubernetes.io/job-name', 'job-name']) labels[key] = job;
        metadata.generateName = `${job}-`;
        metadata.ownerReferences = [owner('batch/v1', 'Job', job)];
        break;
      }
    }
  }
  if (Object.keys(labels).length > 0) metadata.labels = labels;
  if (tmeta.annotations !== undefined) metadata.annotations = tmeta.annotations;
  if (tmeta.finalizers !== undefined) metadata.finalizers = tmeta.finalizers;
  const pod: JsonObject = { apiVersion: 'v1', kind: 'Pod', metadata, spec: template.spec ?? null };
  return { pod: structuredClone(pod), addedLabels: Object.keys(labels).filter((k) => !before.has(k)) };
}
