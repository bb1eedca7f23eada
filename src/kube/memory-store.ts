// The embedded default when there is no cluster: SecretProviderClasses live in this process only.
// It follows the cluster store's outcomes so `npm start` on a laptop exercises the same admission path.
import type { SecretProviderClass } from '../engine/types.ts';
import type {
  EnsureOptions,
  EnsureResult,
  KubeCallResult,
  KubeVerb,
  SecretProviderClassStore,
} from './types.ts';
import { SecretProviderClassError } from './types.ts';
import { foreignWarning, isOurs, keyOf, matchesDesired, mergeDesired, silentLogger } from './spc.ts';
import type { StoredObject, StoreLogger } from './spc.ts';

export interface MemoryStoreOptions {
  readonly logger?: StoreLogger;
  /** Metric hook, called once per simulated API call (same verbs and results as the cluster store). */
  readonly onCall?: (verb: KubeVerb, result: KubeCallResult) => void;
  /** Objects that exist from the start, e.g. a foreign SecretProviderClass in a test. */
  readonly initial?: readonly StoredObject[];
  /** Bound on held objects (oldest dropped first) so hostile input cannot grow memory without limit. */
  readonly maxObjects?: number;
}

export interface MemoryStore extends SecretProviderClassStore {
  /** A copy of what the store holds for namespace/name, or undefined. */
  get(namespace: string, name: string): StoredObject | undefined;
  /** How many objects the store holds. */
  readonly size: number;
}

export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const logger = options.logger ?? silentLogger;
  const onCall = options.onCall ?? (() => {});
  const objects = new Map<string, StoredObject>();
  const maxObjects = options.maxObjects ?? 10_000;
  function remember(key: string, obj: StoredObject): void {
    objects.delete(key);
    objects.set(key, obj);
    if (objects.size > maxObjects) {
      const oldest = objects.keys().next().value;
      if (oldest !== undefined) objects.delete(oldest);
    }
  }
  for (const obj of options.initial ?? []) {
    const ns = obj.metadata?.namespace;
    const name = obj.metadata?.name;
    if (!ns || !name) throw new TypeError('initial SecretProviderClass needs metadata.namespace and metadata.name');
    objects.set(`${ns}/${name}`, structuredClone(obj));
  }

  async function ensure(desired: SecretProviderClass, { dryRun, signal }: EnsureOptions): Promise<EnsureResult> {
    const key = keyOf(desired);
    if (signal.aborted) {
      throw new SecretProviderClassError(`ensuring SecretProviderClass ${key}: deadline reached before the call`, undefined, {
        cause: signal.reason,
      });
    }
    const log = { namespace: desired.metadata.namespace, name: desired.metadata.name };
    const existing = objects.get(key);
    if (existing === undefined) {
      if (dryRun) {
        logger.info({ ...log, outcome: 'dry-run', store: 'memory' }, 'would create SecretProviderClass (dry run)');
        return { outcome: 'dry-run' };
      }
      remember(key, structuredClone(desired));
      onCall('create', 'ok');
      logger.info({ ...log, outcome: 'created', store: 'memory' }, 'would create SecretProviderClass (in-memory store, no cluster)');
      return { outcome: 'created' };
    }
    if (!isOurs(existing)) {
      const warning = foreignWarning(desired);
      logger.warn({ ...log, outcome: 'foreign', store: 'memory' }, 'SecretProviderClass exists without our managed-by label; left untouched');
      return { outcome: 'foreign', warning };
    }
    // The map is the source of truth, so "already right" is a cache hit: no call of any kind.
    if (matchesDesired(existing, desired)) return { outcome: 'cached' };
    if (dryRun) {
      logger.info({ ...log, outcome: 'dry-run', store: 'memory' }, 'would update SecretProviderClass (dry run)');
      return { outcome: 'dry-run' };
    }
    remember(key, mergeDesired(structuredClone(existing), desired));
    onCall('update', 'ok');
    logger.info({ ...log, outcome: 'updated', store: 'memory' }, 'would update SecretProviderClass (in-memory store, no cluster)');
    return { outcome: 'updated' };
  }

  /** The answer that needs no change: the object is right, or it is someone else's. */
  function known(desired: SecretProviderClass): EnsureResult | undefined {
    if (!desired?.metadata?.namespace || !desired.metadata.name) return undefined;
    const existing = objects.get(keyOf(desired));
    if (existing === undefined) return undefined;
    if (!isOurs(existing)) return { outcome: 'foreign', warning: foreignWarning(desired) };
    return matchesDesired(existing, desired) ? { outcome: 'cached' } : undefined;
  }

  return {
    ensure,
    known,
    get(namespace, name) {
      const obj = objects.get(`${namespace}/${name}`);
      return obj === undefined ? undefined : structuredClone(obj);
    },
    get size() {
      return objects.size;
    },
  };
}
