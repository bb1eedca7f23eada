import t from 'tap';
import { formatStatus, parseStatus } from '../../src/engine/status.ts';

t.test('status round trip', async (t) => {
  const status = { version: 1, app: 'a', secretProviderClass: 'a-database-secrets', mountPath: '/m', containers: ['x', 'y'] } as const;
  const text = formatStatus(status);
  t.equal(text, '{"version":1,"app":"a","secretProviderClass":"a-database-secrets","mountPath":"/m","containers":["x","y"]}');
  t.same(parseStatus(text), { ok: true, value: status });
  t.same(parseStatus(undefined), { ok: true, value: undefined });
});

t.test('unreadable status is refused with the fix', async (t) => {
  for (const bad of ['', '{', 'null', '[]', '{"version":2,"app":"a","secretProviderClass":"s","mountPath":"/m","containers":[]}',
    '{"version":1,"app":"a","secretProviderClass":"s","mountPath":"/m","containers":[1]}',
    '{"version":1,"app":"a","secretProviderClass":"s","mountPath":"/m"}']) {
    const r = parseStatus(bad);
    t.notOk(r.ok, bad);
    if (!r.ok) t.match(r.message, /remove annotation db-access\/status/);
  }
});
