// Every template parses as YAML once its template actions are set aside (see chart.ts for what that means and
// does not mean), every `.Values` path exists in values.yaml, and every included helper is defined.
import t from 'tap';
import {
  isRecord,
  loadCiValues,
  loadDefaultValues,
  lookupPath,
  manifestTemplates,
  readTemplate,
  skeleton,
  valuesPaths,
} from './chart.ts';

const defaults = loadDefaultValues();
const templates = manifestTemplates();
const allTexts = [...templates, '_helpers.tpl', 'NOTES.txt'].map((file) => ({ file, text: readTemplate(file) }));

t.test('the chart has the expected templates', async (t) => {
  t.same(templates, [
    'certificate.yaml',
    'clusterrole.yaml',
    'deployment.yaml',
    'mutatingwebhookconfiguration.yaml',
    'networkpolicy.yaml',
    'poddisruptionbudget.yaml',
    'prometheusrule.yaml',
    'service.yaml',
    'serviceaccount.yaml',
    'servicemonitor.yaml',
  ]);
});

t.test('every template parses as YAML once its actions are set aside', async (t) => {
  const variants: Array<[string, Parameters<typeof skeleton>[1]]> = [
    ['no values', {}],
    ['values.yaml', { values: defaults }],
    ...loadCiValues().map((c): [string, Parameters<typeof skeleton>[1]] => [`ci/${c.file}`, { values: c.values }]),
  ];
  for (const file of templates) {
    const text = readTemplate(file);
    t.notMatch(text, /\t/, `${file}: no tabs`);
    for (const [name, options] of variants) {
      const s = skeleton(text, options);
      t.same(s.errors, [], `${file} with ${name}`);
      t.ok(s.docs.length > 0, `${file} with ${name}: at least one manifest`);
      for (const doc of s.docs) {
        t.ok(isRecord(doc) && typeof doc['apiVersion'] === 'string' && typeof doc['kind'] === 'string', `${file}: apiVersion and kind`);
        t.ok(isRecord(doc) && isRecord(doc['metadata']) && doc['metadata']['name'] !== undefined, `${file}: metadata.name`);
      }
    }
  }
});

t.test('the skeleton reader itself catches broken YAML and duplicate keys', async (t) => {
  // If these stopped failing, the test above would prove nothing.
  t.not(skeleton('a: 1\na: 2\n').errors, [], 'duplicate key');
  t.not(skeleton('a:\n  b: 1\n c: 2\n').errors, [], 'bad indentation');
  t.not(skeleton('{{- if .X }}\nkey: one\n{{- else }}\nkey: two\n{{- end }}\n').errors, [], 'a key set in both branches');
  t.same(skeleton('{{- if .X }}\nkey: {{ .Values.a }}\n{{- end }}\n', { values: { a: 5 } }).docs, [{ key: 5 }]);
  t.same(skeleton('key: {{ .Values.a | quote }}\n', { values: { a: 5 } }).docs, [{ key: '5' }]);
  t.same(skeleton('key: {{ join "," .Values.a | quote }}\n', { values: { a: ['x', 'y'] } }).docs, [{ key: 'x,y' }]);
  t.same(skeleton('key: {{ .Values.a | upper }}\n', { values: { a: 'x' } }).docs, [{ key: '__TPL_0__' }], 'anything else stays a placeholder');
});

t.test('every .Values path used in a template exists in values.yaml', async (t) => {
  let count = 0;
  for (const { file, text } of allTexts) {
    for (const path of valuesPaths(text)) {
      count += 1;
      t.ok(lookupPath(defaults, path).found, `${file}: .Values.${path.join('.')}`);
    }
  }
  t.ok(count > 40, `checked ${count} paths`);
  // And the check can fail:
  t.notOk(lookupPath(defaults, ['webhook', 'timeoutSecond']).found);
});

t.test('every included helper is defined, and helper actions are balanced', async (t) => {
  const helpers = readTemplate('_helpers.tpl');
  const defined = new Set([...helpers.matchAll(/define "([^"]+)"/g)].map((m) => m[1]));
  for (const { file, text } of allTexts) {
    for (const m of text.matchAll(/(?:include|template) "([^"]+)"/g)) t.ok(defined.has(m[1]), `${file}: ${m[1]} is defined`);
    t.equal((text.match(/\{\{/g) ?? []).length, (text.match(/\}\}/g) ?? []).length, `${file}: {{ and }} balanced`);
    const opens = (text.match(/\{\{-?\s*(if|with|range|define)\b/g) ?? []).length;
    const ends = (text.match(/\{\{-?\s*end\b/g) ?? []).length;
    t.equal(opens, ends, `${file}: every if/with/range/define has its end`);
  }
});

t.test('every `nindent N` block lines up with its parent key or its siblings', async (t) => {
  // A standalone `{{- … | nindent N }}` emits lines at indent N. The nearest earlier content line indented N or less
  // must be its parent key (`key:` at N-2) or a sibling at N; anything else renders misplaced YAML.
  let checked = 0;
  for (const file of templates) {
    const lines = readTemplate(file).split('\n');
    lines.forEach((line, i) => {
      const m = /^\s*\{\{-?.*\|\s*nindent (\d+)\s*-?\}\}\s*$/.exec(line);
      if (!m) return;
      const n = Number(m[1]);
      checked += 1;
      for (let j = i - 1; j >= 0; j -= 1) {
        const prev = lines[j]!;
        const trimmed = prev.trim();
        if (trimmed === '' || trimmed.startsWith('#') || /^\{\{.*\}\}$/.test(trimmed)) continue;
        const indent = prev.length - prev.trimStart().length;
        if (indent > n) continue;
        const parent = indent === n - 2 && /:\s*$/.test(trimmed);
        t.ok(parent || indent === n, `${file}:${i + 1} nindent ${n} under "${trimmed}" (indent ${indent})`);
        return;
      }
      t.fail(`${file}:${i + 1}: no parent line`);
    });
  }
  t.ok(checked > 20, `${checked} nindent blocks checked`);
});
