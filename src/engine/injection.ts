// What we inject and where: the volume, and the mount and env of each targeted container, reconciled with what the
// pod already has. Conflicts with what the user defined (not recorded as ours) are refused.
import { ENABLED_ANNOTATION, STATUS_ANNOTATION } from './annotations.ts';
import type { PodContainer } from './containers.ts';
import { INJECTED_ENV_NAME_SET, injectedEnv } from './env.ts';
import { indexesWhere, readNamedList } from './named-list.ts';
import { syncedSecretNameFor } from './names.ts';
import { own, type JsonRecord } from './object.ts';
import { pointer, reconcileArray } from './patch.ts';
import { ok, refuse, type Result } from './result.ts';
import { formatStatus, type InjectionStatus } from './status.ts';
import { quote } from '../text.ts';
import type { EnginePolicy, PatchOperation } from './types.ts';
import { VOLUME_NAME, injectedMount, injectedVolume, overlapWithOurMount } from './volume.ts';

export interface PatchInput {
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
export function planPatch(input: PatchInput): Result<PatchOperation[]> {
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
    const label = `container ${quote(container.name)}`;
    if (!isTarget && !wasTarget) {
      // Our volume is the targeted containers' alone: one left out that mounts it would read the credentials without
      // the status recording it. Checked on the first injection only: on a reinvocation such a mount can be another
      // webhook's doing (a renamed container), and failing the pod would not help its author. Only the mount list is
      // read here: cost stays with the containers we touch.
      if (recorded === undefined && mountsOurVolume(own(container.value, 'volumeMounts'))) {
        return refuse(
          `${label} mounts volume ${quote(VOLUME_NAME)} but is not in db-access/containers; ` +
            'add it to db-access/containers, or remove that mount',
        );
      }
      continue;
    }
    const base = pointer('spec', container.list, container.index);

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
        const where = own(entry, 'name') === VOLUME_NAME ? undefined : overlapWithOurMount(own(entry, 'mountPath'), status.mountPath);
        if (where !== undefined) {
          return refuse(
            `${label} already mounts volume ${quote(own(entry, 'name'))} ${where} ${quote(status.mountPath)}; ` +
              'set db-access/mount-path to a free path or move that mount',
          );
        }
      }
      // A raw block device at our path is refused by the apiserver after we answer; inside it, the runtime could
      // not create the device node in the read-only CSI volume. Either way, say so now.
      const devices = readNamedList(container.value, 'volumeDevices', `${label} volumeDevices`);
      if (!devices.ok) return devices;
      for (const entry of devices.value ?? []) {
        const where = overlapWithOurMount(own(entry, 'devicePath'), status.mountPath);
        if (where !== undefined) {
          return refuse(
            `${label} maps block device ${quote(own(entry, 'name'))} ${where} ${quote(status.mountPath)}; ` +
              'set db-access/mount-path to a free path or move that device',
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
    ops.push(...reconcileArray(`${base}/env`, vars.value, ourVars, isTarget ? env : [], 'start'));
  }

  const statusValue = formatStatus(status);
  const statusPath = pointer('metadata', 'annotations', STATUS_ANNOTATION);
  if (!Object.hasOwn(input.annotations, STATUS_ANNOTATION)) {
    ops.push({ op: 'add', path: statusPath, value: statusValue });
  } else if (input.annotations[STATUS_ANNOTATION] !== statusValue) {
    ops.push({ op: 'replace', path: statusPath, value: statusValue });
  }
  return ok(ops);
}

/** A mount list (unchecked: the container is not ours to validate) with an entry for our volume. */
function mountsOurVolume(mounts: unknown): boolean {
  return Array.isArray(mounts) && mounts.some((m: unknown) => own(m, 'name') === VOLUME_NAME);
}
