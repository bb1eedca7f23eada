import t from 'tap';
import { parse } from 'yaml';
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
  t.equal(objectsParameter('s', false), objectsParameter('s', false));
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
