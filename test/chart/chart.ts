// Reading the Helm chart without a helm binary: values files, the schema, and a YAML "skeleton" of each template.
//
// The skeleton is NOT a renderer. It shows what can be checked without Go templates, and no more:
// - `{{ … }}` actions that stand alone on their lines (control flow, `include … | nindent`, `toYaml`) are dropped
//   with their lines. What they would emit is not checked here.
// - Every other action becomes a placeholder scalar `__TPL_<n>__`; `actions[n]` holds its source, so tests can
//   assert WHICH expression fills a field (e.g. the Service name). With `values`, an action that is exactly
//   `.Values.a.b` (optionally `| quote`) on a scalar, or `join "," .Values.a.b | quote` on a list, is replaced by
//   its value, printed the way Go templates print it. Nothing else is evaluated.
// - Both branches of every if/else are kept and every range body appears once. The chart is written so that this
//   still gives valid YAML (no key set in two branches); duplicate keys are a parse error here, on purpose.
// - _helpers.tpl is text, not YAML, and is only searched, never parsed.
// controlStackAt() tells which `if`/`with`/`range` blocks enclose a line, for "X only appears under condition Y".
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const chartDir = join(repoRoot, 'charts', 'db-access-webhook');
export const templatesDir = join(chartDir, 'templates');

export type Values = Record<string, unknown>;

// The chart's whole RBAC grant, written out (rbac.test.ts reads the template, helm-render.test.ts the rendered
// ClusterRole). Any change to the chart's RBAC must change this list too.
export const EXPECTED_RULES = [
  {
    apiGroups: ['secrets-store.csi.x-k8s.io'],
    resources: ['secretproviderclasses'],
    verbs: ['get', 'create', 'update'],
  },
];

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses values the way helm does: YAML 1.1, so a bare `off`/`yes` is a boolean, not a string. */
export function parseValues(text: string): Values {
  const parsed: unknown = parse(text, { version: '1.1', uniqueKeys: true });
  if (parsed === null || parsed === undefined) return {};
  if (!isRecord(parsed)) throw new Error('values must be a YAML mapping');
  return parsed;
}

export function readChartFile(...parts: string[]): string {
  return readFileSync(join(chartDir, ...parts), 'utf8');
}

export function loadDefaultValues(): Values {
  return parseValues(readChartFile('values.yaml'));
}

export function loadSchema(): Record<string, unknown> {
  return JSON.parse(readChartFile('values.schema.json')) as Record<string, unknown>;
}

/** helm's coalescing of user values over defaults: maps merge key by key, anything else replaces, null deletes. */
export function mergeValues(base: Values, override: Values): Values {
  const out: Values = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value === null) {
      delete out[key];
    } else if (isRecord(value) && isRecord(out[key])) {
      out[key] = mergeValues(out[key] as Values, value);
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** The chart's ci/*.yaml example files, each merged over values.yaml like `helm install -f`. */
export function loadCiValues(): Array<{ file: string; overrides: Values; values: Values }> {
  const defaults = loadDefaultValues();
  return readdirSync(join(chartDir, 'ci'))
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((file) => {
      const overrides = parseValues(readChartFile('ci', file));
      return { file, overrides, values: mergeValues(defaults, overrides) };
    });
}

/** Template files that render to manifests (not helpers, not NOTES.txt). */
export function manifestTemplates(): string[] {
  return readdirSync(templatesDir)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
}

export function readTemplate(file: string): string {
  return readFileSync(join(templatesDir, file), 'utf8');
}

/** Looks up `a.b.c` in values; `found` is false when a key on the way is missing. */
export function lookupPath(values: unknown, path: readonly string[]): { found: boolean; value: unknown } {
  let cur: unknown = values;
  for (const key of path) {
    if (!isRecord(cur) || !Object.hasOwn(cur, key)) return { found: false, value: undefined };
    cur = cur[key];
  }
  return { found: true, value: cur };
}

/** Every `.Values.a.b` path in a template text (as arrays of keys), sorted and unique. */
export function valuesPaths(text: string): string[][] {
  const seen = new Set<string>();
  for (const m of text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) seen.add(m[1]!.slice(1));
  return [...seen].sort().map((p) => p.split('.'));
}

const ACTION = /\{\{[\s\S]*?\}\}/g;
const PLACEHOLDER = /__TPL_(\d+)__/;

export interface Skeleton {
  /** One entry per YAML document that has content. */
  readonly docs: unknown[];
  /** YAML parse errors (duplicate keys included), with the skeleton line they refer to when known. */
  readonly errors: string[];
  /** Source of the action behind each `__TPL_<n>__` placeholder. */
  readonly actions: readonly string[];
  /** The YAML text that was parsed, for error messages. */
  readonly text: string;
}

/** The action source (`{{ … }}` with delimiters) behind a placeholder scalar, or undefined if it is literal. */
export function actionOf(skeleton: Skeleton, value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const m = PLACEHOLDER.exec(value);
  return m ? skeleton.actions[Number(m[1])] : undefined;
}

/** `{{- include "x" . | nindent 4 }}` → `include "x" . | nindent 4`. */
export function actionBody(action: string): string {
  return action
    .replace(/^\{\{-?\s*/, '')
    .replace(/\s*-?\}\}$/, '')
    .trim();
}

function resolveValue(body: string, values: Values | undefined): string | undefined {
  if (!values) return undefined;
  // `join "," .Values.a.b | quote` on a list of scalars, the one list-to-string form the chart uses.
  const join = /^join "([^"]*)" \.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+) \| quote$/.exec(body);
  if (join) {
    const { found, value } = lookupPath(values, join[2]!.slice(1).split('.'));
    if (!found || !Array.isArray(value) || value.some((x) => typeof x === 'object')) return undefined;
    return JSON.stringify(value.map(String).join(join[1]!));
  }
  const m = /^\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)(\s*\|\s*quote)?$/.exec(body);
  if (!m) return undefined;
  const { found, value } = lookupPath(values, m[1]!.slice(1).split('.'));
  if (!found || value === null || typeof value === 'object') return undefined;
  const printed = String(value); // Go's text/template prints scalars bare
  return m[2] ? JSON.stringify(printed) : printed;
}

/** See the file comment for what this does and does not check. */
export function skeleton(source: string, options: { values?: Values } = {}): Skeleton {
  const actions: string[] = [];
  const SENTINEL = '\u0000';
  // Comments and multi-line actions become one sentinel each, so lines keep their shape.
  const marked = source.replace(ACTION, (action) => {
    actions.push(action);
    return `${SENTINEL}${actions.length - 1}${SENTINEL}`;
  });
  const sentinel = new RegExp(`${SENTINEL}(\\d+)${SENTINEL}`, 'g');
  const lines: string[] = [];
  for (const line of marked.split('\n')) {
    if (line.replace(sentinel, '').trim() === '' && line.includes(SENTINEL)) continue; // action-only line
    lines.push(
      line.replace(sentinel, (_all, n: string) => {
        const body = actionBody(actions[Number(n)]!);
        return resolveValue(body, options.values) ?? `__TPL_${n}__`;
      }),
    );
  }
  const text = lines.join('\n');
  const docs: unknown[] = [];
  const errors: string[] = [];
  // YAML 1.1, as helm and the apiserver's YAML decoder read manifests (0440 is octal, a bare `off` is false).
  for (const doc of parseAllDocuments(text, { version: '1.1', uniqueKeys: true })) {
    for (const e of doc.errors) errors.push(`${e.code}: ${e.message}`);
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined) docs.push(value);
  }
  return { docs, errors, actions, text };
}

/** Manifests of a given kind in a skeleton. */
export function docsOfKind(s: Skeleton, kind: string): Record<string, unknown>[] {
  return s.docs.filter((d): d is Record<string, unknown> => isRecord(d) && d['kind'] === kind);
}

/**
 * The `if`/`with`/`range` conditions (action bodies, innermost last) that enclose the first line containing
 * `needle`. An `else` replaces the top entry with `else of <condition>`, an `else if X` with `else if X`.
 * Throws when `needle` is absent.
 */
export function controlStackAt(source: string, needle: string): string[] {
  const at = source.indexOf(needle);
  if (at < 0) throw new Error(`not in template: ${needle}`);
  const stack: string[] = [];
  for (const m of source.slice(0, at).matchAll(ACTION)) {
    const body = actionBody(m[0]);
    if (body.startsWith('/*')) continue;
    const keyword = /^(if|with|range|define|block|else|end)\b/.exec(body)?.[1];
    if (keyword === 'if' || keyword === 'with' || keyword === 'range' || keyword === 'define' || keyword === 'block') {
      stack.push(body);
    } else if (keyword === 'else') {
      const top = stack.pop();
      stack.push(body.startsWith('else if ') ? body : `else of ${top ?? '?'}`);
    } else if (keyword === 'end') {
      stack.pop();
    }
  }
  return stack;
}

/** A named template's body from _helpers.tpl. */
export function helperBody(name: string): string {
  const text = readTemplate('_helpers.tpl');
  const start = text.indexOf(`{{- define "${name}" -}}`);
  if (start < 0) throw new Error(`helper not defined: ${name}`);
  let depth = 0;
  for (const m of text.slice(start).matchAll(ACTION)) {
    const keyword = /^(if|with|range|define|block|end)\b/.exec(actionBody(m[0]))?.[1];
    if (keyword === 'end') depth -= 1;
    else if (keyword) depth += 1;
    if (depth === 0) return text.slice(start, start + m.index + m[0].length);
  }
  throw new Error(`unterminated define: ${name}`);
}
