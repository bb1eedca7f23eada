import t from 'tap';
import { escapePointer, pointer, reconcileArray } from '../../src/engine/patch.ts';
import { applyPatch } from '../helpers/apply-patch.ts';

t.test('JSON pointer escaping (RFC 6901)', async (t) => {
  t.equal(escapePointer('db-access/status'), 'db-access~1status');
  t.equal(escapePointer('a~b'), 'a~0b');
  t.equal(escapePointer('~/'), '~0~1', '~ first, so "~1" is not produced from "/" and then re-escaped');
  t.equal(escapePointer('~1'), '~01');
  t.equal(pointer('metadata', 'annotations', 'a/b~c'), '/metadata/annotations/a~1b~0c');
  t.equal(pointer('spec', 'containers', 3, 'env'), '/spec/containers/3/env');
  const doc = { metadata: { annotations: { 'x~/y': 'old' } } };
  t.same(applyPatch(doc, [{ op: 'replace', path: pointer('metadata', 'annotations', 'x~/y'), value: 'new' }]), {
    metadata: { annotations: { 'x~/y': 'new' } },
  });
});

t.test('reconcileArray', async (t) => {
  const ours = { name: 'ours' };
  t.same(reconcileArray('/a', undefined, [], [ours]), [{ op: 'add', path: '/a', value: [ours] }], 'absent: add whole array');
  t.same(reconcileArray('/a', undefined, [], []), [], 'absent and nothing wanted');
  t.same(reconcileArray('/a', [{ name: 'x' }], [], [ours]), [{ op: 'add', path: '/a/-', value: ours }], 'present: append');
  t.same(reconcileArray('/a', [{ name: 'x' }, ours], [1], [ours]), [], 'already right: nothing');
  const stale = [{ name: 'ours', old: true }, { name: 'x' }, { name: 'ours' }];
  const ops = reconcileArray('/a', stale, [0, 2], [ours]);
  t.same(ops, [
    { op: 'remove', path: '/a/2' },
    { op: 'remove', path: '/a/0' },
    { op: 'add', path: '/a/-', value: ours },
  ], 'stale: remove highest index first, then append');
  t.same(applyPatch({ a: stale }, ops), { a: [{ name: 'x' }, ours] });
  t.same(reconcileArray('/a', [ours], [0], []), [{ op: 'remove', path: '/a/0' }], 'no longer targeted: strip');
  t.same(applyPatch({ a: null }, reconcileArray('/a', undefined, [], [ours])), { a: [ours] }, 'null array is replaced by add');
});
