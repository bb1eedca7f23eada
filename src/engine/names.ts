// Kubernetes name rules and the names one injection derives from the organization, environment and app.

/** RFC 1123 label, length included: what namespaces and our app names must be (the app is also a label value). */
export const DNS1123_LABEL = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;

export function isDns1123Label(value: unknown): value is string {
  return typeof value === 'string' && DNS1123_LABEL.test(value);
}

export const DNS1123_LABEL_RULE =
  'at most 63 lowercase letters, digits or "-", starting and ending with a letter or digit';

export const SECRET_PROVIDER_CLASS_SUFFIX = '-database-secrets';
export const SYNCED_SECRET_PREFIX = 'database-credentials-';

/** Secrets Manager secret: `{organization}-{environment}-database-credentials`. */
export function secretIdFor(organization: string, environment: string): string {
  return `${organization}-${environment}-database-credentials`;
}

/** SecretProviderClass in the pod's namespace: `{app}-database-secrets` (≤ 80 chars for a 63-char app). */
export function secretProviderClassNameFor(app: string): string {
  return `${app}${SECRET_PROVIDER_CLASS_SUFFIX}`;
}

/** Kubernetes Secret the CSI driver syncs: `database-credentials-{app}` (≤ 84 chars for a 63-char app). */
export function syncedSecretNameFor(app: string): string {
  return `${SYNCED_SECRET_PREFIX}${app}`;
}
