// The environment variables we inject, in the order Kubernetes needs: $(VAR) expands only from earlier variables.
import { sharedValues } from './shared.ts';

export interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: { readonly secretKeyRef: { readonly name: string; readonly key: string } };
}

/** JSON keys of the Secrets Manager secret, which are also the keys of the synced Kubernetes Secret. */
export const SECRET_KEYS = {
  host: 'host',
  port: 'port',
  database: 'database',
  username: 'username',
  password: 'password',
  url: 'url',
} as const;

export const DATABASE_URL_TEMPLATE =
  'postgresql://$(DB_USER):$(DB_PASSWORD)@$(DB_HOST):$(DB_PORT)/$(DB_NAME)?sslmode=require';

/** Every name we inject; a targeted container defining one of them itself is a conflict. */
export const INJECTED_ENV_NAMES: readonly string[] = [
  'DB_HOST',
  'DB_PORT',
  'DB_NAME',
  'DB_USER',
  'DB_PASSWORD',
  'PGHOST',
  'PGPORT',
  'PGDATABASE',
  'PGUSER',
  'PGPASSWORD',
  'PGSSLMODE',
  'DATABASE_URL',
];
export const INJECTED_ENV_NAME_SET: ReadonlySet<string> = new Set(INJECTED_ENV_NAMES);

function fromSecret(name: string, secretName: string, key: string): EnvVar {
  return { name, valueFrom: { secretKeyRef: { name: secretName, key } } };
}

/**
 * The env list for one container. The PG* variables read the Secret directly rather than through $(DB_*), so they
 * carry the raw values libpq expects. DATABASE_URL is composed from $(VAR) references unless the secret carries a
 * pre-encoded `url` key (urlFromSecret), because a composed URL breaks on passwords with `#`, `?`, `%`, `:` or `@`.
 * Shared and frozen (shared.ts): every pod of an app gets the same list.
 */
export const injectedEnv: (syncedSecretName: string, urlFromSecret: boolean) => readonly EnvVar[] = sharedValues(
  (syncedSecretName, urlFromSecret) => `${urlFromSecret ? 'url' : 'composed'}/${syncedSecretName}`,
  buildEnv,
);

function buildEnv(syncedSecretName: string, urlFromSecret: boolean): EnvVar[] {
  const s = syncedSecretName;
  return [
    fromSecret('DB_HOST', s, SECRET_KEYS.host),
    fromSecret('DB_PORT', s, SECRET_KEYS.port),
    fromSecret('DB_NAME', s, SECRET_KEYS.database),
    fromSecret('DB_USER', s, SECRET_KEYS.username),
    fromSecret('DB_PASSWORD', s, SECRET_KEYS.password),
    fromSecret('PGHOST', s, SECRET_KEYS.host),
    fromSecret('PGPORT', s, SECRET_KEYS.port),
    fromSecret('PGDATABASE', s, SECRET_KEYS.database),
    fromSecret('PGUSER', s, SECRET_KEYS.username),
    fromSecret('PGPASSWORD', s, SECRET_KEYS.password),
    { name: 'PGSSLMODE', value: 'require' },
    urlFromSecret ? fromSecret('DATABASE_URL', s, SECRET_KEYS.url) : { name: 'DATABASE_URL', value: DATABASE_URL_TEMPLATE },
  ];
}
