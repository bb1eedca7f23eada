// The app name: the one word every derived name is built from. Explicit sources first, then what controllers leave.
import { APP_ANNOTATION } from './annotations.ts';
import { DNS1123_LABEL_RULE, isDns1123Label } from './names.ts';
import { isRecord, own } from './object.ts';
import { ok, refuse, type Result } from './result.ts';
import { quote } from '../text.ts';

export interface AppName {
  readonly app: string;
  /** Where it came from, for messages: e.g. `label app.kubernetes.io/name`, `owner ReplicaSet`. */
  readonly source: string;
}

const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';
// Deployment hashes are rand.SafeEncodeString(fnv32): consonants and digits without vowels or 0/1/3 (old: decimal).
const TEMPLATE_HASH = /^(?:[bcdfghjklmnpqrstvwxz2456789]{1,10}|[0-9]{1,10})$/;
// A CronJob names its Jobs `{cronjob}-{minutes since the epoch}`: 8 digits today, 10 at most for centuries.
const CRONJOB_SUFFIX = /-[0-9]{8,10}$/;

function stringLabel(labels: unknown, key: string): string | undefined {
  const value = own(labels, key);
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Drops a trailing `-{hash}`: the label's exact hash when known, else anything shaped like a template hash. */
function stripTemplateHash(name: string, hash: string | undefined): string {
  if (hash !== undefined && name.endsWith(`-${hash}`)) return name.slice(0, -(hash.length + 1));
  const dash = name.lastIndexOf('-');
  if (hash === undefined && dash > 0 && TEMPLATE_HASH.test(name.slice(dash + 1))) return name.slice(0, dash);
  return name;
}

/** The controlling owner (controller: true), or the only owner when none says so. */
function controllerOf(metadata: unknown): { kind: string; name: string } | undefined {
  const refs = own(metadata, 'ownerReferences');
  if (!Array.isArray(refs)) return undefined;
  const valid = refs.filter(
    (r): r is Record<string, unknown> =>
      isRecord(r) && typeof own(r, 'kind') === 'string' && typeof own(r, 'name') === 'string' && own(r, 'name') !== '',
  );
  const chosen = valid.find((r) => own(r, 'controller') === true) ?? (valid.length === 1 ? valid[0] : undefined);
  return chosen === undefined ? undefined : { kind: own(chosen, 'kind') as string, name: own(chosen, 'name') as string };
}

/** The app name from the owner: ReplicaSet (Deployment), Job (maybe CronJob) or any other controller. */
export function appFromOwner(kind: string, name: string, templateHash: string | undefined): string {
  if (kind === 'ReplicaSet') return stripTemplateHash(name, templateHash);
  if (kind === 'Job') return name.replace(CRONJOB_SUFFIX, '');
  return name; // StatefulSet, DaemonSet, ReplicationController, custom controllers: the owner's own name
}

/** The app name from `generateName` (`web-7d4b9c6f5d-` for a Deployment's pod, `nightly-28974720-` for a CronJob's). */
export function appFromGenerateName(generateName: string, templateHash: string | undefined): string {
  const base = generateName.endsWith('-') ? generateName.slice(0, -1) : generateName;
  if (templateHash !== undefined) return stripTemplateHash(base, templateHash);
  return base.replace(CRONJOB_SUFFIX, '');
}

function candidate(metadata: unknown, annotationApp: string | undefined): AppName | undefined {
  if (annotationApp !== undefined) return { app: annotationApp, source: `annotation ${APP_ANNOTATION}` };
  const labels = own(metadata, 'labels');
  const nameLabel = stringLabel(labels, 'app.kubernetes.io/name');
  if (nameLabel !== undefined) return { app: nameLabel, source: 'label app.kubernetes.io/name' };
  const appLabel = stringLabel(labels, 'app');
  if (appLabel !== undefined) return { app: appLabel, source: 'label app' };

  const hash = stringLabel(labels, POD_TEMPLATE_HASH_LABEL);
  const owner = controllerOf(metadata);
  if (owner !== undefined) return { app: appFromOwner(owner.kind, owner.name, hash), source: `owner ${owner.kind}` };
  const generateName = own(metadata, 'generateName');
  if (typeof generateName === 'string' && generateName !== '') {
    return { app: appFromGenerateName(generateName, hash), source: 'metadata.generateName' };
  }
  const name = own(metadata, 'name');
  if (typeof name === 'string' && name !== '') return { app: name, source: 'metadata.name' };
  return undefined;
}

/** Resolves and validates the app name; the app must be a DNS-1123 label so every derived name is valid too. */
export function resolveAppName(metadata: unknown, annotationApp: string | undefined): Result<AppName> {
  const found = candidate(metadata, annotationApp);
  if (found === undefined) {
    return refuse(
      `cannot tell the app name: the pod has no ${APP_ANNOTATION} annotation, app.kubernetes.io/name or app label, ` +
        `owner, generateName or name; set annotation ${APP_ANNOTATION}`,
    );
  }
  if (!isDns1123Label(found.app)) {
    return refuse(
      `app name ${quote(found.app)} (from ${found.source}) is not a valid DNS-1123 label (${DNS1123_LABEL_RULE}); ` +
        `set annotation ${APP_ANNOTATION} to a valid name`,
    );
  }
  return ok(found);
}
