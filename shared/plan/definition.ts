/**
 * A view's definition as a plan compares it and an apply stores it, and the
 * comparisons themselves: body, header fields, output columns.
 */
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { ViewColumn, ViewDefinition, ViewRead } from '../metadata/types.ts';
import type { ViewCheck, ViewHeader } from '../views/types.ts';
import type { ColumnChanges, DesiredView, HeaderField } from './types.ts';

/**
 * sha256 of the body with line endings and trailing blank space normalised:
 * a file re-saved with CRLF or with one more newline does the same thing and
 * must not start an update set.
 */
export function sqlHash(body: string): string {
  return createHash('sha256').update(body.replace(/\r\n?/g, '\n').trimEnd()).digest('hex');
}

export function definitionOf(desired: DesiredView): ViewDefinition {
  const { spec } = desired;
  const reads: ViewRead[] = spec.inputs.map((i) => ({ relation: i.relation, columns: [...i.columns], ambiguous: [...i.ambiguous] }));
  return {
    sqlHash: sqlHash(spec.body),
    body: spec.body,
    header: spec.header,
    signature: desired.signature.map((c) => ({ name: c.name, type: c.type })),
    reads,
  };
}

/** A check without its file line: moving a tag down one line changes nothing. */
function checkShape(check: ViewCheck): Omit<ViewCheck, 'line'> {
  const { line: _line, ...rest } = check;
  return rest;
}

const HEADER_FIELDS: Record<HeaderField, (h: ViewHeader) => unknown> = {
  refresh: (h) => h.refresh,
  mode: (h) => h.mode,
  keys: (h) => h.keys,
  checks: (h) => h.checks.map(checkShape),
  // A stored header went through JSON, which drops an undefined field.
  freshness: (h) => h.freshnessMinutes ?? null,
};

/** The header fields that differ, in a fixed order. */
export function headerChanges(from: ViewHeader, to: ViewHeader): HeaderField[] {
  return (Object.keys(HEADER_FIELDS) as HeaderField[]).filter((f) => !isDeepStrictEqual(HEADER_FIELDS[f](from), HEADER_FIELDS[f](to)));
}

/** By column name; types compared as the warehouse spells them. Each list in the order of the signature it comes from. */
export function signatureChanges(from: readonly ViewColumn[], to: readonly ViewColumn[]): ColumnChanges {
  const before = new Map(from.map((c) => [c.name, c.type]));
  const after = new Map(to.map((c) => [c.name, c.type]));
  return {
    added: to.filter((c) => !before.has(c.name)).map((c) => ({ name: c.name, type: c.type })),
    removed: from.filter((c) => !after.has(c.name)).map((c) => ({ name: c.name, type: c.type })),
    retyped: to.filter((c) => before.has(c.name) && before.get(c.name) !== c.type).map((c) => ({ name: c.name, from: before.get(c.name)!, to: c.type })),
  };
}

export function noColumnChanges(c: ColumnChanges): boolean {
  return c.added.length === 0 && c.removed.length === 0 && c.retyped.length === 0;
}
