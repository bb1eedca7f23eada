// Which admission requests are about creating a Pod, read from hostile JSON.
import { isRecord, own, type JsonRecord } from './object.ts';

/** The Pod in the request, if `request.object` is an object at all. */
export function podFromRequest(request: unknown): JsonRecord | undefined {
  const object = own(request, 'object');
  return isRecord(object) ? object : undefined;
}

function isCoreGroup(value: unknown): boolean {
  return value === undefined || value === '';
}

/** The request is about `pods` in the core group (`kind` is the fallback when `resource` is absent). */
export function isPodResource(request: JsonRecord): boolean {
  const resource = own(request, 'resource');
  if (isRecord(resource)) return isCoreGroup(own(resource, 'group')) && own(resource, 'resource') === 'pods';
  return isPodKind(request);
}

export function isPodKind(request: JsonRecord): boolean {
  const kind = own(request, 'kind');
  return isRecord(kind) && isCoreGroup(own(kind, 'group')) && own(kind, 'kind') === 'Pod';
}
