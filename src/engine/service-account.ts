// The pod's ServiceAccount: the CSI driver fetches the secret with its IAM role, so the wrong one fails at mount time.
import { own, type JsonRecord } from './object.ts';
import { quote, warning } from './text.ts';

/**
 * The ServiceAccount each organization's namespace provides for database access (bound to the organization's IAM
 * role through IRSA or Pod Identity). Another account only earns a warning: its role may have been granted access.
 */
export const ORGANIZATION_SERVICE_ACCOUNT = 'db-access';

/** The ServiceAccount admission plugin runs before webhooks and fills in "default"; the same default applies here. */
export function serviceAccountOf(spec: JsonRecord): string {
  const name = own(spec, 'serviceAccountName');
  if (typeof name === 'string' && name !== '') return name;
  const legacy = own(spec, 'serviceAccount');
  if (typeof legacy === 'string' && legacy !== '') return legacy;
  return 'default';
}


/** A warning when the pod does not run as the organization's account, else undefined. */
export function serviceAccountWarning(spec: JsonRecord): string | undefined {
  const serviceAccount = serviceAccountOf(spec);
  if (serviceAccount === ORGANIZATION_SERVICE_ACCOUNT) return undefined;
  return warning(
    `service account ${quote(serviceAccount, 30)} is not ${quote(ORGANIZATION_SERVICE_ACCOUNT)}; ` +
      "the CSI mount fails without the organization's IAM role",
  );
}
