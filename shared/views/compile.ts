/**
 * The view compiler: every `views/<schema>/<name>.sql` of a flow, parsed,
 * checked against the datasets the sources produce and against each other,
 * and ordered into a DAG. Pure: reads files, never a database (output types
 * come later, from the warehouse).
 *
 * Like the rest of flow loading it collects every problem of every file and
 * throws them together, so one `reef validate` shows all that needs fixing.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { FlowConfigError, sortProblems, type FlowProblem } from '../flow/problems.ts';
import { closeMatches } from '../flow/spelling.ts';
import { parseViewFile } from './header.ts';
import { parseSelect, viewLineage } from './lineage.ts';
import { cycles, topologicalOrder } from './graph.ts';
import type { ViewGraph, ViewHeader, ViewLineage, ViewSpec } from './types.ts';

export const VIEWS_DIR = 'views';

/**
 * A view's schema and name become warehouse identifiers used unquoted in the
 * users' SQL, where the warehouse folds case; only lowercase plain names
 * mean the same thing in the file system and in SQL.
 */
export const VIEW_NAME_PART = /^[a-z_][a-z0-9_]*$/;

const EMPTY_GRAPH: ViewGraph = { views: [], upstream: {}, downstream: {} };

interface LoadedView {
  name: string;
  file: string;
  header: ViewHeader | undefined;
  body: string;
  bodyStartLine: number;
  lineage: ViewLineage | undefined;
}

/**
 * Compile the views of the flow in `flowDir`.
 * `datasets`: the collected datasets known before running (`<slice>.<loadunit>`);
 * `patternSchemas`: slices whose pattern loadunits add datasets only known at
 * run time, so any `<slice>.<table>` input is accepted for them.
 * Throws a FlowConfigError listing every problem.
 */
export async function compileViews(flowDir: string, datasets: ReadonlySet<string>, patternSchemas: ReadonlySet<string>): Promise<ViewGraph> {
  const dir = join(flowDir, VIEWS_DIR);
  if (!(await isDirectory(dir))) return EMPTY_GRAPH;
  const problems: FlowProblem[] = [];
  const sourceSchemas = new Set([...patternSchemas, ...[...datasets].map((d) => d.slice(0, d.indexOf('.')))]);

  const loaded: LoadedView[] = [];
  for (const path of await sqlFiles(dir)) {
    const view = await loadView(flowDir, path, sourceSchemas, problems);
    if (view !== undefined) loaded.push(view);
  }

  const views = new Map(loaded.map((v) => [v.name, v]));
  const upstream = new Map<string, string[]>();
  for (const view of loaded) {
    upstream.set(view.name, []);
    if (view.lineage === undefined) continue;
    for (const input of view.lineage.inputs) {
      if (views.has(input.relation)) upstream.get(view.name)!.push(input.relation);
      else if (!datasets.has(input.relation) && !patternSchemas.has(schemaOf(input.relation))) {
        problems.push({ file: view.file, line: input.line, message: unknownInput(input.relation, [...datasets, ...views.keys()], patternSchemas) });
      }
    }
    if (view.header !== undefined && view.lineage.outputs !== null) columnProblems(view.file, view.header, view.lineage.outputs, problems);
  }
  for (const cycle of cycles(upstream)) problems.push(cycleProblem(cycle, views));

  if (problems.length > 0) throw new FlowConfigError(sortProblems(problems));

  const ordered = topologicalOrder(upstream).map((name): ViewSpec => {
    const v = views.get(name)!;
    return { name, file: v.file, header: v.header!, body: v.body, bodyStartLine: v.bodyStartLine, inputs: v.lineage!.inputs, outputs: v.lineage!.outputs };
  });
  const downstream: Record<string, string[]> = Object.fromEntries(ordered.map((v) => [v.name, [] as string[]]));
  const upstreamOut: Record<string, string[]> = {};
  for (const v of ordered) {
    upstreamOut[v.name] = [...new Set(upstream.get(v.name))].sort();
    for (const u of upstreamOut[v.name]) downstream[u].push(v.name);
  }
  for (const list of Object.values(downstream)) list.sort();
  return { views: ordered, upstream: upstreamOut, downstream };
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Every `.sql` file under `dir`, as paths relative to it with `/`, sorted. */
async function sqlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.sql'))
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1).split(sep).join('/'))
    .sort();
}

async function loadView(flowDir: string, path: string, sourceSchemas: ReadonlySet<string>, problems: FlowProblem[]): Promise<LoadedView | undefined> {
  const file = `${VIEWS_DIR}/${path}`;
  const parts = path.split('/');
  if (parts.length !== 2) {
    problems.push({ file, message: `found a view file ${parts.length === 1 ? 'directly in' : 'nested below a schema folder in'} ${VIEWS_DIR}/, expected ${VIEWS_DIR}/<schema>/<name>.sql` });
    return undefined;
  }
  const [schema, base] = [parts[0], parts[1].slice(0, -'.sql'.length)];
  const before = problems.length;
  for (const [what, value] of [['schema (the folder name)', schema], ['name (the file name)', base]] as const) {
    if (!VIEW_NAME_PART.test(value)) {
      problems.push({ file, message: `view ${what}: found "${value}", expected lowercase letters, digits and _ starting with a letter or _ (${VIEW_NAME_PART.source}); rename it` });
    }
  }
  if (sourceSchemas.has(schema)) {
    problems.push({
      file,
      message: `view schema: found "${schema}", which is the schema the source sources/${schema}.yaml loads its tables into, expected a schema of views only (e.g. views/analytics/)`,
    });
  }
  if (problems.length > before) return undefined;

  const text = await readFile(join(flowDir, file), 'utf8');
  const parsed = parseViewFile(file, text);
  problems.push(...parsed.problems);
  const { lineage, problems: sqlProblems } = await viewLineage(file, { text: parsed.body, startLine: parsed.bodyStartLine });
  problems.push(...sqlProblems);
  for (const check of parsed.header?.checks ?? []) {
    if (check.kind !== 'sql') continue;
    const checked = await parseSelect(file, { text: check.sql, startLine: check.line }, '@check sql');
    problems.push(...checked.problems);
  }
  return { name: `${schema}.${base}`, file, header: parsed.header, body: parsed.body, bodyStartLine: parsed.bodyStartLine, lineage };
}

function schemaOf(relation: string): string {
  return relation.slice(0, relation.indexOf('.'));
}

function unknownInput(relation: string, known: string[], patternSchemas: ReadonlySet<string>): string {
  const close = closeMatches(relation, known);
  const patterns = patternSchemas.size === 0 ? '' : ` or any table of ${[...patternSchemas].sort().join(', ')} (pattern loadunits)`;
  const hint =
    close.length > 0
      ? `close matches: ${close.join(', ')}`
      : `no known relation is close (known schemas: ${[...new Set([...known.map(schemaOf), ...patternSchemas])].sort().join(', ') || 'none'})`;
  return (
    `view: found unknown input "${relation}", expected a dataset collected by a source (<source>.<loadunit>)${patterns} ` +
    `or another view (${VIEWS_DIR}/<schema>/<name>.sql); ${hint}`
  );
}

/** `@keys` and check columns must be columns the view yields; checked only when the SQL names all its outputs. */
function columnProblems(file: string, header: ViewHeader, outputs: readonly string[], problems: FlowProblem[]): void {
  const check = (field: string, line: number | undefined, columns: readonly string[]): void => {
    for (const column of columns) {
      if (outputs.includes(column)) continue;
      const close = closeMatches(column, outputs, 1);
      problems.push({
        file,
        line,
        message:
          `${field}: found column "${column}", which the view does not output${close.length > 0 ? ` (did you mean "${close[0]}"?)` : ''}, ` +
          `expected one of its output columns ${outputs.join(', ')}`,
      });
    }
  };
  check('@keys', header.tagLines.keys, header.keys);
  for (const c of header.checks) {
    if (c.kind === 'not_null' || c.kind === 'accepted_values') check(`@check ${c.kind}`, c.line, [c.column]);
    else if (c.kind === 'unique') check('@check unique', c.line, c.columns);
  }
}

function cycleProblem(cycle: string[], views: ReadonlyMap<string, LoadedView>): FlowProblem {
  const edges = cycle.slice(0, -1).map((from, i) => {
    const view = views.get(from)!;
    const to = cycle[i + 1];
    const line = view.lineage?.inputs.find((input) => input.relation === to)?.line;
    return { file: view.file, line, text: `${view.file}:${line} reads ${to}` };
  });
  return {
    file: edges[0].file,
    line: edges[0].line,
    message: `view: found a cycle ${cycle.join(' → ')} (${edges.map((e) => e.text).join('; ')}), expected views that never read themselves, directly or through others`,
  };
}
