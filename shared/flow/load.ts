/**
 * Loads a flow project from disk: `reef.yaml`, `sources/*.yaml` and
 * `publications/*.yaml`, each
 * checked against its JSON Schema and a few rules a schema cannot express,
 * then `views/` through the view compiler, and last whether each publication
 * names a dataset the flow produces.
 *
 * A user fixing a flow wants every problem in one go, not one per run, so
 * nothing here stops at the first problem: all of them are collected, each
 * pointing at a file, a line and a field, and thrown together.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Document } from 'yaml';
import { TerminalError } from '../errors.ts';
import { parseSchedule } from '../timelabel.ts';
import { ORGANIZE_SLICE, type SliceDefinition } from '../slice.ts';
import { findSliceType, sliceTypes } from '../../slices/registry.ts';
import { installationSchema, withInstallationDefaults } from './installation-schema.ts';
import type { Flow, SliceSpec } from './types.ts';
import { expectedText } from './describe.ts';
import { FlowConfigError, sortProblems, type FlowProblem } from './problems.ts';
import { closest } from './spelling.ts';
import { compileViews } from '../views/compile.ts';
import { notificationProblems } from '../notifications/config.ts';
import { vendorProblems } from '../vendor/access.ts';

// Re-exported: callers have always imported the error and its formatting from here.
export { FlowConfigError, formatProblem, type FlowProblem } from './problems.ts';

export const INSTALLATION_FILE = 'reef.yaml';
export const SOURCES_DIR = 'sources';
export const PUBLICATIONS_DIR = 'publications';

/** Each folder of slice files and the one kind of slice it holds. */
const SLICE_FOLDERS = [
  { dir: SOURCES_DIR, kind: 'collect' },
  { dir: PUBLICATIONS_DIR, kind: 'harness' },
] as const;

/** The slice name becomes part of stack names, S3 prefixes and DynamoDB keys, so it is kept short and plain. */
export const SLICE_NAME_PATTERN = /^[a-z][a-z0-9-]{1,30}$/;

// ---------------------------------------------------------------------------
// Validators

const ajv = new Ajv2020({
  allErrors: true,
  strict: true,
  // strictRequired rejects `then: { required: [cursor] }` because `cursor` is
  // declared in the enclosing schema, not in `then`; that is the standard
  // JSON Schema idiom for conditional fields, so only this check is relaxed.
  strictRequired: false,
  // The failing value and its schema come with each error, to say what was found and expected.
  verbose: true,
});

const validators = new Map<string, ValidateFunction>();

function validatorFor(key: string, schema: Record<string, unknown>): ValidateFunction {
  let v = validators.get(key);
  if (v === undefined) {
    v = ajv.compile(schema);
    validators.set(key, v);
  }
  return v;
}

function knownTypes(kind?: string): string {
  const types = sliceTypes.filter((d) => kind === undefined || d.kind === kind).map((d) => d.type);
  return types.length === 0 ? '(none)' : types.join(', ');
}

// ---------------------------------------------------------------------------
// Where a path of the config sits in its YAML file

type PathSegment = string | number;

/** Gives the line of a config path, or undefined when the config did not come from a file. */
type Locate = (path: readonly PathSegment[]) => number | undefined;

interface ParsedYaml {
  file: string;
  doc: Document;
  lineCounter: LineCounter;
}

function nodeOffset(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range?.[0];
}

/**
 * The line of the deepest node along `path` that exists: for a mapping entry,
 * the line of its key (so `connection:` is blamed for a field missing inside
 * it, not the line after); for a list item, the line of its `-`.
 */
function yamlLocator(p: ParsedYaml): Locate {
  const lineAt = (offset: number | undefined, fallback: number): number =>
    offset === undefined ? fallback : p.lineCounter.linePos(offset).line;
  return (path) => {
    let node: unknown = p.doc.contents;
    let line = lineAt(nodeOffset(node), 1);
    for (const seg of path) {
      if (isAlias(node)) node = node.resolve(p.doc);
      if (isMap(node)) {
        const pair = node.items.find((it) => (isScalar(it.key) ? String(it.key.value) : String(it.key)) === String(seg));
        if (pair === undefined) break;
        line = lineAt(nodeOffset(pair.key), line);
        node = pair.value;
      } else if (isSeq(node)) {
        const item = node.items[Number(seg)];
        if (item === undefined) break;
        line = lineAt(nodeOffset(item), line);
        node = item;
      } else {
        break;
      }
    }
    return line;
  };
}

function parseYaml(file: string, text: string, problems: FlowProblem[]): { parsed: ParsedYaml; value: unknown } | undefined {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    // One syntax slip often yields several parser errors on one spot; the first says it best.
    const seen = new Set<number>();
    for (const e of doc.errors) {
      const { line, col } = lineCounter.linePos(e.pos[0]);
      if (seen.has(line)) continue;
      seen.add(line);
      // The parser's position marks only the key's first character; the key runs to its colon.
      const keyText = /^[^:\n]*/.exec(text.slice(e.pos[0]))?.[0].trim() ?? '';
      const key = e.code === 'DUPLICATE_KEY' && keyText !== '' ? ` (${JSON.stringify(keyText)} appears more than once)` : '';
      problems.push({ file, line, col, message: `YAML syntax: ${e.message}${key}` });
    }
    return undefined;
  }
  return { parsed: { file, doc, lineCounter }, value: doc.toJS() };
}

// ---------------------------------------------------------------------------
// Turning ajv's errors into sentences

function fieldName(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    out += typeof seg === 'number' ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  }
  return out === '' ? '(top level)' : out;
}

function pointerSegments(pointer: string): PathSegment[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s));
}

/** How a found value reads in a message. */
export function foundText(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') {
    const shown = value.length > 80 ? `${value.slice(0, 77)}...` : value;
    return JSON.stringify(shown);
  }
  return String(value);
}

type SchemaObject = Record<string, unknown>;

function asSchema(v: unknown): SchemaObject | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as SchemaObject) : undefined;
}

/** The schemas along a `#/a/b` schema path, outermost first. */
function schemasAlong(root: SchemaObject, schemaPath: string): SchemaObject[] {
  const out: SchemaObject[] = [root];
  let cur: unknown = root;
  for (const seg of schemaPath.replace(/^#\/?/, '').split('/')) {
    if (seg === '') continue;
    cur = Array.isArray(cur) ? cur[Number(seg)] : asSchema(cur)?.[seg.replace(/~1/g, '/').replace(/~0/g, '~')];
    if (cur === undefined) break;
    // Arrays (oneOf, required) lie along the path but are not schemas themselves.
    const s = asSchema(cur);
    if (s !== undefined) out.push(s);
  }
  return out;
}

/** For a `required` inside `then`, the condition in the sibling `if`: ` when mode is "incremental"`. */
function conditionOf(root: SchemaObject, schemaPath: string): string {
  const i = schemaPath.lastIndexOf('/then/');
  if (i < 0) return '';
  const along = schemasAlong(root, schemaPath.slice(0, i));
  const ifProps = asSchema(asSchema(along[along.length - 1]?.if)?.properties);
  if (ifProps === undefined) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(ifProps)) {
    const s = asSchema(v);
    if (s !== undefined && 'const' in s) parts.push(`${k} is ${JSON.stringify(s.const)}`);
  }
  return parts.length === 0 ? '' : ` when ${parts.join(' and ')}`;
}

interface Explained {
  path: PathSegment[];
  message: string;
}

function explain(e: ErrorObject, root: SchemaObject): Explained {
  const path = pointerSegments(e.instancePath);
  const parent = asSchema(e.parentSchema) ?? {};
  const found = foundText(e.data);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required': {
      const missing = String(p.missingProperty);
      const along = schemasAlong(root, e.schemaPath);
      let propSchema: SchemaObject | undefined;
      for (let i = along.length - 1; i >= 0 && propSchema === undefined; i--) {
        propSchema = asSchema(asSchema(along[i].properties)?.[missing]);
      }
      const expected = propSchema === undefined ? 'a value' : expectedText(propSchema);
      return {
        path: [...path, missing],
        message: `missing, expected ${expected} (required${conditionOf(root, e.schemaPath)})`,
      };
    }
    case 'additionalProperties': {
      const extra = String(p.additionalProperty);
      const known = Object.keys(asSchema(parent.properties) ?? {});
      const guess = closest(extra, known);
      const hint = guess === undefined ? '' : ` (did you mean "${guess}"?)`;
      return {
        path: [...path, extra],
        message: `found unknown field "${extra}"${hint}, expected only the fields ${known.join(', ')}`,
      };
    }
    case 'enum':
      return { path, message: `found ${found}, expected one of ${(p.allowedValues as unknown[]).map(String).join(', ')}` };
    case 'const':
      return { path, message: `found ${found}, expected ${JSON.stringify(p.allowedValue)}` };
    case 'type': {
      // YAML reads `account: 012345678901` as a number (and drops the zero); quoting is the cure.
      const quote =
        p.type === 'string' && (typeof e.data === 'number' || typeof e.data === 'boolean')
          ? ` (put it in quotes: "${String(e.data)}", so YAML reads it as text)`
          : '';
      return { path, message: `found ${found}, expected ${expectedText(parent)}${quote}` };
    }
    case 'pattern': {
      const description = typeof parent.description === 'string' ? ` (${parent.description})` : '';
      return { path, message: `found ${found}, expected text matching ${String(p.pattern)}${description}` };
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum': {
      const words: Record<string, string> = {
        minimum: 'at least',
        maximum: 'at most',
        exclusiveMinimum: 'more than',
        exclusiveMaximum: 'less than',
      };
      return { path, message: `found ${found}, expected a number ${words[e.keyword]} ${String(p.limit)}` };
    }
    case 'minLength':
    case 'maxLength': {
      const n = typeof e.data === 'string' ? [...e.data].length : 0;
      const bound = e.keyword === 'minLength' ? 'at least' : 'at most';
      return { path, message: `found ${found} (${n} characters), expected ${bound} ${String(p.limit)} characters` };
    }
    case 'minItems':
    case 'maxItems': {
      const n = Array.isArray(e.data) ? e.data.length : 0;
      const bound = e.keyword === 'minItems' ? 'at least' : 'at most';
      return { path, message: `found ${n} items, expected ${bound} ${String(p.limit)}` };
    }
    case 'oneOf':
    case 'anyOf':
      return { path, message: `found ${found}, expected ${expectedText(parent)}` };
    default:
      return { path, message: `found ${found}, expected what the schema says: ${e.message ?? e.keyword}` };
  }
}

function isWithin(instancePath: string, outer: string): boolean {
  return instancePath === outer || instancePath.startsWith(`${outer}/`);
}

/**
 * ajv reports, for a value that fits none of a oneOf's forms, every reason
 * every form failed: a loadunit with `mode: incremental` and no cursor also
 * "lacks `pattern`" and "has an extra `table`". The user meant the form
 * that failed least, so keep only that form's errors (fewest wins; the first
 * on a tie). Nested oneOfs are reduced the same way, outermost first.
 */
export function reduceOneOfErrors(errors: readonly ErrorObject[]): ErrorObject[] {
  let result = errors.filter((e) => e.keyword !== 'if');
  const choices = result
    .filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf')
    .sort((a, b) => a.schemaPath.length - b.schemaPath.length);
  for (const choice of choices) {
    if (!result.includes(choice)) continue;
    const prefix = `${choice.schemaPath}/`;
    const inside = result.filter((e) => e.schemaPath.startsWith(prefix) && isWithin(e.instancePath, choice.instancePath));
    if (inside.length === 0) continue;
    const byBranch = new Map<string, ErrorObject[]>();
    for (const e of inside) {
      const branch = e.schemaPath.slice(prefix.length).split('/')[0];
      byBranch.set(branch, [...(byBranch.get(branch) ?? []), e]);
    }
    let best: ErrorObject[] = [];
    for (const branchErrors of byBranch.values()) {
      if (best.length === 0 || branchErrors.length < best.length) best = branchErrors;
    }
    const drop = new Set<ErrorObject>([choice, ...inside]);
    result = [...result.filter((e) => !drop.has(e)), ...best];
  }
  return result;
}

// ---------------------------------------------------------------------------
// Checking one config

function schemaProblems(validate: ValidateFunction, schema: SchemaObject, config: unknown): Explained[] {
  if (validate(config)) return [];
  return reduceOneOfErrors(validate.errors ?? []).map((e) => explain(e, schema));
}

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/**
 * Rules a JSON Schema cannot say. They run even when the schema found
 * problems elsewhere (each looks only at values of the right shape), so one
 * run reports everything.
 */
function semanticProblems(def: SliceDefinition<unknown>, config: unknown): Explained[] {
  const out: Explained[] = [];
  const c = asRecord(config);
  if (c === undefined) return out;
  let schedule: unknown;
  try {
    schedule = def.schedule(config);
  } catch {
    // The config is not of the type's shape; the schema's problems already say how.
  }
  // Slice types keep their schedule in the top-level `schedule` field, which is where the line is looked up.
  if (typeof schedule === 'string') {
    try {
      parseSchedule(schedule, 'schedule');
    } catch (e) {
      // parseSchedule's message already reads `schedule: found "...": why; expected ...`.
      const message = e instanceof Error ? e.message.replace(/^schedule: /, '') : String(e);
      out.push({ path: ['schedule'], message });
    }
  }
  return out;
}

/** Problems of one slice config, with paths; the caller adds file and line. */
function sliceConfigProblems(def: SliceDefinition<unknown>, config: unknown): Explained[] {
  const validate = validatorFor(`slice:${def.type}`, def.configSchema);
  const shape = schemaProblems(validate, def.configSchema, config);
  // The slice type's own rules read a config of its shape, so they run only once the schema passes.
  return [...shape, ...semanticProblems(def, config), ...(shape.length === 0 ? def.problems(config) : [])];
}

/**
 * Validate a slice config that did not come from a file (e.g. before it is
 * stored in DynamoDB). `where` names it in messages: `slice shop`.
 * Throws a FlowConfigError listing every problem.
 */
export function validateSliceConfig(type: string, config: unknown, where: string): void {
  const def = findSliceType(type);
  if (def === undefined) {
    throw new FlowConfigError([{ file: where, message: `type: found ${foundText(type)}, expected one of the slice types ${knownTypes()}` }]);
  }
  const problems = sliceConfigProblems(def, config).map((x) => ({ file: where, message: `${fieldName(x.path)}: ${x.message}` }));
  if (problems.length > 0) throw new FlowConfigError(problems);
}

// ---------------------------------------------------------------------------
// Loading a flow directory

async function exists(path: string): Promise<'file' | 'dir' | undefined> {
  try {
    const s = await stat(path);
    return s.isDirectory() ? 'dir' : s.isFile() ? 'file' : undefined;
  } catch {
    return undefined;
  }
}

function place(problems: FlowProblem[], file: string, locate: Locate, items: Explained[]): void {
  for (const x of items) problems.push({ file, line: locate(x.path), message: `${fieldName(x.path)}: ${x.message}` });
}

async function loadInstallation(dir: string, problems: FlowProblem[]): Promise<Flow['installation'] | undefined> {
  const file = INSTALLATION_FILE;
  const path = join(dir, file);
  if ((await exists(path)) !== 'file') {
    problems.push({
      file,
      message: `not found at ${path}; a flow needs a reef.yaml at its top, with at least "name: <installation name>"`,
    });
    return undefined;
  }
  const loaded = parseYaml(file, await readFile(path, 'utf8'), problems);
  if (loaded === undefined) return undefined;
  const locate = yamlLocator(loaded.parsed);
  const schema = installationSchema as unknown as SchemaObject;
  const found = schemaProblems(validatorFor('installation', schema), schema, loaded.value);

  const databases = asRecord(asRecord(loaded.value)?.local)?.databases;
  if (Array.isArray(databases)) {
    const secrets = new Map<string, number>();
    for (const [i, raw] of databases.entries()) {
      const db = asRecord(raw);
      if (typeof db?.secret === 'string') {
        const first = secrets.get(db.secret);
        if (first === undefined) secrets.set(db.secret, i);
        else
          found.push({
            path: ['local', 'databases', i, 'secret'],
            message: `found "${db.secret}" again (first at local.databases[${first}]), expected each secret to stand for one local database`,
          });
      }
      if (typeof db?.generator === 'string' && !db.generator.startsWith('/') && (await exists(join(dir, db.generator))) !== 'file') {
        found.push({
          path: ['local', 'databases', i, 'generator'],
          message: `found "${db.generator}", expected a file relative to the flow, but ${join(dir, db.generator)} does not exist`,
        });
      }
    }
  }
  // The warehouse section is the organize slice's config: its type's own rules apply once the schema passed.
  const warehouse = asRecord(loaded.value)?.warehouse;
  if (found.length === 0 && warehouse !== undefined) {
    const organize = sliceTypes.find((d) => d.kind === 'organize' && d.type === `organize/${String(asRecord(warehouse)?.type ?? 'redshift')}`);
    for (const p of organize?.problems(warehouse) ?? []) found.push({ path: ['warehouse', ...p.path], message: p.message });
  }
  found.push(...notificationProblems(asRecord(loaded.value)?.notifications));
  found.push(...vendorProblems(asRecord(loaded.value)?.vendor));
  place(problems, file, locate, found);
  return found.length === 0 ? withInstallationDefaults(loaded.value) : undefined;
}

interface LoadedSlice {
  spec: SliceSpec;
  /** The line of a field of the file, for problems found after loading. */
  lineOf(path: PathSegment[]): number | undefined;
}

async function loadSliceFile(dir: string, folder: (typeof SLICE_FOLDERS)[number], entry: string, problems: FlowProblem[]): Promise<LoadedSlice | undefined> {
  const file = `${folder.dir}/${entry}`;
  const slice = basename(entry, extname(entry));
  const before = problems.length;
  if (!SLICE_NAME_PATTERN.test(slice)) {
    problems.push({
      file,
      message:
        `slice name: found "${slice}" (the file's base name), expected 2-31 lowercase letters, digits or hyphens starting with a letter ` +
        `(${SLICE_NAME_PATTERN.source}); rename the file`,
    });
  }
  if (slice === ORGANIZE_SLICE) {
    problems.push({
      file,
      message: `slice name: found "${slice}", which names the organize slice's metadata and lake prefix; expected another name (rename the file)`,
    });
  }
  const loaded = parseYaml(file, await readFile(join(dir, file), 'utf8'), problems);
  if (loaded === undefined) return undefined;
  const locate = yamlLocator(loaded.parsed);
  const config = asRecord(loaded.value);
  if (config === undefined) {
    problems.push({ file, line: locate([]), message: `(top level): found ${foundText(loaded.value)}, expected a mapping with type, schedule, ...` });
    return undefined;
  }
  const type = config.type;
  const def = typeof type === 'string' ? findSliceType(type) : undefined;
  if (def === undefined || def.kind !== folder.kind) {
    const why = def === undefined ? '' : ` (${/^[aeiou]/.test(def.kind) ? 'an' : 'a'} ${def.kind} slice type, which does not belong in ${folder.dir}/)`;
    problems.push({
      file,
      line: locate(['type']),
      message: `type: found ${foundText(type)}${why}, expected one of the ${folder.kind} slice types ${knownTypes(folder.kind)}`,
    });
    return undefined;
  }
  place(problems, file, locate, sliceConfigProblems(def, config));
  if (problems.length > before) return undefined;
  return { spec: { slice, type: def.type, file, config }, lineOf: (path) => locate(path) };
}

/**
 * Read and validate the flow in `dir`. Throws a FlowConfigError (code
 * `config.invalid`) listing every problem in every file, sorted by file and line.
 */
export async function loadFlow(dir: string): Promise<Flow> {
  const root = resolve(dir);
  if ((await exists(root)) !== 'dir') {
    throw new TerminalError('config', `${root}: not found, expected a flow directory holding reef.yaml and sources/*.yaml`, {
      code: 'config.invalid',
    });
  }
  const problems: FlowProblem[] = [];
  const installation = await loadInstallation(root, problems);

  // Slice names are unique across folders: each is a metadata partition, a lake prefix and a stack.
  const fileOfSlice = new Map<string, string>();
  const loaded = new Map<string, LoadedSlice[]>();
  for (const folder of SLICE_FOLDERS) {
    const folderPath = join(root, folder.dir);
    const entries =
      (await exists(folderPath)) === 'dir'
        ? (await readdir(folderPath, { withFileTypes: true }))
            .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
            .map((e) => e.name)
            .sort()
        : [];
    const specs: LoadedSlice[] = [];
    for (const entry of entries) {
      const slice = basename(entry, extname(entry));
      const other = fileOfSlice.get(slice);
      if (other !== undefined) {
        problems.push({ file: `${folder.dir}/${entry}`, message: `slice name: found "${slice}" again (also ${other}), expected one file per slice` });
        continue;
      }
      fileOfSlice.set(slice, `${folder.dir}/${entry}`);
      const one = await loadSliceFile(root, folder, entry, problems);
      if (one !== undefined) specs.push(one);
    }
    loaded.set(folder.dir, specs.sort((x, y) => (x.spec.slice < y.spec.slice ? -1 : x.spec.slice > y.spec.slice ? 1 : 0)));
  }

  if (problems.length > 0 || installation === undefined) throw new FlowConfigError(sortProblems(problems));
  const sources = loaded.get(SOURCES_DIR)!.map((l) => l.spec);
  // Views are checked against the datasets the sources produce, so only once the sources are valid.
  const [datasets, runTime] = knownDatasets(sources);
  const { views } = await compileViews(root, datasets, runTime);
  const publications = loaded.get(PUBLICATIONS_DIR)!;
  const known = [...datasets, ...views.map((v) => v.name)];
  for (const { spec, lineOf } of publications) {
    const dataset = findSliceType(spec.type)!.harness!.dataset(spec.config);
    if (known.includes(dataset) || runTime.has(dataset.split('.')[0])) continue;
    const near = closest(dataset, known);
    problems.push({
      file: spec.file,
      line: lineOf(['dataset']),
      message: `dataset: found "${dataset}", which no source collects and no view defines; expected one of ${known.join(', ') || '(none)'}${near ? ` (did you mean "${near}"?)` : ''}`,
    });
  }
  if (problems.length > 0) throw new FlowConfigError(sortProblems(problems));
  return { dir: root, installation, sources, publications: publications.map((l) => l.spec), views };
}

/** The datasets the sources produce, and the slices that also produce some known only at run time. */
function knownDatasets(sources: readonly SliceSpec[]): [Set<string>, Set<string>] {
  const datasets = new Set<string>();
  const runTime = new Set<string>();
  for (const source of sources) {
    const produced = findSliceType(source.type)?.datasets?.(source.config);
    if (produced === undefined) continue;
    // The warehouse folds unquoted names to lowercase, and views name datasets unquoted.
    for (const table of produced.tables) datasets.add(`${source.slice}.${table.toLowerCase()}`);
    if (produced.tablesKnownAtRunTime) runTime.add(source.slice);
  }
  return [datasets, runTime];
}
