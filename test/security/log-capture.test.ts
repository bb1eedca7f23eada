// The leak detector must be able to fail: prove it finds planted values in every encoding it claims to cover.
import t from 'tap';
import { assertNoSecrets, createLogCapture, findSecrets, plantSecrets, plantedSecrets, sentinel } from '../helpers/log-capture.ts';
import { plainPod } from '../helpers/fuzz-arbitraries.ts';

function recorder() {
  const failures: string[] = [];
  return {
    failures,
    ok(value: unknown, message?: string) {
      if (!value) failures.push(message ?? 'ok');
    },
    same(found: unknown, wanted: unknown, message?: string) {
      if (JSON.stringify(found) !== JSON.stringify(wanted)) failures.push(message ?? 'same');
    },
  };
}

t.test('finds a planted value logged raw, JSON-escaped, URL-encoded or inside base64', async (t) => {
  const secret = sentinel('PW');
  const capture = createLogCapture();
  const log = capture.logger('trace');
  log.info({ env: [{ name: 'X', value: secret }] }, 'raw');
  log.debug({ quoted: JSON.stringify({ secret }) }, 'escaped twice');
  log.info({ url: `https://x/?q=${encodeURIComponent(secret + ' /')}` }, 'url');
  for (const pad of ['', 'a', 'ab']) log.trace({ patch: Buffer.from(`${pad}{"value":"${secret}"}`).toString('base64') }, 'b64');
  t.equal(capture.lines.length, 6);
  const hits = findSecrets(capture.lines, [secret]);
  t.equal(hits.length, 6, 'every form is found');

  const r = recorder();
  assertNoSecrets(r, capture.lines, [secret]);
  t.equal(r.failures.length, 1, 'assertNoSecrets fails on a leak');
});

t.test('passes on clean logs and refuses a vacuous (empty) capture', async (t) => {
  const capture = createLogCapture();
  capture.logger().info({ uid: 'u1', namespace: 'tenant-a' }, 'admission');
  const r = recorder();
  assertNoSecrets(r, capture.lines, [sentinel('X')]);
  t.same(r.failures, []);
  const empty = recorder();
  assertNoSecrets(empty, [], [sentinel('X')]);
  t.equal(empty.failures.length, 1, 'no lines captured is a failure');
  t.throws(() => findSecrets(['a'], ['abc']), /too short/);
});

t.test('a careless log.info({ pod }) of a planted pod is caught', async (t) => {
  const s = plantedSecrets();
  const pod = plantSecrets(plainPod(), s);
  const capture = createLogCapture();
  capture.logger().info({ pod }, 'careless');
  const hits = findSecrets(capture.lines, s.all);
  t.same(new Set(hits.map((h) => h.value)), new Set(s.all), 'every sentinel is found in a whole-object log');
});

t.test('the Writable side collects piped output, including a last line without newline', async (t) => {
  const capture = createLogCapture();
  capture.stream.write('{"a":1}\n{"b"');
  capture.stream.write(':2}\nlast');
  await new Promise<void>((resolve) => capture.stream.end(resolve));
  t.same(capture.lines, ['{"a":1}', '{"b":2}', 'last']);
  t.same(capture.records(), [{ a: 1 }, { b: 2 }]);
});
