// The pod's ServiceAccount: the CSI driver fetches the secret with its IAM role, so the wrong one fails at mount time.
import { own, type JsonRecord } from './object.ts';
import { quote, warning } from '../text.ts';

/** The ServiceAccount admission plugin runs before webhooks and fills in "default"; the same default applies here. */
export function serviceAccountOf(spec: JsonRecord): string {
  const name = own(spec, 'serviceAccountName');
  if (typeof name === 'string' && name !== '') return name;
  const legacy = own(spec, 'serviceAccount');
  if (typeof legacy === 'string' && legacy !== '') return legacy;
  return 'default';
}


/**
 * A warning when the pod does not run as its organization's ServiceAccount, else undefined. The platform gives each
 * organization a ServiceAccount named after it, bound to its IAM role (IRSA or Pod Identity); another account only
 * earns a warning, since its role may have been granted access too.
 */
export function serviceAccountWarning(spec: JsonRecord, organization: string): string | undefined {
  const serviceAccount = serviceAccountOf(spec);
  if (serviceAccount === organization) return undefined;
  return warning(
    `service account ${quote(serviceAccount, 30)} is not ${quote(organization, 30)}; ` +
      "the CSI mount fails without the organization's IAM role",
  );
}
