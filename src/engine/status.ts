// db-access/status: what we injected, so a second call (reinvocation, or a copied pod) strips and re-applies exactly
// that, and keeps the same targeted containers.
import { STATUS_ANNOTATION } from './annotations.ts';
import { isRecord, own } from './object.ts';
import { ok, refuse, type Result } from './result.ts';

export const STATUS_VERSION = 1;
const MAX_STATUS_CONTAINERS = 1000;

export interface InjectionStatus {
  readonly version: typeof STATUS_VERSION;
  readonly app: string;
  readonly secretProviderClass: string;
  readonly mountPath: string;
  /** Targeted containers and init containers, in pod order. */
  readonly containers: readonly string[];
}

/** Serialized with a fixed key order so the same injection always writes the same string. */
export function formatStatus(status: InjectionStatus): string {
  return JSON.stringify({
    version: status.version,
    app: status.app,
    secretProviderClass: status.secretProviderClass,
    mountPath: status.mountPath,
    containers: status.containers,
  });
}

/** The recorded status, undefined when absent; a value we cannot read is refused (it is ours to write, not users'). */
export function parseStatus(raw: string | undefined): Result<InjectionStatus | undefined> {
  if (raw === undefined) return ok(undefined);
  const fix = `remove annotation ${STATUS_ANNOTATION}: db-access-webhook writes it`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return refuse(`${STATUS_ANNOTATION} is not valid JSON; ${fix}`);
  }
  const containers = own(parsed, 'containers');
  const valid =
    isRecord(parsed) &&
    own(parsed, 'version') === STATUS_VERSION &&
    typeof own(parsed, 'app') === 'string' &&
    typeof own(parsed, 'secretProviderClass') === 'string' &&
    typeof own(parsed, 'mountPath') === 'string' &&
    Array.isArray(containers) &&
    containers.length <= MAX_STATUS_CONTAINERS &&
    containers.every((c) => typeof c === 'string');
  if (!valid) return refuse(`${STATUS_ANNOTATION} does not have the expected fields (version ${STATUS_VERSION}); ${fix}`);
  return ok({
    version: STATUS_VERSION,
    app: own(parsed, 'app') as string,
    secretProviderClass: own(parsed, 'secretProviderClass') as string,
    mountPath: own(parsed, 'mountPath') as string,
    containers: containers as string[],
  });
}
