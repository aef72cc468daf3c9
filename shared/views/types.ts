/**
 * A materialized view as compiled from `views/<schema>/<name>.sql`: its
 * header, its body, what it reads and what it yields. Plain JSON throughout,
 * so plans that hold views can be printed and stored.
 */
import type { Schedule } from '../timelabel.ts';

export type ViewMode = 'replace' | 'append' | 'merge';

/** Each check keeps the file line of its tag, so a failing check can point at it. */
export type ViewCheck =
  | { kind: 'not_null'; column: string; line: number }
  | { kind: 'unique'; columns: string[]; line: number }
  | { kind: 'accepted_values'; column: string; values: (string | number)[]; line: number }
  | { kind: 'row_count'; min: number; max: number; line: number }
  /** A query that returns the failing rows; none means the check passed. */
  | { kind: 'sql'; sql: string; line: number };

export interface ViewHeader {
  /** Free text before the first tag, if any. */
  description?: string;
  refresh: Schedule;
  /** `@refresh` as written, for messages. */
  refreshText: string;
  mode: ViewMode;
  /** Lowercase, as the warehouse folds unquoted names; empty unless mode is merge. */
  keys: string[];
  checks: ViewCheck[];
  /** How old the newest refreshed data may grow before the view counts as stale. */
  freshnessMinutes?: number;
  /** File line of each single tag that was given: `{ refresh: 2, mode: 3 }`. */
  tagLines: Partial<Record<'refresh' | 'mode' | 'keys' | 'freshness', number>>;
}

/** One relation a view reads, with the columns it reads from it. */
export interface InputRead {
  /** `schema.table`: a collected dataset or another view. */
  relation: string;
  /** File line of its first mention. */
  line: number;
  /** Columns read for certain, sorted; `*` when the view reads every column (`t.*`, `*`). */
  columns: string[];
  /**
   * Unqualified names that this input or another one in the same FROM may
   * hold; without the tables' columns the parser cannot tell which, so each
   * candidate counts them (a change to any of them may affect the view).
   */
  ambiguous: string[];
}

export interface ViewLineage {
  /** Sorted by relation. */
  inputs: InputRead[];
  /**
   * Output column names in order, when every one can be read from the SQL;
   * null when one cannot (`*`, an unnamed expression), so the warehouse must
   * describe the query to know them.
   */
  outputs: string[] | null;
}

export interface ViewSpec extends ViewLineage {
  /** `schema.name`, from the file's folder and base name. */
  name: string;
  /** Relative to the flow: `views/<schema>/<name>.sql`. */
  file: string;
  header: ViewHeader;
  /** The SQL after the header, byte for byte, so it stays pasteable into a console. */
  body: string;
  /** File line on which `body` begins. */
  bodyStartLine: number;
}

export interface ViewGraph {
  /** Every view, each after the views it reads; ties broken by name. */
  views: ViewSpec[];
  /** View name → the views it reads (inputs that are collected datasets are in `inputs` only). Sorted. */
  upstream: Record<string, string[]>;
  /** View name → the views that read it. Sorted. */
  downstream: Record<string, string[]>;
}
