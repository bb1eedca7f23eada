// Rendering: YAML documents, one JSON v1 List, or unified diffs. Deterministic for the same input.
import { createTwoFilesPatch, FILE_HEADERS_ONLY } from 'diff';
import { Document, Schema } from 'yaml';
import type { SecretProviderClass } from '../engine/types.ts';
import type { OutputFormat } from './args.ts';
import type { InjectResult } from './inject.ts';
import { isList, type Json } from './workloads.ts';

// lineWidth 0: never fold long strings (DATABASE_URL) across lines, so values stay greppable.
// directives: false: we write the `---` separators ourselves (see yamlText for %YAML).
const YAML_OPTIONS = { lineWidth: 0, flowCollectionPadding: false, directives: false } as const;

// kubectl and Helm read YAML 1.1 (on, no, y, 1_000 are not strings there), other YAML 1.1 readers also take 1:20 and
// 2001-12-14 as a number and a date, and YAML 1.2 readers take 0o17 as a number: a string is quoted whenever any of
// them would read it as something else.
const ANY_READER_TAGS = [...(new Schema({ compat: 'yaml-1.1' }).compat ?? []), ...(new Schema({ compat: 'core' }).compat ?? [])];

function yamlText(doc: Document, indentSeq = true): string {
  const copy = doc.clone();
  // Input is read as YAML 1.1 (manifests.ts), so the user's own scalars are written back as they were (`0644`,
  // `yes`): what kubectl read from them does not change. A `%YAML` directive is dropped: kubectl splits streams at
  // `---` lines, so it would land in the document before.
  copy.schema.compat = ANY_READER_TAGS;
  return copy.toString({ ...YAML_OPTIONS, indentSeq });
}

function jsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function docText(doc: Document, format: OutputFormat, indentSeq: boolean): string {
  return format === 'yaml' ? yamlText(doc, indentSeq) : jsonText(doc.toJS());
}

function spcText(spc: SecretProviderClass, format: OutputFormat): string {
  return format === 'yaml' ? yamlText(new Document(spc)) : jsonText(spc);
}

/** The manifests, then the SecretProviderClasses. YAML: `---`-separated documents. JSON: one `v1 List`. */
export function renderManifests(result: InjectResult, format: OutputFormat): string {
  if (format === 'json') {
    // A List's items join ours: a List inside a List would grow with each run instead of being a fixed point.
    const flat = (value: Json): Json[] => (isList(value) && value.kind === 'List' ? value.items.flatMap(flat) : [value]);
    const items = [
      ...result.documents.flatMap((d) => flat(d.after.toJS() as Json)),
      ...result.secretProviderClasses,
    ];
    return jsonText({ apiVersion: 'v1', kind: 'List', items });
  }
  const texts = [
    ...result.documents.map((d) => yamlText(d.after, d.indentSeq)),
    ...result.secretProviderClasses.map((spc) => spcText(spc, 'yaml')),
  ];
  return texts.map((t) => `---\n${t}`).join('');
}

// Plain `---`/`+++` headers like git and kubectl diff, no `Index:` banner.
const DIFF_OPTIONS = { context: 3, headerOptions: FILE_HEADERS_ONLY } as const;

/** A unified diff per changed document, then one per SecretProviderClass (new objects, diffed against nothing). */
export function renderDiff(result: InjectResult, format: OutputFormat): string {
  const parts: string[] = [];
  for (const d of result.documents) {
    if (!d.changed) continue;
    const name = `${d.file} (document ${d.index}, ${d.title})`;
    parts.push(createTwoFilesPatch(name, name, docText(d.before, format, d.indentSeq), docText(d.after, format, d.indentSeq), undefined, undefined, DIFF_OPTIONS));
  }
  for (const spc of result.secretProviderClasses) {
    const name = `SecretProviderClass/${spc.metadata.name} (namespace ${spc.metadata.namespace})`;
    parts.push(createTwoFilesPatch('/dev/null', name, '', spcText(spc, format), undefined, undefined, DIFF_OPTIONS));
  }
  return parts.join('');
}
