/**
 * The records Reef keeps in its DynamoDB metadata table. Every type here is
 * what the access layer (store.ts) reads and writes; nothing else in the code
 * base builds DynamoDB keys or expressions.
 *
 * Key layout (one table, `pk` + `sk`), chosen so a slice's IAM role can be
 * limited with `dynamodb:LeadingKeys` to `SLICE#<slice>` and `SLICE#<slice>#*`:
 *   INSTALLATION                      CONFIG                         installation config
 *   SLICE#<slice>                     CONFIG                         slice config
 *   SLICE#<slice>                     LOADUNIT#<loadunit>            loadunit state (the commit pointer)
 *   SLICE#<slice>                     BATCH#<loadunit>#<timelabel>   batch
 *   SLICE#<slice>#SCHEMA#<dataset>    V#<000001>                     dataset schema versions
 *   SLICE#<slice>#EVENTS              <iso time>#<id>                events
 */
import type { DatasetSchema, SchemaDiff } from '../schema.ts';

export interface InstallationConfig {
  name: string;
  /** Free-form defaults from reef.yaml, validated before they get here. */
  settings: Record<string, unknown>;
  updatedAt: string;
}

export interface SliceConfigRecord {
  slice: string;
  /** Slice type, e.g. `collect/postgres`. */
  type: string;
  /** The validated slice config (never holds a secret value, only secret names). */
  config: unknown;
  /** Increases by one on each change; writes are conditional on the version read. */
  version: number;
  updatedAt: string;
}

export type BatchStatus = 'pending' | 'running' | 'committed' | 'failed';

export interface BatchFigures {
  rows: number;
  files: number;
  bytes: number;
}

export interface CursorRange {
  /** Exclusive lower bound (the previous committed batch's upper bound); null for the first batch. */
  from: string | null;
  /** Inclusive upper bound; fixed when the batch first starts so a retry reads the same rows. */
  to: string | null;
}

export interface BatchError {
  name: string;
  category: string;
  code: string;
  message: string;
}

export interface BatchRecord {
  slice: string;
  loadunit: string;
  /** `<slice>.<table>` */
  dataset: string;
  timelabel: string;
  status: BatchStatus;
  /** Owner token of the run that holds the batch while it is `running`. */
  owner?: string;
  /** ISO time after which another run may take a `running` batch over. */
  leaseUntil?: string;
  attempts: number;
  cursor?: CursorRange;
  figures?: BatchFigures;
  manifestKey?: string;
  schemaVersion?: number;
  error?: BatchError;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
}

export interface LoadunitState {
  slice: string;
  loadunit: string;
  dataset: string;
  /** Newest committed timelabel; the pointer flipped last in a commit. */
  lastCommittedTimelabel: string;
  /** The committed batch's cursor upper bound: where the next incremental batch starts. */
  cursor: string | null;
  lastFigures: BatchFigures;
  /** Rows committed over all batches. */
  totalRows: number;
  updatedAt: string;
}

export interface SchemaVersion {
  dataset: string;
  version: number;
  schema: DatasetSchema;
  /** Difference from the previous version; absent for version 1. */
  diff?: SchemaDiff;
  /** Timelabel of the first batch with this schema. */
  since: string;
  createdAt: string;
}

export type EventKind = 'data' | 'metadata';

export interface ReefEvent {
  id: string;
  kind: EventKind;
  /** e.g. `batch.committed`, `batch.failed`, `dataset.created`, `column.added`. */
  type: string;
  slice: string;
  dataset?: string;
  timelabel?: string;
  /** Small JSON detail: figures, S3 pointers, a diff. Never rows, never secrets. */
  detail: Record<string, unknown>;
  time: string;
}
