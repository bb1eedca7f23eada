import t from 'tap';
import { TtlCache } from '../src/ttl-cache.ts';

t.test('an entry is answered until its time to live has passed, then dropped', async (t) => {
  let clock = 1_000;
  const cache = new TtlCache<string>(10, () => clock);
  cache.set('a', 'one', 100);
  clock += 99;
  t.equal(cache.get('a'), 'one');
  clock += 1;
  t.equal(cache.get('a'), undefined);
  t.equal(cache.size, 0, 'the expired entry is gone, not just hidden');
});

t.test('a time to live of zero or less remembers nothing', async (t) => {
  const cache = new TtlCache<string>(10, () => 0);
  cache.set('a', 'one', 0);
  cache.set('b', 'two', -5);
  t.equal(cache.size, 0);
});

t.test('past the bound the least recently written entry goes first', async (t) => {
  const cache = new TtlCache<number>(2, () => 0);
  cache.set('a', 1, 100);
  cache.set('b', 2, 100);
  cache.set('a', 3, 100); // rewritten: now the newest
  cache.set('c', 4, 100);
  t.equal(cache.size, 2);
  t.equal(cache.get('b'), undefined, 'b was the least recently written');
  t.equal(cache.get('a'), 3);
  t.equal(cache.get('c'), 4);
});

t.test('delete and clear forget', async (t) => {
  const cache = new TtlCache<number>(5, () => 0);
  cache.set('a', 1, 100);
  cache.set('b', 2, 100);
  cache.delete('a');
  t.equal(cache.get('a'), undefined);
  t.equal(cache.size, 1);
  cache.clear();
  t.equal(cache.size, 0);
});
