// Values the engine hands to every pod of an app (the env list, the volume, the mount, the SecretProviderClass):
// built once per app, frozen at every depth, and shared. Nothing can change them, so the adapters may keep what
// they derive from them: the patch's JSON text (respond.ts) and the cache's fingerprint (kube/spc.ts). In A/Bs over
// HTTP an injected admission cost 6–9 µs less CPU (BENCHMARKS.md, finding 1).

/**
 * Distinct apps whose values are kept; older ones are built again when asked for. A rollout touches a few apps at a
 * time; each kept app holds about 6 KB (its texts included), so 64 hold about 0.4 MB (BENCHMARKS.md, finding 5).
 */
export const SHARED_VALUES_LIMIT = 64;

/**
 * Where a shared value keeps what was derived from it: a non-enumerable property, so JSON, structuredClone and
 * Object.keys never see it. Not a WeakMap or WeakSet beside the values: fed one set of long-lived keys per new app,
 * such collections kept growing by 0.4–0.8 KB per app, even across forced full collections (shared.test.ts).
 */
const DERIVED = Symbol('db-access-webhook derived values');

/** The derived texts a value can keep (respond.ts: its JSON; kube/spc.ts: the SecretProviderClass fingerprint). */
class DerivedTexts {
  json: string | undefined = undefined;
  fingerprint: string | undefined = undefined;
}

type Shared = { readonly [DERIVED]: DerivedTexts };

/** True for a value (or list element) deepFreeze made: what is derived from it can never go stale. */
export function isSharedValue(value: unknown): value is Shared {
  return typeof value === 'object' && value !== null && Object.hasOwn(value, DERIVED);
}

/**
 * `value`, frozen at every depth. The value itself, and each element when it is a list (an env entry is a patch
 * value of its own), can keep derived texts (derivedText); nested objects are only frozen.
 */
export function deepFreeze<T>(value: T): T {
  freeze(value, true);
  return value;
}

function freeze(value: unknown, keepsDerived: boolean): void {
  if (typeof value !== 'object' || value === null) return;
  const list = Array.isArray(value);
  for (const child of Object.values(value)) freeze(child, keepsDerived && list);
  // A frozen object takes no new property: the place for derived texts is made before the freeze.
  if (keepsDerived && !Object.isFrozen(value)) Object.defineProperty(value, DERIVED, { value: new DerivedTexts() });
  Object.freeze(value);
}

/**
 * `compute()`, kept with `value` when it is a shared value (deepFreeze), so it is computed once per app and dropped
 * with the value; computed every time otherwise.
 */
export function derivedText(value: unknown, name: keyof DerivedTexts, compute: () => string): string {
  if (!isSharedValue(value)) return compute();
  const derived = value[DERIVED];
  return (derived[name] ??= compute());
}

/**
 * `build`, remembered for the SHARED_VALUES_LIMIT keys asked for most recently (a hit counts as asked): the same
 * arguments give the same deeply frozen object. `keyOf` must map different arguments to different keys.
 */
export function sharedValues<A extends readonly unknown[], R>(keyOf: (...args: A) => string, build: (...args: A) => R): (...args: A) => R {
  const built = new Map<string, R>();
  return (...args: A): R => {
    const key = keyOf(...args);
    const known = built.get(key);
    if (known !== undefined) {
      // Moved to the back, so a busy app outlives a stream of new ones (Map order is the eviction order).
      built.delete(key);
      built.set(key, known);
      return known;
    }
    const value = deepFreeze(build(...args));
    if (built.size >= SHARED_VALUES_LIMIT) built.delete(built.keys().next().value as string);
    built.set(key, value);
    return value;
  };
}
