// The CSI volume and its mounts.
import { sharedValues } from './shared.ts';

export const VOLUME_NAME = 'database-secrets';
export const CSI_DRIVER = 'secrets-store.csi.k8s.io';

/** The Secrets Store CSI driver refuses volumes that are not read-only. Shared and frozen (shared.ts). */
export const injectedVolume: (secretProviderClassName: string) => Readonly<Record<string, unknown>> = sharedValues(
  (secretProviderClassName) => secretProviderClassName,
  (secretProviderClassName) => ({
    name: VOLUME_NAME,
    csi: { driver: CSI_DRIVER, readOnly: true, volumeAttributes: { secretProviderClass: secretProviderClassName } },
  }),
);

/** Shared and frozen (shared.ts). */
export const injectedMount: (mountPath: string) => Readonly<Record<string, unknown>> = sharedValues(
  (mountPath) => mountPath,
  (mountPath) => ({ name: VOLUME_NAME, mountPath, readOnly: true }),
);

/**
 * Does a user mount at `existing` land on our mount at `ours` (normalized already), or inside it? The runtime sees
 * one directory where the apiserver compares strings: `/a/b/`, `/a//b`, `/a/./b` and `/a/c/../b` all name `/a/b`
 * (`..` stops at the root, as the runtime's path join does). Inside it, the runtime would have to create the mount
 * point in our read-only volume (the container fails to start), or a file mount would hide one of the secrets.
 */
export function overlapWithOurMount(existing: unknown, ours: string): 'at' | 'inside' | undefined {
  if (typeof existing !== 'string') return undefined;
  const path = normalizedPath(existing);
  if (path === ours) return 'at';
  return path.startsWith(`${ours}/`) ? 'inside' : undefined; // `ours` is never "/" (parseMountPath)
}

/** `existing` as the runtime resolves it. Most mount paths (`/etc/app`) already are, and skip the split and join. */
function normalizedPath(existing: string): string {
  // No empty, `.` or `..` segment (`/.` also sends `/.cache` the long way, which keeps it as it is).
  const resolved = existing.length > 1 && existing.startsWith('/') && !existing.endsWith('/') && !existing.includes('//') && !existing.includes('/.');
  if (resolved) return existing;
  const segments: string[] = [];
  for (const segment of existing.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  return `/${segments.join('/')}`;
}
