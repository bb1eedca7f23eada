import t from 'tap';
import {
  parseAnnotations,
  parseContainerList,
  parseMountPath,
  parseTrigger,
  readAnnotations,
} from '../../src/engine/annotations.ts';

t.test('trigger', async (t) => {
  t.same(parseTrigger({}), { ok: true, value: 'absent' });
  t.same(parseTrigger({ 'db-access/enabled': 'true' }), { ok: true, value: 'true' });
  t.same(parseTrigger({ 'db-access/enabled': 'false' }), { ok: true, value: 'false' });
  for (const bad of ['yes', 'True', '1', '', true, null, { a: 1 }]) {
    const r = parseTrigger({ 'db-access/enabled': bad });
    t.notOk(r.ok, `${JSON.stringify(bad)} is refused`);
    if (!r.ok) t.match(r.message, /^db-access\/enabled must be "true" or "false", got /);
  }
  const r = parseTrigger({ 'db-access/enabled': 'yes' });
  t.same(r, { ok: false, code: 400, message: 'db-access/enabled must be "true" or "false", got "yes"' });
  t.same(parseTrigger(JSON.parse('{"__proto__": {"db-access/enabled": "true"}}')), { ok: true, value: 'absent' }, '__proto__ is not a way in');
});

t.test('annotations map shape', async (t) => {
  t.same(readAnnotations(undefined), { ok: true, value: {} });
  t.same(readAnnotations({}), { ok: true, value: {} });
  t.notOk(readAnnotations('x').ok);
  t.notOk(readAnnotations({ annotations: ['x'] }).ok);
  t.notOk(readAnnotations({ annotations: 'x' }).ok);
});

t.test('container list', async (t) => {
  t.same(parseContainerList('a'), { ok: true, value: ['a'] });
  t.same(parseContainerList(' a , b,a '), { ok: true, value: ['a', 'b'] }, 'trimmed, de-duplicated, in order');
  t.notOk(parseContainerList('').ok);
  t.notOk(parseContainerList('a,,b').ok);
  t.notOk(parseContainerList('a,').ok);
});

t.test('mount path', async (t) => {
  t.same(parseMountPath('/mnt/secrets-store'), { ok: true, value: '/mnt/secrets-store' });
  t.same(parseMountPath('/var/run/db/'), { ok: true, value: '/var/run/db' }, 'trailing slash normalized');
  for (const bad of ['secrets', '', '/', '//', '/a//b', '/a/./b', '/a/../b', '/a\nb', '/a:b', `/${'a'.repeat(4100)}`]) {
    const r = parseMountPath(bad);
    t.notOk(r.ok, `${JSON.stringify(bad.slice(0, 20))} is refused`);
    if (!r.ok) t.match(r.message, /^db-access\/mount-path .*set db-access\/mount-path to an absolute path/);
  }
});

t.test('all annotations together', async (t) => {
  const r = parseAnnotations({
    'db-access/enabled': 'true',
    'db-access/app': 'shop',
    'db-access/containers': 'a,b',
    'db-access/mount-path': '/db',
    'db-access/contianers': 'x',
    'other/annotation': 'y',
  });
  t.same(r, {
    ok: true,
    value: { app: 'shop', containers: ['a', 'b'], mountPath: '/db', status: undefined, unknown: ['db-access/contianers'] },
  });
  const defaults = parseAnnotations({ 'db-access/enabled': 'true' });
  t.same(defaults, { ok: true, value: { app: undefined, containers: undefined, mountPath: '/mnt/secrets-store', status: undefined, unknown: [] } });
  t.match(parseAnnotations({ 'db-access/app': 5 }), {
    ok: false,
    message: 'db-access/app must be a string, got number 5; annotation values are strings: quote the value in YAML, as written',
  });
  t.match(parseTrigger({ 'db-access/enabled': true }), {
    ok: false,
    message: 'db-access/enabled must be "true" or "false", got boolean true; annotation values are strings: write db-access/enabled: "true" (or "false"), quoted',
  }, 'an unquoted YAML true (or yes) gets the fix');
  t.match(parseTrigger({ 'db-access/enabled': 'yes' }), { ok: false, message: /got "yes"$/ }, 'no quoting hint for a string');
  t.match(parseAnnotations({ 'db-access/containers': ['a'] }), { ok: false, message: /db-access\/containers must be a string/ });
});
