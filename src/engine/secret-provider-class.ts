// The SecretProviderClass a pod's CSI volume points at: which AWS secret, which JSON keys, which synced Secret.
import { stringify } from 'yaml';
import { SECRET_KEYS } from './env.ts';
import { sharedValues } from './shared.ts';
import { APP_LABEL, MANAGED_BY_LABEL, MANAGED_BY_VALUE, type SecretProviderClass } from './types.ts';

interface Alias {
  /** The JSON key in the secret, which is also the key of the synced Kubernetes Secret. */
  readonly key: string;
  /** The file name under the mount path, and the object name in secretObjects. */
  readonly alias: string;
  /** The JMESPath the AWS provider evaluates; it refuses any result that is not a string. */
  readonly path: string;
}

const plain = (key: string, alias: string): Alias => ({ key, alias, path: key });

const ALIASES: readonly Alias[] = [
  plain(SECRET_KEYS.host, 'DB_HOST'),
  // RDS-managed secrets store the port as a number. `&&` keeps a missing key an error (not the string "null").
  { key: SECRET_KEYS.port, alias: 'DB_PORT', path: `${SECRET_KEYS.port} && to_string(${SECRET_KEYS.port})` },
  plain(SECRET_KEYS.database, 'DB_NAME'),
  plain(SECRET_KEYS.username, 'DB_USER'),
  plain(SECRET_KEYS.password, 'DB_PASSWORD'),
];
const URL_ALIAS = plain(SECRET_KEYS.url, 'DATABASE_URL');

export interface SecretProviderClassInput {
  readonly name: string;
  readonly namespace: string;
  readonly app: string;
  readonly secretId: string;
  readonly syncedSecretName: string;
  readonly region: string;
  readonly usePodIdentity: boolean;
  readonly urlFromSecret: boolean;
}

/**
 * `objects` is YAML inside a string parameter. Built by the yaml library, never by concatenation, so no value can
 * smuggle in another object (the provider would mount whatever secret such an entry names). Kept per secret, that
 * is per organization: serializing it is most of what a new app's first pod costs (about 60 µs).
 */
export const objectsParameter: (secretId: string, urlFromSecret: boolean) => string = sharedValues(
  (secretId, urlFromSecret) => `${urlFromSecret ? 'url' : 'composed'}/${secretId}`,
  buildObjects,
);

function buildObjects(secretId: string, urlFromSecret: boolean): string {
  const aliases = urlFromSecret ? [...ALIASES, URL_ALIAS] : ALIASES;
  return stringify([
    {
      objectName: secretId,
      objectType: 'secretsmanager',
      jmesPath: aliases.map(({ path, alias }) => ({ path, objectAlias: alias })),
    },
  ]);
}

/**
 * Shared and frozen (shared.ts): the store fingerprints it once per app, and serializing the YAML, most of the
 * engine's cost before it was kept, happens once too.
 */
export const buildSecretProviderClass: (input: SecretProviderClassInput) => SecretProviderClass = sharedValues(
  (input) => JSON.stringify(input), // every field, so a field added later is part of the key
  build,
);

function build(input: SecretProviderClassInput): SecretProviderClass {
  const aliases = input.urlFromSecret ? [...ALIASES, URL_ALIAS] : ALIASES;
  const objects = objectsParameter(input.secretId, input.urlFromSecret);
  const parameters: Record<string, string> = { objects, region: input.region };
  if (input.usePodIdentity) parameters.usePodIdentity = 'true';
  return {
    apiVersion: 'secrets-store.csi.x-k8s.io/v1',
    kind: 'SecretProviderClass',
    metadata: {
      name: input.name,
      namespace: input.namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [APP_LABEL]: input.app },
    },
    spec: {
      provider: 'aws',
      parameters,
      secretObjects: [
        {
          secretName: input.syncedSecretName,
          type: 'Opaque',
          data: aliases.map(({ key, alias }) => ({ objectName: alias, key })),
        },
      ],
    },
  };
}
