// The pod's containers as the engine sees them, and which of them get the mount and env.
import { CONTAINERS_ANNOTATION } from './annotations.ts';
import { isRecord, own, type JsonRecord } from './object.ts';
import { ok, refuse, type Result } from './result.ts';
import { quote, quoteList } from '../text.ts';

export type ContainerList = 'initContainers' | 'containers';

export interface PodContainer {
  readonly list: ContainerList;
  readonly index: number;
  readonly name: string;
  readonly value: JsonRecord;
}

/**
 * Init containers then containers (the order they start in), each checked for the shape the engine relies on.
 * A malformed entry is refused here so that nothing later can trip over it.
 */
export function listContainers(spec: JsonRecord): Result<readonly PodContainer[]> {
  const out: PodContainer[] = [];
  const seen = new Set<string>();
  for (const list of ['initContainers', 'containers'] as const) {
    const raw = own(spec, list);
    if (raw === undefined || raw === null) {
      if (list === 'containers') return refuse('spec.containers is missing: a pod needs at least one container');
      continue;
    }
    if (!Array.isArray(raw)) return refuse(`spec.${list} must be a list of containers, got ${quote(raw)}`);
    if (list === 'containers' && raw.length === 0) return refuse('spec.containers is empty: a pod needs at least one container');
    for (let index = 0; index < raw.length; index++) {
      const value: unknown = raw[index];
      if (!isRecord(value)) return refuse(`spec.${list}[${index}] must be a container object, got ${quote(value)}`);
      const name = own(value, 'name');
      if (typeof name !== 'string' || name === '') {
        return refuse(`spec.${list}[${index}] has no name: every container needs a non-empty string name`);
      }
      if (seen.has(name)) return refuse(`container name ${quote(name)} is used twice: container names must be unique`);
      seen.add(name);
      out.push({ list, index, name, value });
    }
  }
  return ok(out);
}

/**
 * At most this many containers get the mount and env. Each adds about 1.3 KB to the patch, so thousands would make
 * an answer larger than etcd can store (1.5 MiB) and cost every tenant's admissions CPU; no real pod needs more.
 */
export const MAX_TARGETED_CONTAINERS = 64;

/**
 * Which containers get the mount and env, in pod order:
 * - the ones `db-access/containers` names (an unknown name is refused);
 * - else, on reinvocation, the ones our status annotation recorded (containers added since then get nothing);
 * - else every container and init container the pod has now.
 */
export function selectTargets(
  all: readonly PodContainer[],
  named: readonly string[] | undefined,
  recorded: readonly string[] | undefined,
): Result<readonly PodContainer[]> {
  const targets = candidateTargets(all, named, recorded);
  if (targets.ok && targets.value.length > MAX_TARGETED_CONTAINERS) {
    return refuse(
      `db-access-webhook would inject into ${targets.value.length} containers (at most ${MAX_TARGETED_CONTAINERS}); ` +
        `list the ones that need the database in ${CONTAINERS_ANNOTATION}`,
    );
  }
  return targets;
}

function candidateTargets(
  all: readonly PodContainer[],
  named: readonly string[] | undefined,
  recorded: readonly string[] | undefined,
): Result<readonly PodContainer[]> {
  if (named !== undefined) {
    const byName = new Set(all.map((c) => c.name));
    for (const name of named) {
      if (!byName.has(name)) {
        return refuse(
          `${CONTAINERS_ANNOTATION} names ${quote(name)}, which is not a container or init container of this pod ` +
            `(it has ${quoteList(all.map((c) => c.name))}); fix the name or remove it from the annotation`,
        );
      }
    }
    const wanted = new Set(named);
    return ok(all.filter((c) => wanted.has(c.name)));
  }
  if (recorded !== undefined) {
    const wanted = new Set(recorded);
    return ok(all.filter((c) => wanted.has(c.name)));
  }
  return ok(all);
}
