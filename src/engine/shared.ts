// Values the engine hands to every pod of an app (the env list, the volume, the mount, the SecretProviderClass):
// built once per app, frozen at every depth, and shared. Nothing can change them, so the adapters may keep what
// they derive from them: the patch's JSON text (respond.ts) and the cache's fingerprint (kube/spc.ts). That saved
// about 8 µs of CPU per injected admission (BENCHMARKS.md, "Fixed during this work").

/** Distinct apps whose values are kept; older ones are built again when asked for. */
export const SHARED_VALUES_LIMIT = 256;

const deeplyFrozen = new WeakSet<object>();

/** `value`, frozen at every depth and recorded as such. */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || deeplyFrozen.has(value)) return value;
  for (const child of Object.values(value)) deepFreeze(child);
  Object.freeze(value);
  deeplyFrozen.add(value);
  return value;
}

/** True for an object deepFreeze made: its serialization can never go stale. */
export function isDeeplyFrozen(value: unknown): value is object {
  return typeof value === 'object' && value !== null && deeplyFrozen.has(value);
}

/**
 * `build`, remembered for the last SHARED_VALUES_LIMIT distinct keys: the same arguments give the same deeply frozen
 * object. `keyOf` must map different arguments to different keys.
 */
export function sharedValues<A extends readonly unknown[], R>(keyOf: (...args: A) => string, build: (...args: A) => R): (...args: A) => R {
  const built = new Map<string, R>();
  return (...args: A): R => {
    const key = keyOf(...args);
    const known = built.get(key);
    if (known !== undefined) return known;
    const value = deepFreeze(build(...args));
    if (built.size >= SHARED_VALUES_LIMIT) built.delete(built.keys().next().value as string);
    built.set(key, value);
    return value;
  };
}
