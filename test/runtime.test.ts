import t from 'tap';
import jsonpatch from 'fast-json-patch';
t.test('npm scripts run on the pinned Node 24', async (t) => {
  t.match(process.version, /^v24\./);
  const doc = jsonpatch.applyPatch({ a: 1 }, [{ op: 'add', path: '/b', value: 2 }]).newDocument;
  t.same(doc, { a: 1, b: 2 });
});
