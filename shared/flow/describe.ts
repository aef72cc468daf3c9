/**
 * The text of `reef describe <type>` and `reef describe`: what a slice type is
 * for, what it can do, every field of its YAML file, and an example to copy.
 * Printed from the same JSON Schema the loader validates with, so the two
 * cannot disagree.
 */
import { stringify } from 'yaml';
import { TerminalError } from '../errors.ts';
import type { SliceDefinition, SliceKind } from '../slice.ts';
import { findSliceType, sliceTypes } from '../../slices/registry.ts';

type SchemaObject = Record<string, unknown>;

function asSchema(v: unknown): SchemaObject | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as SchemaObject) : undefined;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function rangeText(min: unknown, max: unknown, unit: string): string {
  const lo = typeof min === 'number' ? min : undefined;
  const hi = typeof max === 'number' ? max : undefined;
  if (lo !== undefined && hi !== undefined) return `${lo} to ${plural(hi, unit)}`;
  if (lo !== undefined) return `at least ${plural(lo, unit)}`;
  if (hi !== undefined) return `at most ${plural(hi, unit)}`;
  return '';
}

function andList(words: readonly string[]): string {
  return words.length <= 1 ? words.join('') : `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

function typeWord(type: unknown): string {
  switch (type) {
    case 'string':
      return 'text';
    case 'integer':
      return 'a whole number';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'true or false';
    case 'array':
      return 'a list';
    case 'object':
      return 'a mapping';
    case 'null':
      return 'an empty value';
    default:
      return String(type);
  }
}

/**
 * What a schema accepts, in a phrase that completes "expected ...":
 * `one of snapshot, incremental`, `a whole number from 1 to 64`,
 * `text matching ^vpc-[0-9a-f]+$`.
 */
export function expectedText(schema: SchemaObject): string {
  if ('const' in schema) return JSON.stringify(schema.const);
  if (Array.isArray(schema.enum)) return `one of ${schema.enum.map(String).join(', ')}`;
  const forms = Array.isArray(schema.oneOf) ? schema.oneOf : Array.isArray(schema.anyOf) ? schema.anyOf : undefined;
  if (forms !== undefined) {
    return forms.map((f) => expectedText(asSchema(f) ?? {})).join(', or ');
  }
  const type = schema.type;
  if (Array.isArray(type)) return type.map(typeWord).join(' or ');
  switch (type) {
    case 'string': {
      const parts = ['text'];
      const length = rangeText(schema.minLength, schema.maxLength, 'character');
      if (length !== '') parts.push(length);
      if (typeof schema.pattern === 'string') parts.push(`matching ${schema.pattern}`);
      return parts.join(', ');
    }
    case 'integer':
    case 'number': {
      const lo = schema.minimum;
      const hi = schema.maximum;
      const word = typeWord(type);
      if (typeof lo === 'number' && typeof hi === 'number') return `${word} from ${lo} to ${hi}`;
      if (typeof lo === 'number') return `${word} of at least ${lo}`;
      if (typeof hi === 'number') return `${word} of at most ${hi}`;
      return word;
    }
    case 'array': {
      const count = rangeText(schema.minItems, schema.maxItems, 'item');
      return count === '' ? 'a list' : `a list of ${count}`;
    }
    case 'object': {
      const required = Array.isArray(schema.required) ? schema.required.map(String) : [];
      return required.length === 0 ? 'a mapping' : `a mapping with ${andList(required)}`;
    }
    case undefined:
      return 'a value';
    default:
      return typeWord(type);
  }
}

interface Row {
  indent: number;
  field: string;
  presence: string;
  expected: string;
  description?: string;
}

/** `required when mode is "incremental"` for fields a `then` requires. */
function conditionalRequirements(schema: SchemaObject): Map<string, string> {
  const out = new Map<string, string>();
  const ifProps = asSchema(asSchema(schema.if)?.properties);
  const thenRequired = asSchema(schema.then)?.required;
  if (ifProps === undefined || !Array.isArray(thenRequired)) return out;
  const conditions = Object.entries(ifProps)
    .filter(([, v]) => asSchema(v) !== undefined && 'const' in (v as SchemaObject))
    .map(([k, v]) => `${k} is ${JSON.stringify((v as SchemaObject).const)}`);
  if (conditions.length === 0) return out;
  for (const f of thenRequired) out.set(String(f), `required when ${conditions.join(' and ')}`);
  return out;
}

function fieldRows(schema: SchemaObject, path: string, presence: string, indent: number, rows: Row[]): void {
  const description = typeof schema.description === 'string' ? schema.description : undefined;
  const def = 'default' in schema ? ` (default ${JSON.stringify(schema.default)})` : '';
  const forms = Array.isArray(schema.oneOf) ? schema.oneOf : undefined;
  if (path !== '') {
    const expected = forms === undefined ? expectedText(schema) : `one of ${forms.length} forms:`;
    rows.push({ indent, field: path, presence, expected: expected + def, description });
  }
  if (forms !== undefined) {
    forms.forEach((f, i) => {
      const form = asSchema(f) ?? {};
      rows.push({ indent: indent + 1, field: `form ${i + 1}: ${expectedText(form)}`, presence: '', expected: '' });
      walkChildren(form, path, indent + 1, rows);
    });
    return;
  }
  walkChildren(schema, path, indent, rows);
}

function walkChildren(schema: SchemaObject, path: string, indent: number, rows: Row[]): void {
  const props = asSchema(schema.properties);
  if (props !== undefined) {
    const required = new Set(Array.isArray(schema.required) ? schema.required.map(String) : []);
    const conditional = conditionalRequirements(schema);
    for (const [name, sub] of Object.entries(props)) {
      const field = path === '' ? name : `${path}.${name}`;
      const condition = conditional.get(name);
      if (required.has(name) || condition === undefined) {
        fieldRows(asSchema(sub) ?? {}, field, required.has(name) ? 'required' : 'optional', indent, rows);
      } else {
        // The condition is too long for the presence column; it goes first in the description.
        const s = asSchema(sub) ?? {};
        const description = typeof s.description === 'string' ? `${condition}; ${s.description}` : condition;
        fieldRows({ ...s, description }, field, 'depends', indent, rows);
      }
    }
  }
  const items = asSchema(schema.items);
  if (items !== undefined) {
    const itemPath = `${path}[]`;
    if (items.type === 'object' && !Array.isArray(items.oneOf)) {
      walkChildren(items, itemPath, indent, rows);
    } else {
      fieldRows(items, itemPath, 'each', indent, rows);
    }
  }
}

function table(rows: Row[]): string[] {
  // Form headings stand on their own line, so they do not widen the columns.
  const columns = rows.filter((r) => r.presence !== '' || r.expected !== '');
  const fieldWidth = Math.max(0, ...columns.map((r) => r.indent * 2 + r.field.length));
  const presenceWidth = Math.max(0, ...columns.map((r) => r.presence.length));
  const lines: string[] = [];
  for (const r of rows) {
    const field = ' '.repeat(r.indent * 2) + r.field;
    if (r.presence === '' && r.expected === '') {
      lines.push(`  ${field}`);
      continue;
    }
    const head = `  ${field.padEnd(fieldWidth)}  ${r.presence.padEnd(presenceWidth)}  `;
    lines.push(`${head}${r.expected}`.trimEnd());
    if (r.description !== undefined) lines.push(`${' '.repeat(head.length)}${r.description}`);
  }
  return lines;
}

/** The field table of any JSON Schema, one row per field. */
export function describeSchemaFields(schema: SchemaObject): string[] {
  const rows: Row[] = [];
  walkChildren(schema, '', 0, rows);
  return rows.length === 0 ? ['  (no fields)'] : table(rows);
}

/** Where a slice of each kind lives in a flow project. */
const FILE_OF_KIND: Record<SliceKind, string | undefined> = {
  collect: 'sources/<slice>.yaml',
  harness: 'publications/<slice>.yaml',
  // Organize slices come from reef.yaml's warehouse settings, not a file of their own.
  organize: undefined,
};

function capabilityLines(def: SliceDefinition<unknown>): string[] {
  const c = def.capabilities;
  const rows: [string, string][] = [
    ['modes', c.modes.join(', ')],
    ['sees deletes at the source', c.deletes ? 'yes' : 'no'],
    ['default max connections', String(c.defaultMaxConnections)],
    ['VPC placement', c.vpc ? 'supported' : 'not needed'],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`);
}

function unknownType(type: string): TerminalError {
  return new TerminalError(
    'config',
    `reef describe: found slice type ${JSON.stringify(type)}, expected one of ${sliceTypes.map((d) => d.type).join(', ')}`,
    { code: 'config.unknown_type' },
  );
}

/** The text of `reef describe <type>`, without a final newline (the caller prints one). */
export function describeSliceType(type: string): string {
  const def = findSliceType(type);
  if (def === undefined) throw unknownType(type);
  const file = FILE_OF_KIND[def.kind];
  const lines = [
    `${def.type}: ${def.summary}`,
    '',
    `Kind: ${def.kind}${file !== undefined ? `, one file per slice: ${file}` : def.kind === 'organize' ? ', set by the warehouse section of reef.yaml' : ''}`,
    '',
    'Capabilities:',
    ...capabilityLines(def),
    '',
    'Fields:',
    ...describeSchemaFields(def.configSchema),
    '',
    `Example${file !== undefined ? ` (${file})` : def.kind === 'organize' ? ' (under warehouse: in reef.yaml)' : ''}:`,
    ...stringify(def.example)
      .trimEnd()
      .split('\n')
      .map((l) => `  ${l}`),
  ];
  return lines.join('\n');
}

export function listSliceTypes(): string {
  const width = Math.max(...sliceTypes.map((d) => d.type.length));
  const lines = ['Slice types (reef describe <type> prints its fields and an example):'];
  for (const d of [...sliceTypes].sort((a, b) => (a.type < b.type ? -1 : 1))) {
    lines.push(`  ${d.type.padEnd(width)}  ${d.summary}`);
  }
  return lines.join('\n');
}
