/**
 * What a slice type declares about itself. Code branches on these capabilities,
 * never on a type's name; a new slice type is one folder that exports a
 * `SliceDefinition` and one line in `slices/registry.ts`.
 */
export type SliceKind = 'collect' | 'organize' | 'harness';

export type LoadMode = 'snapshot' | 'incremental' | 'cdc';

export interface SliceCapabilities {
  modes: readonly LoadMode[];
  /** Whether deletes at the source are seen (needs cdc or a soft-delete column). */
  deletes: boolean;
  /** Default for the Map state's MaxConcurrency when the config says nothing. */
  defaultMaxConnections: number;
  /** Whether the source must be reached from inside a VPC when configured. */
  vpc: boolean;
}

/** A problem in a config that its JSON Schema cannot express; `path` leads to the field. */
export interface ConfigProblem {
  path: (string | number)[];
  message: string;
}

export interface SliceDefinition<Config = unknown> {
  /** `<kind>/<name>`, e.g. `collect/postgres`. */
  type: string;
  kind: SliceKind;
  summary: string;
  capabilities: SliceCapabilities;
  /** JSON Schema (draft 2020-12 subset that ajv supports) of the slice's YAML file. */
  configSchema: Record<string, unknown>;
  /** A complete, valid example config printed by `reef describe`. */
  example: Config;
  /** Connection limit to use as the Map's MaxConcurrency for this config. */
  maxConcurrency(config: Config): number;
  /** Secret names the config refers to (never values). */
  secretNames(config: Config): string[];
  /** The schedule text of a config (collect slices run on one). */
  schedule(config: Config): string;
  /** Rules beyond the JSON Schema, on a config that passed it (unique names, plain names). */
  problems(config: Config): ConfigProblem[];
  /**
   * Collect slices: the tables this config loads, each the dataset
   * `<slice>.<table>`, as far as they are known before it runs; and whether it
   * also loads tables known only at run time (e.g. every table matching a pattern).
   */
  datasets?(config: Config): { tables: string[]; tablesKnownAtRunTime: boolean };
  /** Collect slices: how the warehouse applies a table's batches (pattern tables: snapshots). */
  loadOptions?(config: Config, table: string): { mode: 'snapshot' | 'incremental'; keys?: string[] };
  /** Harness slices: the dataset a config publishes and the function that publishes one timelabel of it. */
  harness?: import('./harness/publication.ts').HarnessDefinition<Config>;
  runtime(): Promise<SliceRuntime>;
}

/** The runtime half of a slice type, loaded lazily so the CDK app never imports drivers. */
export interface SliceRuntime {
  /** Handlers by Task state name, bound to their services. */
  handlers(services: import('./runtime/services.ts').Services): Record<string, import('./runtime/services.ts').Handler>;
  /** Collect slices with a schema policy: accept the change a frozen dataset waits on (`reef accept`). */
  acceptSchema?(services: import('./runtime/services.ts').Services, dataset: string): Promise<SchemaAcceptance>;
}

/** What `reef accept` did: the schema version it registered, from which timelabel, the changes, and the paused periods the next run collects. */
export interface SchemaAcceptance {
  dataset: string;
  version: number;
  since: string;
  changes: string[];
  paused: string[];
}

/**
 * The organize slice's name: its metadata partition (`SLICE#warehouse…`) and
 * the slice its events come from. A flow has at most one warehouse for now.
 */
export const ORGANIZE_SLICE = 'warehouse';
