// Rendering: YAML documents, one JSON v1 List, or unified diffs. Deterministic for the same input.
import { createTwoFilesPatch, FILE_HEADERS_ONLY } from 'diff';
import { Document } from 'yaml';
import type { SecretProviderClass } from '../engine/types.ts';
import type { OutputFormat } from './args.ts';
import type { InjectResult } from './inject.ts';

// lineWidth 0: never fold long strings (DATABASE_URL) across lines, so values stay greppable.
const YAML_OPTIONS = { lineWidth: 0, flowCollectionPadding: false } as const;

function yamlText(doc: Document, indentSeq = true): string {
  const copy = doc.clone();
  if (copy.directives) copy.directives.docStart = null; // we write the separators ourselves
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
    const items = [
      ...result.documents.map((d) => d.after.toJS()),
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
