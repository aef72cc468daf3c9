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
 *   SLICE#<org>#VIEW#<view>           V#<000001>                     view versions
 *   SLICE#<org>#VIEWS                 VIEW#<view>                    index: every view that ever had a version
 *   SLICE#<org>#UPDATESETS            US#<id>                        applied update sets
 *   SLICE#<slice>#DELIVERIES          <timelabel>#<000001>           a batch a harness delivered
 *   SLICE#<slice>#DEADLETTERS         <timelabel>#<000001>           a batch a harness gave up delivering
 *   VENDOR                            UPGRADE_WINDOW                 the upgrade window the customer granted the vendor
 *   VENDOR#AUDIT                      <iso time>#<id>                an action a vendor role took or was denied
 * where <org> is the organize slice that refreshes the views, so its role
 * reads them through the same `SLICE#<slice>#*` grant as the rest of its state.
 *
 * Applying an update set writes each new view version first and the update
 * set item last: a version counts as applied only once its update set item
 * exists, so an apply that crashes halfway switches nothing (the same
 * "new items first, one pointer last" rule as a batch commit).
 */
import type { DatasetSchema, SchemaDiff } from '../schema.ts';
import type { ViewHeader } from '../views/types.ts';

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

/**
 * `paused`: a view period or a publication that cannot run until the user
 * changes a definition (it reads a column the source dropped or retyped
 * incompatibly); not a failure, and not waiting for an input. Its `error`
 * says which column, which change, and the command to run.
 */
export type BatchStatus = 'pending' | 'running' | 'committed' | 'failed' | 'paused';

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
  /** When and why the work was last reopened to be done again (a backfill). */
  reopened?: { at: string; reason: string };
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

/** One output column of a view, as the warehouse describes the prepared query. */
export interface ViewColumn {
  name: string;
  /** The warehouse's own type name, e.g. `bigint`, `numeric(12,2)`. */
  type: string;
}

/** One relation a view version reads, with the columns it reads (lineage; `['*']` = all). */
export interface ViewRead {
  relation: string;
  columns: string[];
  /** Unqualified names that may belong to this relation or another one in the same FROM (see InputRead). */
  ambiguous: string[];
}

/** What a view is, independent of when it runs: what a plan compares and an apply stores. */
export interface ViewDefinition {
  /** sha256 of the body (see shared/plan/definition.ts). */
  sqlHash: string;
  body: string;
  header: ViewHeader;
  signature: ViewColumn[];
  reads: ViewRead[];
}

export interface ViewVersion extends ViewDefinition {
  /** `schema.name` */
  view: string;
  /** 1, 2, ... per view. */
  version: number;
  /** The first timelabel this version refreshes. */
  effectiveFrom: string;
  /** Id of the update set that brought it. */
  updateSet: string;
  /**
   * A removal is a version too, so what ran when stays one sequence per view;
   * it keeps the definition it retires. From its effectiveFrom the view no
   * longer refreshes.
   */
  removed: boolean;
  createdAt: string;
}

/** A group of view versions that take effect together at one aligned timelabel. */
export interface UpdateSetRecord {
  id: string;
  effectiveFrom: string;
  /** Every view that switches at effectiveFrom: changed, created, removed, and their downstream. Sorted. */
  views: string[];
  /** Whether the plan held a breaking change no view in it resolved. */
  breaking: boolean;
  /** Whether the user allowed that (`--allow-breaking`). */
  allowBreaking: boolean;
  createdAt: string;
}

/** One webhook batch as it was sent: which request it was, never its rows. */
export interface SentBatch {
  /** The harness slice (the publication). */
  slice: string;
  dataset: string;
  timelabel: string;
  /** 1-based, of `batches`. */
  batch: number;
  batches: number;
  /** The `Idempotency-Key` the batch was sent under. */
  idempotencyKey: string;
  /** sha256 of the exact body sent: a re-run checks it rebuilt the same batch. */
  bodySha256: string;
  bytes: number;
  upserts: number;
  deletes: number;
}

/**
 * A batch a harness slice delivered outside the installation, written once
 * the receiver accepted it, so a re-run of the timelabel does not send it
 * again. It describes the request, never its rows.
 */
export interface DeliveredBatchRecord extends SentBatch {
  /** The receiver's HTTP status that accepted it. */
  status: number;
  /** Requests it took, the accepted one included. */
  attempts: number;
  /** Owner token of the run that delivered it. */
  runId: string;
  deliveredAt: string;
}

/**
 * A batch a harness slice gave up on: the receiver refused it or never
 * accepted it within the retry budget. Enough to find the request on the
 * receiver's side (idempotency key, body digest, size) and to know why; no
 * row values and no response body, which may echo them.
 */
export interface DeadLetterRecord extends SentBatch {
  /** Requests made in the run that gave up. */
  attempts: number;
  /** The last HTTP status, when the receiver answered at all. */
  lastStatus?: number;
  /** Why the last request failed, without the response body. */
  lastError: string;
  /** `webhook.rejected` (refused: a person must look) or `webhook.undelivered` (retries ran out: may succeed later). */
  code: string;
  /** Runs that gave up on this batch; a later run may still deliver it. */
  occurrences: number;
  runId: string;
  failedAt: string;
  /** When a later run delivered the batch after all. */
  resolvedAt?: string;
}

/** The vendor's cross-account roles (infra/ creates them in the core stack). */
export const VENDOR_ROLES = ['monitoring', 'administration', 'upgrade'] as const;
export type VendorRole = (typeof VENDOR_ROLES)[number];

/**
 * The time-boxed permission the customer gives the vendor's upgrade role
 * (`reef vendor-access grant-upgrade`): one item per installation. A grant
 * that ran out stays `granted` with `until` in the past; `revoked` means the
 * customer closed it before `until`.
 */
export interface UpgradeWindowRecord {
  state: 'granted' | 'revoked';
  grantedAt: string;
  until: string;
  /** Hours asked for when granted. */
  hours: number;
  revokedAt?: string;
  /** Increases by one on each change; writes are conditional on the version read. */
  version: number;
  updatedAt: string;
}

/** One action a vendor role took, or was refused, in this installation: what `reef audit` lists. */
export interface VendorActionRecord {
  id: string;
  role: VendorRole;
  /** e.g. `status`, `deploy`, `read-lake`. */
  action: string;
  /** What it touched or tried to: a table, a bucket prefix, the stacks. */
  resource: string;
  allowed: boolean;
  /** Why it was allowed or denied, in words a customer reads. */
  reason: string;
  time: string;
}
