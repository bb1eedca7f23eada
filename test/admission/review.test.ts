import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import jsonpatch from 'fast-json-patch';
import { allowResponse, denyResponse, parseAdmissionReview, patchResponse, serializeReview } from '../../src/admission/index.ts';
import { patchText } from '../../src/admission/respond.ts';
import { deepFreeze } from '../../src/engine/shared.ts';
import type { PatchOperation } from '../../src/engine/types.ts';

const fixtureDir = new URL('../fixtures/admission/', import.meta.url);

t.test('every v1 fixture parses and keeps its uid', async (t) => {
  const files = readdirSync(fixtureDir).filter((f) => f.endsWith('.review.json'));
  t.ok(files.length >= 8);
  for (const file of files) {
    const body = JSON.parse(readFileSync(new URL(file, fixtureDir), 'utf8'));
    const parsed = parseAdmissionReview(body);
    if (body.apiVersion === 'admission.k8s.io/v1') {
      t.ok(parsed.ok, `${file} parses`);
      if (parsed.ok) t.equal(parsed.request.uid, body.request.uid);
    } else {
      t.notOk(parsed.ok, `${file} (${body.apiVersion}) is refused`);
      if (!parsed.ok) t.match(parsed.message, /apiVersion must be "admission.k8s.io\/v1"/);
    }
  }
});

t.test('a broken envelope gets a specific message', async (t) => {
  const base = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' };
  const cases: Array<[unknown, RegExp]> = [
    [null, /must be a JSON object.*got null/],
    [[], /must be a JSON object.*got an array/],
    ['x', /must be a JSON object.*got "x"/],
    [42, /got number 42/],
    [{ ...base, apiVersion: 'admission.k8s.io/v1beta1', request: { uid: 'a' } }, /apiVersion must be .*got "admission.k8s.io\/v1beta1"/],
    [{ kind: 'AdmissionReview', request: { uid: 'a' } }, /apiVersion must be .*got nothing/],
    [{ ...base, kind: 'Pod', request: { uid: 'a' } }, /kind must be "AdmissionReview"; got "Pod"/],
    [{ ...base }, /has no request/],
    [{ ...base, request: null }, /has no request/],
    [{ ...base, request: [] }, /request must be an object; got an array/],
    [{ ...base, request: 'x' }, /request must be an object/],
    [{ ...base, request: {} }, /request.uid is missing/],
    [{ ...base, request: { uid: 7 } }, /request.uid must be a string; got number 7/],
    [{ ...base, request: { uid: {} } }, /request.uid must be a string; got a value of type object/],
    [{ ...base, request: { uid: '' } }, /request.uid must be 1 to 128 characters; got 0/],
    [{ ...base, request: { uid: 'u'.repeat(10_000) } }, /got 10000/],
  ];
  for (const [body, message] of cases) {
    const parsed = parseAdmissionReview(body);
    t.notOk(parsed.ok, JSON.stringify(body)?.slice(0, 60));
    if (!parsed.ok) {
      t.match(parsed.message, message);
      t.ok(parsed.message.length < 200, 'message stays short');
    }
  }
});

t.test('__proto__ keys do not confuse parsing', async (t) => {
  const body = JSON.parse('{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","__proto__":{"request":{"uid":"x"}}}');
  const parsed = parseAdmissionReview(body);
  t.notOk(parsed.ok);
});

t.test('allow: no patch fields, uid echoed', async (t) => {
  t.same(allowResponse('u1'), {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: { uid: 'u1', allowed: true },
  });
  t.same(allowResponse('u1', ['careful']).response.warnings, ['careful']);
});

t.test('patch: JSONPatch base64 of the ops that applies to the object', async (t) => {
  const ops = [
    { op: 'add' as const, path: '/metadata/labels', value: { a: 'b' } },
    { op: 'add' as const, path: '/spec/volumes/-', value: { name: 'v' } },
  ];
  const r = patchResponse('u2', ops, ['w']);
  t.equal(r.apiVersion, 'admission.k8s.io/v1');
  t.equal(r.kind, 'AdmissionReview');
  t.equal(r.response.uid, 'u2');
  t.equal(r.response.allowed, true);
  t.equal(r.response.patchType, 'JSONPatch');
  t.same(r.response.warnings, ['w']);
  const decoded = JSON.parse(Buffer.from(r.response.patch ?? '', 'base64').toString('utf8'));
  t.same(decoded, ops);
  const pod = { metadata: {}, spec: { volumes: [{ name: 'x' }] } };
  const patched = jsonpatch.applyPatch(pod, decoded, true, false).newDocument;
  t.same(patched, { metadata: { labels: { a: 'b' } }, spec: { volumes: [{ name: 'x' }, { name: 'v' }] } });
});

t.test('an empty patch is a plain allow', async (t) => {
  const r = patchResponse('u3', []);
  t.same(r.response, { uid: 'u3', allowed: true });
});

t.test('deny: allowed false with status code and message', async (t) => {
  const r = denyResponse('u4', 403, 'no way', ['also this']);
  t.same(r, {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: { uid: 'u4', allowed: false, status: { code: 403, message: 'no way' }, warnings: ['also this'] },
  });
});

t.test('warnings are cleaned: no empties, no duplicates, no control characters, bounded', async (t) => {
  const r = allowResponse('u5', ['', 'a\nb', 'a\nb', 'x'.repeat(500)]);
  const w = r.response.warnings ?? [];
  t.equal(w.length, 2);
  t.equal(w[0], 'a b');
  t.equal(w[1]?.length, 256);
  t.ok(w[1]?.endsWith('…'), 'the cut is visible');
});

t.test('serializeReview: the same JSON as JSON.stringify, for every kind of answer and hostile text', async (t) => {
  const hostile = ['plain', 'quote " backslash \\ slash /', 'line\u2028sep\u2029', 'nul \u0000 del \u007f', 'emoji 🦄 \ud800 lone', '</script>'];
  const ops = [{ op: 'add' as const, path: '/metadata/labels', value: { 'a"b': 'c\\d\n' } }];
  for (const text of hostile) {
    const answers = [
      allowResponse(text),
      allowResponse(text, [text, `${text} 2`]),
      patchResponse(text, ops),
      patchResponse(text, ops, [text]),
      denyResponse(text, 403, text, [text]),
      denyResponse(text, 500, text),
    ];
    for (const answer of answers) {
      const serialized = serializeReview(answer);
      t.equal(serialized, JSON.stringify(answer), `byte for byte: ${visible(text)}`);
      t.same(JSON.parse(serialized), answer);
    }
  }
});

t.test('patchText: the text JSON.stringify gives, with shared values, hostile text and every kind of operation', async (t) => {
  const hostile = ['plain', 'quote " backslash \\ slash /', 'line\u2028sep\u2029', 'nul \u0000 del \u007f', 'emoji 🦄 \ud800 lone'];
  for (const text of hostile) {
    const shared = deepFreeze({ name: text, valueFrom: { secretKeyRef: { name: text, key: 'k' } } });
    const ops: PatchOperation[] = [
      { op: 'remove', path: `/spec/containers/0/env/${text.length}` },
      { op: 'add', path: '/spec/containers/0/env/0', value: shared },
      { op: 'add', path: '/spec/containers/1/env', value: [shared, { name: text }] },
      { op: 'replace', path: '/metadata/annotations/db-access~1status', value: text },
      { op: 'add', path: `/metadata/labels/${text}`, value: 42 },
      { op: 'test', path: '/spec/x', value: null },
    ];
    t.equal(patchText(ops), JSON.stringify(ops), `byte for byte, twice (the second from kept text): ${visible(text)}`);
    t.equal(patchText(ops), JSON.stringify(ops));
  }
});

t.test('patchText keeps text only for deeply frozen values: a value changed between two answers is read again', async (t) => {
  const value = { name: 'A', value: '1' };
  const ops: PatchOperation[] = [{ op: 'add', path: '/spec/containers/0/env/0', value }];
  t.equal(patchText(ops), JSON.stringify(ops));
  value.value = '2';
  t.equal(patchText(ops), JSON.stringify(ops), 'not the first text');
  const shallow = Object.freeze({ name: 'B', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } });
  const shallowOps: PatchOperation[] = [{ op: 'add', path: '/spec/containers/0/env/0', value: shallow }];
  t.equal(patchText(shallowOps), JSON.stringify(shallowOps));
  shallow.valueFrom.secretKeyRef.key = 'other';
  t.equal(patchText(shallowOps), JSON.stringify(shallowOps), 'a shallow freeze is not trusted');
});

t.test('serializeReview: a patch it did not encode itself is escaped, not trusted', async (t) => {
  const forged = {
    apiVersion: 'admission.k8s.io/v1' as const,
    kind: 'AdmissionReview' as const,
    response: { uid: 'u', allowed: true, patchType: 'JSONPatch' as const, patch: 'abc","allowed":false,"x":"' },
  };
  const serialized = serializeReview(forged);
  t.same(JSON.parse(serialized), forged);
  t.equal(JSON.parse(serialized).response.allowed, true);
});

t.test('warnings and denial messages never carry terminal controls or bidi characters (SECURITY.md finding 7)', async (t) => {
  const hostile = ['\u009b31mred', 'abc\u202etxt.exe', 'a\u2066b\u2069c', 'x\u2028y', 'a\u200fb', 'nul\u0000x', 'del\u007fx'];
  const unsafe = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]/u;
  for (const h of hostile) {
    const r = denyResponse('u', 403, `container "${h}" is bad`, [`warning about ${h}`]);
    t.notMatch(r.response.status?.message ?? '', unsafe, visible(h));
    t.notMatch(r.response.warnings?.[0] ?? '', unsafe, visible(h));
  }
  t.equal(denyResponse('u', 403, 'abc\u202etxt.exe').response.status?.message, 'abc\\u202etxt.exe', 'shown, not silently dropped');
  t.equal(allowResponse('u', ['\u009b31m']).response.warnings?.[0], '\\u009b31m');
  t.equal(denyResponse('u', 403, 'plain "quoted" text').response.status?.message, 'plain "quoted" text', 'ordinary text unchanged');
});

/** Test names in TAP output must not carry raw separators or controls. */
function visible(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

t.test('a 400 for a bad envelope never carries bidi or C1 characters from the request', async (t) => {
  const unsafe = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]/u;
  for (const bad of ['abc\u202edef', 'x\u009b31m', 'a\u2066b']) {
    const apiVersion = parseAdmissionReview({ apiVersion: bad, kind: 'AdmissionReview', request: { uid: 'u' } });
    const kind = parseAdmissionReview({ apiVersion: 'admission.k8s.io/v1', kind: bad, request: { uid: 'u' } });
    for (const r of [apiVersion, kind]) {
      t.equal(r.ok, false);
      if (!r.ok) {
        t.notMatch(r.message, unsafe, JSON.stringify(r.message));
        t.match(r.message, /\\u(202e|009b|2066)/, 'shown escaped, not dropped');
      }
    }
  }
});
