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

/** `/a/b/` and `/a/b` are one directory to the runtime, though the apiserver sees two strings. */
export function sameMountPath(existing: unknown, ours: string): boolean {
  if (typeof existing !== 'string') return false;
  let end = existing.length;
  while (end > 1 && existing[end - 1] === '/') end--;
  return existing.slice(0, end) === ours;
}
