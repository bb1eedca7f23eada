// Pod lists whose entries are keyed by `name` (volumes, volumeMounts, env): read with their shape checked.
import { isRecord, own } from './object.ts';
import { ok, refuse, type Result } from './result.ts';
import { quote } from '../text.ts';

/**
 * The list at `owner[key]`: undefined when absent or null (the apiserver treats both as empty), else an array whose
 * entries are objects with a string `name`. `where` names the list in messages, e.g. `container "app" env`.
 */
export function readNamedList(owner: unknown, key: string, where: string): Result<readonly Record<string, unknown>[] | undefined> {
  const raw = own(owner, key);
  if (raw === undefined || raw === null) return ok(undefined);
  if (!Array.isArray(raw)) return refuse(`${where} must be a list, got ${quote(raw)}`);
  for (let i = 0; i < raw.length; i++) {
    const entry: unknown = raw[i];
    if (!isRecord(entry) || !Object.hasOwn(entry, 'name') || typeof entry.name !== 'string') {
      return refuse(`${where}[${i}] must be an object with a string name, got ${quote(entry)}`);
    }
  }
  return ok(raw as Record<string, unknown>[]);
}

/** Indexes (ascending) of the entries whose name satisfies `match`, in a list readNamedList checked (own string names). */
export function indexesWhere(list: readonly Record<string, unknown>[] | undefined, match: (name: string) => boolean): number[] {
  const out: number[] = [];
  if (list === undefined) return out;
  for (let i = 0; i < list.length; i++) if (match(list[i]?.name as string)) out.push(i);
  return out;
}
