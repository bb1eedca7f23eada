// The CSI volume and its mounts.

export const VOLUME_NAME = 'database-secrets';
export const CSI_DRIVER = 'secrets-store.csi.k8s.io';

/** The Secrets Store CSI driver refuses volumes that are not read-only. */
export function injectedVolume(secretProviderClassName: string): Record<string, unknown> {
  return {
    name: VOLUME_NAME,
    csi: { driver: CSI_DRIVER, readOnly: true, volumeAttributes: { secretProviderClass: secretProviderClassName } },
  };
}

export function injectedMount(mountPath: string): Record<string, unknown> {
  return { name: VOLUME_NAME, mountPath, readOnly: true };
}

/**
 * One directory to the container runtime, though the apiserver compares the strings: `/a/b/`, `/a//b`, `/a/./b` and
 * `/a/c/../b` all name `/a/b` (`..` stops at the root, as the runtime's path join does). `ours` is normalized already.
 */
export function sameMountPath(existing: unknown, ours: string): boolean {
  if (typeof existing !== 'string') return false;
  const segments: string[] = [];
  for (const segment of existing.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  return `/${segments.join('/')}` === ours;
}
