import t from 'tap';
import { parse } from 'yaml';
import jmespath from 'jmespath';
import { buildSecretProviderClass, objectsParameter } from '../../src/engine/secret-provider-class.ts';
import { validateSecretProviderClass } from '../helpers/schemas.ts';

t.test('objects is YAML from the yaml library: hostile names stay one value', async (t) => {
  for (const secretId of ['acme-prod-database-credentials', 'x\n- objectName: other', "a: b\n'", '"quoted"', '- [x]', '*alias']) {
    const objects = parse(objectsParameter(secretId, false)) as Array<Record<string, unknown>>;
    t.equal(objects.length, 1, JSON.stringify(secretId));
    t.equal(objects[0]?.objectName, secretId);
    t.equal(objects[0]?.objectType, 'secretsmanager');
  }
});

t.test('the cache keeps the two settings apart', async (t) => {
  const composed = parse(objectsParameter('s', false)) as Array<{ jmesPath: unknown[] }>;
  const withUrl = parse(objectsParameter('s', true)) as Array<{ jmesPath: unknown[] }>;
  t.equal(composed[0]?.jmesPath.length, 5);
  t.equal(withUrl[0]?.jmesPath.length, 6);
});

t.test('the whole object', async (t) => {
  const spc = buildSecretProviderClass({
    name: 'a-database-secrets',
    namespace: 'acme',
    app: 'a',
    secretId: 'acme-prod-database-credentials',
    syncedSecretName: 'database-credentials-a',
    region: 'us-east-1',
    usePodIdentity: true,
    urlFromSecret: true,
  });
  t.same(validateSecretProviderClass(spc), []);
  t.same(spc.metadata.labels, { 'app.kubernetes.io/managed-by': 'db-access-webhook', 'db-access/app': 'a' });
  t.same(Object.keys(spc.spec.parameters), ['objects', 'region', 'usePodIdentity']);
  t.same(spc.spec.secretObjects, [
    {
      secretName: 'database-credentials-a',
      type: 'Opaque',
      data: [
        { objectName: 'DB_HOST', key: 'host' },
        { objectName: 'DB_PORT', key: 'port' },
        { objectName: 'DB_NAME', key: 'database' },
        { objectName: 'DB_USER', key: 'username' },
        { objectName: 'DB_PASSWORD', key: 'password' },
        { objectName: 'DATABASE_URL', key: 'url' },
      ],
    },
  ]);
});

/**
 * What the AWS provider does with each jmesPath entry (provider/secret_value.go, getJsonSecrets): search the secret's
 * JSON; a null result or one that is not a string fails the whole mount.
 */
function mountFiles(objects: string, secret: unknown): Record<string, string> {
  const [entry] = parse(objects) as Array<{ jmesPath: Array<{ path: string; objectAlias: string }> }>;
  const files: Record<string, string> = {};
  for (const { path, objectAlias } of entry?.jmesPath ?? []) {
    const found: unknown = jmespath.search(secret, path);
    if (found === null || found === undefined) throw new Error(`JMES Path - ${path} for object alias - ${objectAlias} does not point to a valid object.`);
    if (typeof found !== 'string') throw new Error(`Invalid JMES search result type for path:${path}. Only string is allowed.`);
    files[objectAlias] = found;
  }
  return files;
}

t.test('the provider mounts every key, with the port stored as a string or, as RDS does, as a number', async (t) => {
  const secret = { host: 'db.internal', database: 'billing', username: 'app', password: 's3cr3t' };
  const expected = { DB_HOST: 'db.internal', DB_PORT: '5432', DB_NAME: 'billing', DB_USER: 'app', DB_PASSWORD: 's3cr3t' };
  t.same(mountFiles(objectsParameter('s', false), { ...secret, port: '5432' }), expected);
  t.same(mountFiles(objectsParameter('s', false), { ...secret, port: 5432 }), expected);
  t.same(mountFiles(objectsParameter('s', true), { ...secret, port: 5432, url: 'postgresql://x' }), { ...expected, DATABASE_URL: 'postgresql://x' });
  t.throws(() => mountFiles(objectsParameter('s', false), secret), /for object alias - DB_PORT does not point to a valid object/, 'a missing port stays an error, not the string "null"');
});
