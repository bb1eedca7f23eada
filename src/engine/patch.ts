// RFC 6902 operations built explicitly: cost grows with what we inject, never with the size of the pod.
import { jsonEqual } from './object.ts';
import type { PatchOperation } from './types.ts';

/** RFC 6901: `~` → `~0`, then `/` → `~1`. */
export function escapePointer(segment: string): string {
  if (!segment.includes('~') && !segment.includes('/')) return segment; // nearly always: no regex pass
  return segment.replaceAll('~', '~0').replaceAll('/', '~1');
}

export function pointer(...segments: ReadonlyArray<string | number>): string {
  return segments.map((s) => `/${typeof s === 'number' ? String(s) : escapePointer(s)}`).join('');
}

/**
 * Brings the entries we own in one array in line with `desired`:
 * - nothing when our current entries already equal `desired`, in order (reinvocation, idempotency), wherever
 *   other writers have moved them;
 * - else remove ours (highest index first, so earlier indexes stay valid), then add `desired` at the end (`/-`), or
 *   at the start (`/0`, `/1`, …) for env, so the user's own variables can refer to ours as `$(DB_HOST)`;
 * - an absent (or null) array is added whole, because `/-` needs an existing array.
 * Other entries are never touched, so nothing we don't own is replaced.
 */
export function reconcileArray(
  path: string,
  current: readonly unknown[] | undefined,
  oursAt: readonly number[],
  desired: readonly unknown[],
  place: 'end' | 'start' = 'end',
): PatchOperation[] {
  if (current === undefined) return desired.length === 0 ? [] : [{ op: 'add', path, value: desired }];
  if (oursAt.length === desired.length && oursAt.every((at, i) => jsonEqual(current[at], desired[i]))) return [];
  const ops: PatchOperation[] = [];
  for (let i = oursAt.length - 1; i >= 0; i--) ops.push({ op: 'remove', path: `${path}/${oursAt[i]}` });
  desired.forEach((value, i) => ops.push({ op: 'add', path: `${path}/${place === 'end' ? '-' : i}`, value }));
  return ops;
}
