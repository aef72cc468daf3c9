/**
 * What a view reads and what it yields, from PostgreSQL's own parser
 * (libpg-query): the relations in its FROM and JOIN clauses at any depth, the
 * columns it reads from each, and its output column names when the SQL
 * alone says them.
 *
 * Nothing here knows the tables' columns, so resolution is what can be
 * proven from the text: a qualified `o.amount` is certain; an unqualified
 * `amount` with one relation in reach is certain; with several it is
 * recorded as ambiguous against each candidate instead of guessed (see
 * InputRead.ambiguous). Where a `*` cannot be traced to named columns the
 * view is taken to read every column: lineage may over-state what a view
 * reads, never under-state it, because it decides which views a dropped
 * column breaks.
 */
import { parse } from 'libpg-query';
import type { FlowProblem } from '../flow/problems.ts';
import { lineOfByte, lineOfCodePoint, type SqlText } from './positions.ts';
import type { InputRead, ViewLineage } from './types.ts';

/** A parse tree node: the parser's JSON, walked generically. */
type Node = Record<string, unknown>;

function asNode(v: unknown): Node | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Node) : undefined;
}

function asList(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

const ALL_COLUMNS = '*';

/**
 * Parse `sql` and return its one SELECT statement (the `SelectStmt` node), or
 * the problems that say why there is none. `what` names the text in messages
 * (`view`, `@check sql`).
 */
export async function parseSelect(file: string, sql: SqlText, what: string): Promise<{ select: Node | undefined; problems: FlowProblem[] }> {
  const problems: FlowProblem[] = [];
  const fail = (line: number, message: string): { select: undefined; problems: FlowProblem[] } => {
    problems.push({ file, line, message: `${what}: ${message}` });
    return { select: undefined, problems };
  };
  let tree: { stmts?: { stmt?: unknown; stmt_location?: number }[] };
  try {
    tree = (await parse(sql.text)) as typeof tree;
  } catch (e) {
    const details = (e as { sqlDetails?: { message?: string; cursorPosition?: number } }).sqlDetails;
    if (details?.cursorPosition === undefined) throw e;
    return fail(lineOfCodePoint(sql, details.cursorPosition), `SQL syntax: ${details.message ?? (e as Error).message}`);
  }
  const stmts = tree.stmts ?? [];
  if (stmts.length === 0) return fail(sql.startLine, 'found no SQL statement, expected one SELECT');
  if (stmts.length > 1) {
    return fail(
      lineOfByte(sql, stmts[1].stmt_location ?? 0),
      `found ${stmts.length} statements, expected exactly one SELECT (one query per file; a ";" inside the SQL ends it)`,
    );
  }
  const stmt = asNode(stmts[0].stmt) ?? {};
  const kind = Object.keys(stmt)[0] ?? 'unknown';
  const select = asNode(stmt.SelectStmt);
  if (select === undefined) {
    return fail(lineOfByte(sql, stmts[0].stmt_location ?? 0), `found a ${kind.replace(/Stmt$/, '')} statement, expected one SELECT`);
  }
  if (select.intoClause !== undefined) return fail(sql.startLine, 'found SELECT ... INTO, expected a plain SELECT (Reef writes the view\'s table itself)');
  return { select, problems };
}

/** Lineage of a view body; `lineage` is undefined when the body has problems. */
export async function viewLineage(file: string, body: SqlText): Promise<{ lineage: ViewLineage | undefined; problems: FlowProblem[] }> {
  const parsed = await parseSelect(file, body, 'view');
  if (parsed.select === undefined) return { lineage: undefined, problems: parsed.problems };
  const walker = new LineageWalker(file, body);
  const shape = walker.select(parsed.select, undefined, new Map(), false);
  const outputs = shape.open || shape.names.some((n) => n === null) ? null : (shape.names as string[]);
  if (outputs !== null) {
    const seen = new Set<string>();
    shape.names.forEach((name, i) => {
      if (seen.has(name!)) {
        walker.problems.push({
          file,
          line: lineOfByte(body, shape.locations[i]),
          message: `view: found output column "${name}" more than once, expected distinct output names (give one an alias with AS)`,
        });
      }
      seen.add(name!);
    });
  }
  if (walker.problems.length > 0) return { lineage: undefined, problems: walker.problems };
  return { lineage: { inputs: walker.inputs(), outputs }, problems: [] };
}

/** The columns a derived table (a CTE or a subquery) yields. */
interface Shape {
  /** Named outputs in order; null for an unnamed expression. */
  names: (string | null)[];
  /** Body locations of the named outputs, for messages. */
  locations: number[];
  /** Each `*` or `t.*` of its target list not yet read: the sources it expands to, read only when used. */
  stars: Source[][];
  /** It may yield columns beyond `names` whose origin is already counted (a set operation, a recursive CTE). */
  open: boolean;
}

/** Something in a FROM clause that columns can come from. */
interface Source {
  /** The name qualified references use: the alias, or the relation's own name. */
  alias: string | undefined;
  /** For an input: `schema.table`. */
  relation?: string;
  shape?: Shape;
  /** For a function or table function with declared column names. */
  columns?: string[];
}

interface Scope {
  sources: Source[];
  parent: Scope | undefined;
}

type CteEnv = ReadonlyMap<string, Shape>;

type Holds = 'yes' | 'maybe' | 'no';

class LineageWalker {
  readonly problems: FlowProblem[] = [];
  private readonly reads = new Map<string, { line: number; columns: Set<string>; ambiguous: Set<string> }>();
  private readonly file: string;
  private readonly body: SqlText;

  constructor(file: string, body: SqlText) {
    this.file = file;
    this.body = body;
  }

  inputs(): InputRead[] {
    return [...this.reads.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([relation, r]) => {
        const columns = [...r.columns].sort();
        // A column read for certain, or under `*`, is not also in doubt.
        const ambiguous = columns.includes(ALL_COLUMNS) ? [] : [...r.ambiguous].filter((c) => !r.columns.has(c)).sort();
        return { relation, line: r.line, columns: columns.includes(ALL_COLUMNS) ? [ALL_COLUMNS] : columns, ambiguous };
      });
  }

  private problem(location: unknown, message: string): void {
    this.problems.push({ file: this.file, line: lineOfByte(this.body, typeof location === 'number' ? location : 0), message: `view: ${message}` });
  }

  private read(relation: string, column: string, certain: boolean): void {
    const r = this.reads.get(relation)!;
    (certain ? r.columns : r.ambiguous).add(column);
  }

  /**
   * Walk one SELECT (or set operation). `deferStars`: its target list
   * defines a derived table, so a `*` there is read only as far as the outer
   * query uses it.
   */
  select(stmt: Node, parent: Scope | undefined, outerCtes: CteEnv, deferStars: boolean): Shape {
    const ctes = this.withClause(stmt, parent, outerCtes);
    if (str(stmt.op) !== undefined && stmt.op !== 'SETOP_NONE') {
      const left = this.select(asNode(stmt.larg) ?? {}, parent, ctes, deferStars);
      const right = this.select(asNode(stmt.rarg) ?? {}, parent, ctes, deferStars);
      // Arms line up by position, not name, so a `*` in either cannot be
      // traced through to named columns: it reads everything now.
      for (const arm of [left, right]) for (const star of arm.stars) this.readAllOf(star);
      return { names: left.names, locations: left.locations, stars: [], open: left.open || left.stars.length > 0 };
    }

    const scope: Scope = { sources: [], parent };
    for (const item of asList(stmt.fromClause)) this.fromItem(asNode(item) ?? {}, scope, ctes);

    const shape: Shape = { names: [], locations: [], stars: [], open: false };
    const computedAliases = new Set<string>();
    for (const t of asList(stmt.targetList)) {
      const target = asNode(asNode(t)?.ResTarget) ?? {};
      const val = asNode(target.val) ?? {};
      const star = this.starSources(val, scope);
      if (star !== undefined) {
        if (deferStars) shape.stars.push(star);
        else {
          this.readAllOf(star);
          shape.open = true;
        }
        continue;
      }
      this.expr(val, scope, ctes);
      const bare = bareColumnName(val);
      const name = str(target.name) ?? bare;
      shape.names.push(name ?? null);
      shape.locations.push(typeof target.location === 'number' ? target.location : 0);
      if (name !== undefined && name !== bare) computedAliases.add(name);
    }

    for (const key of ['whereClause', 'havingClause', 'windowClause', 'distinctClause', 'limitCount', 'limitOffset', 'valuesLists']) {
      this.expr(stmt[key], scope, ctes);
    }
    // GROUP BY a bare name prefers an input column, but the common idiom is an
    // output alias (`date_trunc('day', at) AS day ... GROUP BY day`); which one
    // it is depends on the tables' columns, so it is counted as in doubt.
    for (const g of asList(stmt.groupClause)) {
      const name = bareColumnName(asNode(g) ?? {}, true);
      if (name !== undefined && computedAliases.has(name)) this.resolveUnqualified(name, scope, false);
      else this.expr(g, scope, ctes);
    }
    // ORDER BY a bare name means the output column of that name first.
    const outputNames = new Set(shape.names.filter((n): n is string => n !== null));
    for (const s of asList(stmt.sortClause)) {
      const sortNode = asNode(asNode(s)?.SortBy)?.node;
      const name = bareColumnName(asNode(sortNode) ?? {}, true);
      if (name === undefined || !outputNames.has(name)) this.expr(sortNode, scope, ctes);
    }
    return shape;
  }

  private withClause(stmt: Node, parent: Scope | undefined, outer: CteEnv): CteEnv {
    const withClause = asNode(stmt.withClause);
    if (withClause === undefined) return outer;
    const env = new Map(outer);
    for (const c of asList(withClause.ctes)) {
      const cte = asNode(asNode(c)?.CommonTableExpr) ?? {};
      const name = str(cte.ctename) ?? '';
      const query = asNode(cte.ctequery) ?? {};
      const select = asNode(query.SelectStmt);
      if (select === undefined) {
        const kind = (Object.keys(query)[0] ?? 'unknown').replace(/Stmt$/, '');
        this.problem(cte.location, `found a ${kind} statement in WITH ${name}, expected only SELECT (a view reads, it never writes)`);
        continue;
      }
      // A recursive CTE refers to itself; its rows come from its own arms, already walked.
      if (withClause.recursive === true) env.set(name, { names: [], locations: [], stars: [], open: true });
      env.set(name, renamed(this.select(select, parent, env, true), cte.aliascolnames));
    }
    return env;
  }

  private fromItem(item: Node, scope: Scope, ctes: CteEnv): void {
    const rangeVar = asNode(item.RangeVar);
    if (rangeVar !== undefined) {
      this.rangeVar(rangeVar, scope, ctes);
      return;
    }
    const sub = asNode(item.RangeSubselect);
    if (sub !== undefined) {
      const alias = asNode(sub.alias);
      // Only a LATERAL subquery sees the FROM items before it.
      const parent = sub.lateral === true ? scope : scope.parent;
      const shape = this.select(asNode(asNode(sub.subquery)?.SelectStmt) ?? {}, parent, ctes, true);
      scope.sources.push({ alias: str(alias?.aliasname), shape: renamed(shape, alias?.colnames) });
      return;
    }
    const join = asNode(item.JoinExpr);
    if (join !== undefined) {
      const start = scope.sources.length;
      this.fromItem(asNode(join.larg) ?? {}, scope, ctes);
      const middle = scope.sources.length;
      this.fromItem(asNode(join.rarg) ?? {}, scope, ctes);
      const left = scope.sources.slice(start, middle);
      const right = scope.sources.slice(middle);
      // USING (id) reads id on both sides. NATURAL joins name no columns, so their shared ones go unrecorded.
      for (const u of asList(join.usingClause)) {
        const name = str(asNode(asNode(u)?.String)?.sval);
        if (name === undefined) continue;
        this.resolveAmong(left, name, true);
        this.resolveAmong(right, name, true);
      }
      this.expr(join.quals, scope, ctes);
      return;
    }
    // A function in FROM (unnest, generate_series, JSON_TABLE, ...): its
    // arguments read columns of the items before it; its own columns come
    // from no input.
    const kind = Object.keys(item)[0];
    const node = asNode(item[kind]) ?? {};
    this.expr(node, scope, ctes);
    const alias = asNode(node.alias);
    const declared = asList(alias?.colnames).length > 0 ? alias?.colnames : node.coldeflist;
    const columns = asList(declared)
      .map((c) => str(asNode(asNode(c)?.String)?.sval) ?? str(asNode(asNode(c)?.ColumnDef)?.colname))
      .filter((c): c is string => c !== undefined);
    scope.sources.push({ alias: str(alias?.aliasname) ?? functionName(node), columns: columns.length > 0 ? columns : undefined });
  }

  private rangeVar(rv: Node, scope: Scope, ctes: CteEnv): void {
    const relname = str(rv.relname) ?? '';
    const schema = str(rv.schemaname);
    const alias = asNode(rv.alias);
    const aliasName = str(alias?.aliasname) ?? relname;
    if (schema === undefined) {
      const cte = ctes.get(relname);
      if (cte !== undefined) {
        scope.sources.push({ alias: aliasName, shape: renamed(cte, alias?.colnames) });
        return;
      }
      this.problem(rv.location, `found table "${relname}" without a schema, expected schema.table (a collected dataset <source>.<loadunit> or a view <schema>.<name>), or the name of a WITH query`);
      scope.sources.push({ alias: aliasName });
      return;
    }
    if (rv.catalogname !== undefined) {
      this.problem(rv.location, `found "${String(rv.catalogname)}.${schema}.${relname}", expected schema.table (no database name: the view runs in the warehouse's database)`);
      scope.sources.push({ alias: aliasName });
      return;
    }
    const relation = `${schema}.${relname}`;
    if (!this.reads.has(relation)) {
      this.reads.set(relation, { line: lineOfByte(this.body, typeof rv.location === 'number' ? rv.location : 0), columns: new Set(), ambiguous: new Set() });
    }
    scope.sources.push({ alias: aliasName, relation });
  }

  /** Walk an expression (or any subtree): column references, and subqueries in their own scope. */
  private expr(node: unknown, scope: Scope, ctes: CteEnv): void {
    if (Array.isArray(node)) {
      for (const n of node) this.expr(n, scope, ctes);
      return;
    }
    const obj = asNode(node);
    if (obj === undefined) return;
    for (const [key, value] of Object.entries(obj)) {
      if (key === 'ColumnRef') this.columnRef(asNode(value) ?? {}, scope);
      else if (key === 'SelectStmt') this.select(asNode(value) ?? {}, scope, ctes, false);
      else if (typeof value === 'object') this.expr(value, scope, ctes);
    }
  }

  private columnRef(ref: Node, scope: Scope): void {
    const star = this.starSources({ ColumnRef: ref }, scope);
    if (star !== undefined) {
      // A `*` inside an expression (`row_to_json(t.*)`) uses every column.
      this.readAllOf(star);
      return;
    }
    const parts = asList(ref.fields).map((f) => str(asNode(asNode(f)?.String)?.sval));
    if (parts.some((p) => p === undefined) || parts.length === 0) return;
    const names = parts as string[];
    if (names.length === 1) {
      this.resolveUnqualified(names[0], scope, true);
      return;
    }
    // `alias.col`, or `schema.table.col`; anything longer is a field path into
    // a column (Redshift SUPER navigation: `o.payload.items`), whose column is
    // the part after the relation.
    const byAlias = this.findSource(scope, (s) => s.alias === names[0]);
    if (byAlias !== undefined) {
      this.readColumn(byAlias, names[1], true);
      return;
    }
    if (names.length >= 3) {
      const byRelation = this.findSource(scope, (s) => s.relation === `${names[0]}.${names[1]}`);
      if (byRelation !== undefined) {
        this.readColumn(byRelation, names[2], true);
        return;
      }
    }
    // No FROM item has that name: then the first part is a column with a field path.
    this.resolveUnqualified(names[0], scope, true);
  }

  /** The sources a `*`, `t.*` or `schema.table.*` reference expands to; undefined when it is no star. */
  private starSources(val: Node, scope: Scope): Source[] | undefined {
    const ref = asNode(val.ColumnRef);
    const fields = asList(ref?.fields);
    if (fields.length === 0 || asNode(asNode(fields[fields.length - 1])?.A_Star) === undefined) return undefined;
    const names = fields.slice(0, -1).map((f) => str(asNode(asNode(f)?.String)?.sval));
    if (names.length === 0) return scope.sources;
    const source =
      names.length === 1
        ? this.findSource(scope, (s) => s.alias === names[0])
        : this.findSource(scope, (s) => s.relation === `${names[0]}.${names[1]}`);
    return source === undefined ? [] : [source];
  }

  private findSource(scope: Scope, match: (s: Source) => boolean): Source | undefined {
    for (let s: Scope | undefined = scope; s !== undefined; s = s.parent) {
      const found = s.sources.find(match);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  /** An unqualified column: the innermost scope with a candidate wins, as in SQL. */
  private resolveUnqualified(column: string, scope: Scope, certain: boolean): void {
    for (let s: Scope | undefined = scope; s !== undefined; s = s.parent) {
      if (this.resolveAmong(s.sources, column, certain)) return;
    }
    // No candidate anywhere: an output alias (Redshift lets later select items use earlier aliases) or a typo the warehouse will report.
  }

  /** Read `column` from whichever of `sources` holds it; false when none can. */
  private resolveAmong(sources: readonly Source[], column: string, certain: boolean): boolean {
    const verdicts = sources.map((s) => this.holds(s, column));
    const yes = sources.filter((_, i) => verdicts[i] === 'yes');
    const maybe = sources.filter((_, i) => verdicts[i] === 'maybe');
    // Valid SQL never has two candidates for one unqualified name (the
    // warehouse rejects it as ambiguous), so one that surely holds it is the
    // one; among several that only may, we cannot tell which.
    if (yes.length === 1) this.readColumn(yes[0], column, certain);
    else if (yes.length > 1) for (const s of yes) this.readColumn(s, column, false);
    else if (maybe.length === 1) this.readColumn(maybe[0], column, certain);
    else for (const s of maybe) this.readColumn(s, column, false);
    return yes.length + maybe.length > 0;
  }

  private holds(source: Source, column: string): Holds {
    if (source.relation !== undefined) return 'maybe';
    if (source.shape !== undefined) {
      if (source.shape.names.includes(column)) return 'yes';
      let verdict: Holds = source.shape.open ? 'maybe' : 'no';
      for (const star of source.shape.stars) {
        for (const s of star) {
          const v = this.holds(s, column);
          if (v === 'yes') return 'yes';
          if (v === 'maybe') verdict = 'maybe';
        }
      }
      return verdict;
    }
    if (source.columns !== undefined) return source.columns.includes(column) ? 'yes' : 'no';
    return 'maybe';
  }

  private readColumn(source: Source, column: string, certain: boolean): void {
    if (source.relation !== undefined) {
      this.read(source.relation, column, certain);
      return;
    }
    // A named output of a derived table was read where it was defined; an unnamed one comes through its stars.
    if (source.shape === undefined || source.shape.names.includes(column)) return;
    for (const star of source.shape.stars) this.resolveAmong(star, column, certain);
  }

  private readAllOf(sources: readonly Source[]): void {
    for (const s of sources) {
      if (s.relation !== undefined) this.read(s.relation, ALL_COLUMNS, true);
      else for (const star of s.shape?.stars ?? []) this.readAllOf(star);
    }
  }
}

/** The name an expression gives its output column without an alias, when the SQL says it: a bare (or cast) column reference. */
function bareColumnName(val: Node, singleOnly = false): string | undefined {
  const cast = asNode(val.TypeCast);
  const ref = asNode((cast === undefined ? val : (asNode(cast.arg) ?? {})).ColumnRef);
  const fields = asList(ref?.fields);
  if (fields.length === 0 || (singleOnly && fields.length !== 1)) return undefined;
  return str(asNode(asNode(fields[fields.length - 1])?.String)?.sval);
}

/** `AS t(a, b)` renames a derived table's outputs by position. */
function renamed(shape: Shape, colnames: unknown): Shape {
  const names = asList(colnames).map((c) => str(asNode(asNode(c)?.String)?.sval) ?? null);
  if (names.length === 0) return shape;
  return { ...shape, names: [...names, ...shape.names.slice(names.length)] };
}

function functionName(node: Node): string | undefined {
  // RangeFunction.functions is a list of [FuncCall, column definitions] pairs.
  const call = asNode(asNode(asList(asList(node.functions)[0])[0])?.FuncCall);
  const parts = asList(call?.funcname);
  return str(asNode(asNode(parts[parts.length - 1])?.String)?.sval);
}
