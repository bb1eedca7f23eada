// The adapters' memory of answers they already have: a Map whose entries expire, bounded in size so that a stream of
// new names (one per app) cannot grow it without limit.

interface Entry<V> {
  readonly value: V;
  readonly expiresAt: number;
}

export class TtlCache<V> {
  readonly #entries = new Map<string, Entry<V>>();
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(maxEntries: number, now: () => number = Date.now) {
    this.#maxEntries = maxEntries;
    this.#now = now;
  }

  /** The value, unless it has expired (an expired entry is dropped on the way). */
  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt > this.#now()) return entry.value;
    this.#entries.delete(key);
    return undefined;
  }

  /** Remembers `value` for `ttlMs` (not at all when `ttlMs` ≤ 0); past the bound the least recently written go. */
  set(key: string, value: V, ttlMs: number): void {
    if (!(ttlMs > 0)) return;
    this.#entries.delete(key); // re-inserted last, so Map order is least recently written first
    this.#entries.set(key, { value, expiresAt: this.#now() + ttlMs });
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}
