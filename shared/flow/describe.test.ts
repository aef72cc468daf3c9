import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { TerminalError } from '../errors.ts';
import { sliceTypes } from '../../slices/registry.ts';
import { describeSliceType, expectedText, listSliceTypes } from './describe.ts';

/** Every field path of a schema as describe prints it (`connection.vpc.subnetIds[]`). */
function fieldPaths(schema: Record<string, unknown>, prefix = ''): string[] {
  const out: string[] = [];
  const props = schema.properties as Record<string, Record<string, unknown>> | undefined;
  for (const [name, sub] of Object.entries(props ?? {})) {
    const path = prefix === '' ? name : `${prefix}.${name}`;
    out.push(path, ...fieldPaths(sub, path));
  }
  const items = schema.items as Record<string, unknown> | undefined;
  if (items !== undefined) {
    const forms = (items.oneOf as Record<string, unknown>[] | undefined) ?? [items];
    for (const f of forms) out.push(...fieldPaths(f, `${prefix}[]`));
  }
  return out;
}

/** The YAML printed under "Example", de-indented. */
function exampleBlock(text: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith('Example'));
  assert.ok(start >= 0, 'no Example section');
  return lines
    .slice(start + 1)
    .map((l) => l.replace(/^ {2}/, ''))
    .join('\n');
}

test('describe collect/postgres: summary, capabilities, every field with presence, enums and descriptions', () => {
  const text = describeSliceType('collect/postgres');
  const def = sliceTypes.find((d) => d.type === 'collect/postgres')!;
  assert.ok(text.startsWith(`collect/postgres: ${def.summary}\n`));
  assert.match(text, /Kind: collect, one file per slice: sources\/<slice>\.yaml/);
  assert.match(text, /modes\s+snapshot, incremental\n/);
  assert.match(text, /sees deletes at the source\s+no\n/);
  assert.match(text, /default max connections\s+2\n/);
  assert.match(text, /^ {2}type\s+required\s+"collect\/postgres"$/m);
  assert.match(text, /^ {2}description\s+optional\s+text$/m);
  assert.match(text, /^ {2}connection\.secret\s+required\s+text, matching .*\n\s+secret name \(not its value\)$/m);
  assert.match(text, /^ {2}connection\.maxConnections\s+optional\s+a whole number from 1 to 64$/m);
  assert.match(text, /^ {2}connection\.ssl\s+optional\s+one of disable, require, verify-full$/m);
  assert.match(text, /^ {2}loadunits\[\]\s+each\s+one of 2 forms:$/m);
  assert.match(text, /^ {4}form 1: a mapping with table and mode$/m);
  assert.match(text, /^ {4}loadunits\[\]\.cursor\s+depends\s+text, 1 to 63 characters\n\s+required when mode is "incremental"; a column that grows on every insert and update/m);
  assert.match(text, /^ {4}form 2: a mapping with pattern and mode$/m);
  assert.match(text, /^ {4}loadunits\[\]\.mode\s+required\s+"snapshot"$/m);
});

test('describe prints every field of every registered type and an example that parses back to the definition\'s example', () => {
  for (const d of sliceTypes) {
    const text = describeSliceType(d.type);
    for (const path of fieldPaths(d.configSchema)) {
      assert.ok(new RegExp(`^ +${path.replace(/[.[\]]/g, '\\$&')}\\s`, 'm').test(text), `${d.type}: field ${path} not described`);
    }
    assert.deepEqual(parse(exampleBlock(text)), d.example);
  }
});

test('describe organize/redshift says it is set by reef.yaml\'s warehouse section, with the switch for a created warehouse off by default', () => {
  const text = describeSliceType('organize/redshift');
  assert.match(text, /^Kind: organize, set by the warehouse section of reef\.yaml$/m);
  assert.match(text, /^ {2}createServerless\s+optional\s+true or false \(default false\)$/m);
  assert.match(text, /^Example \(under warehouse: in reef\.yaml\):$/m);
});

test('describe of an unknown type is a config error that lists the known types', () => {
  assert.throws(
    () => describeSliceType('collect/mysql'),
    (e: unknown) => {
      assert.ok(e instanceof TerminalError);
      assert.equal(e.category, 'config');
      assert.equal(
        e.message,
        `reef describe: found slice type "collect/mysql", expected one of ${sliceTypes.map((d) => d.type).join(', ')}`,
      );
      return true;
    },
  );
});

test('listSliceTypes names every registered type with its summary', () => {
  const text = listSliceTypes();
  for (const d of sliceTypes) assert.match(text, new RegExp(`^ {2}${d.type}\\s+${d.summary.replace(/[()]/g, '\\$&')}$`, 'm'));
});

test('expectedText phrases what a schema accepts', () => {
  assert.equal(expectedText({ const: 'x' }), '"x"');
  assert.equal(expectedText({ enum: ['a', 'b'] }), 'one of a, b');
  assert.equal(expectedText({ type: 'integer', minimum: 1, maximum: 64 }), 'a whole number from 1 to 64');
  assert.equal(expectedText({ type: 'string', minLength: 1, maxLength: 63 }), 'text, 1 to 63 characters');
  assert.equal(expectedText({ type: 'array', minItems: 1 }), 'a list of at least 1 item');
  assert.equal(expectedText({ type: 'object', required: ['a', 'b', 'c'] }), 'a mapping with a, b and c');
  assert.equal(expectedText({ oneOf: [{ type: 'string' }, { type: 'integer' }] }), 'text, or a whole number');
});
