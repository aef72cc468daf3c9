/**
 * The views as the installation runs them: the applied view versions in the
 * metadata, as the ViewSpecs a refresh takes. Locally a flow's files are at
 * hand and a stored version only stands in when an older definition is still
 * in effect; in AWS there are no files, and the stored versions are all there is.
 */
import type { MetadataStore } from '../metadata/store.ts';
import type { ViewVersion } from '../metadata/types.ts';
import { headerChanges, sqlHash } from '../plan/definition.ts';
import type { ViewHeader, ViewSpec } from './types.ts';
import { topologicalOrder } from './graph.ts';

/** The version of a view in effect for a timelabel and the definition it refreshes with; undefined when none is in effect. */
export type VersionOf = (view: ViewSpec, timelabel: string) => Promise<{ version: number; view: ViewSpec } | undefined>;

/** Whether a stored version holds the same definition as a view's file (same SQL, same header). */
export function sameDefinition(applied: ViewVersion, view: ViewSpec): boolean {
  return applied.sqlHash === sqlHash(view.body) && headerChanges(applied.header, view.header).length === 0;
}

/**
 * A stored version doesn't keep the file's text, so the body's first line is
 * estimated: two lines after the last tag (or the last line of a multi-line
 * `@check sql`), past the header's closing line. Exact for headers laid out
 * as Reef's examples are; a message about the body can be a line or two off
 * otherwise.
 */
function estimatedBodyStartLine(header: ViewHeader): number {
  const tagLines = Object.values(header.tagLines).filter((l): l is number => typeof l === 'number');
  const checkEnds = header.checks.map((c) => (c.kind === 'sql' ? c.line + c.sql.split('\n').length - 1 : c.line));
  const last = Math.max(1, ...tagLines, ...checkEnds);
  return last + 2;
}

/**
 * The ViewSpec a stored version refreshes with. `like`: the view as the caller
 * knows it (its file and lines); without one (in AWS) they come from the name
 * and the header.
 */
export function viewFromVersion(v: ViewVersion, like?: ViewSpec): ViewSpec {
  const dot = v.view.indexOf('.');
  const bodyStartLine = like?.bodyStartLine ?? estimatedBodyStartLine(v.header);
  return {
    name: v.view,
    file: like?.file ?? `views/${v.view.slice(0, dot)}/${v.view.slice(dot + 1)}.sql`,
    header: v.header,
    body: v.body,
    bodyStartLine,
    inputs: v.reads.map((r) => ({ relation: r.relation, columns: r.columns, ambiguous: r.ambiguous, line: bodyStartLine })),
    outputs: v.signature.map((c) => c.name),
  };
}

/**
 * The version in effect for each timelabel, from the metadata: the caller's
 * view itself when that version is its definition, the stored one otherwise
 * (an older version still in effect for older periods).
 */
export function versionResolver(metadata: MetadataStore, organizeSlice: string): VersionOf {
  return async (view, timelabel) => {
    const v = await metadata.versionInEffect(organizeSlice, view.name, timelabel);
    if (v === undefined) return undefined;
    if (sameDefinition(v, view)) return { version: v.version, view };
    return { version: v.version, view: viewFromVersion(v, view) };
  };
}

/** The newest applied version of every view not removed, each after the views it reads (ties by name), as compile orders a flow's views. */
export async function appliedViews(metadata: MetadataStore, organizeSlice: string): Promise<ViewSpec[]> {
  const views = new Map((await metadata.latestViewVersions(organizeSlice)).map((v) => [v.view, viewFromVersion(v)]));
  const upstream = new Map([...views.values()].map((v) => [v.name, v.inputs.map((i) => i.relation).filter((r) => views.has(r))]));
  return topologicalOrder(upstream).map((name) => views.get(name)!);
}
