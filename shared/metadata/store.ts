/**
 * The typed access layer over Reef's DynamoDB metadata table: the one class
 * the rest of Reef uses. It composes the modules beside it, which alone build
 * DynamoDB keys and expressions (table.ts holds the client and the
 * conditional-write plumbing; one module per record family holds the rest).
 *
 * Every state change is one conditional write, because the local stand-in
 * (dynalite) has no transactions, streams or TTL. A commit writes the batch
 * first and then flips the loadunit pointer with a forward-only condition, so a
 * crash between the two leaves a pointer that lags (repairable) and never one
 * that points at an uncommitted batch.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { CommitBatchInput, FailBatchInput, FixBatchCursorInput, StartBatchInput, StartOutcome } from './batch-lifecycle.ts';
import { commitBatch, failBatch, fixBatchCursor, pauseBatch, recoverInterrupted, reopenBatch, startBatch } from './batch-lifecycle.ts';
import type { BatchRef, CreateBatchInput } from './batches.ts';
import { createBatch, getBatch, latestCommittedBatch, listBatches } from './batches.ts';
import type { SliceConfigInput } from './configs.ts';
import { getInstallationConfig, getSliceConfig, listSliceConfigs, putInstallationConfig, putSliceConfig } from './configs.ts';
import type { DeadLetterInput, DeliveredBatchInput } from './deliveries.ts';
import { listDeadLetters, listDeliveries, recordDeadLetter, recordDelivery, resolveDeadLetter } from './deliveries.ts';
import type { EventInput } from './events.ts';
import { listEvents, putEvent } from './events.ts';
import { PARTITION_KEY, SORT_KEY } from './keys.ts';
import { getLoadunitState, listLoadunitStates, repairLoadunitPointer } from './loadunit-pointer.ts';
import type { RecordSchemaInput } from './schemas.ts';
import { getLatestSchema, listSchemaVersions, recordSchema } from './schemas.ts';
import { MetadataTable } from './table.ts';
import type {
  BatchRecord,
  CursorRange,
  DeadLetterRecord,
  DeliveredBatchRecord,
  InstallationConfig,
  LoadunitState,
  ReefEvent,
  SchemaVersion,
  SliceConfigRecord,
  UpdateSetRecord,
  UpgradeWindowRecord,
  VendorActionRecord,
  ViewVersion,
} from './types.ts';
import type { UpdateSetInput, ViewVersionInput } from './view-versions.ts';
import { getUpdateSet, latestViewVersions, listUpdateSets, listViewVersions, putViewVersion, recordUpdateSet, versionInEffect } from './view-versions.ts';
import type { VendorActionInput } from './vendor-access.ts';
import { getUpgradeWindow, grantUpgradeWindow, listVendorActions, recordVendorAction, revokeUpgradeWindow } from './vendor-access.ts';

export interface MetadataStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  /** Clock for timestamps and leases; tests inject one to expire a lease. */
  now?: () => Date;
  /** Query/Scan page size (DynamoDB's `Limit`); unset reads DynamoDB's 1 MB pages. Tests set it small to cross pages. */
  pageSize?: number;
}

export class MetadataStore {
  /** The table's key attribute names; the CDK core stack creates the table with these. */
  static readonly keyAttributes = { partitionKey: PARTITION_KEY, sortKey: SORT_KEY } as const;

  readonly tableName: string;
  private readonly table: MetadataTable;

  constructor(options: MetadataStoreOptions) {
    this.tableName = options.tableName;
    this.table = new MetadataTable({
      client: options.client,
      tableName: options.tableName,
      now: options.now ?? (() => new Date()),
      pageSize: options.pageSize,
    });
  }

  // ---------------------------------------------------------------- table

  /** Local runtime only: on AWS the core stack owns the table. */
  ensureTable(): Promise<void> {
    return this.table.ensureTable();
  }

  // ---------------------------------------------------------------- configs

  putInstallationConfig(name: string, settings: Record<string, unknown>): Promise<InstallationConfig> {
    return putInstallationConfig(this.table, name, settings);
  }

  getInstallationConfig(): Promise<InstallationConfig | undefined> {
    return getInstallationConfig(this.table);
  }

  getSliceConfig(slice: string): Promise<SliceConfigRecord | undefined> {
    return getSliceConfig(this.table, slice);
  }

  /** A scan, meant for the CLI and the local runtime, not for a slice's hot path. */
  listSliceConfigs(): Promise<SliceConfigRecord[]> {
    return listSliceConfigs(this.table);
  }

  putSliceConfig(input: SliceConfigInput, validate: (type: string, config: unknown) => void): Promise<SliceConfigRecord> {
    return putSliceConfig(this.table, input, validate);
  }

  // ---------------------------------------------------------------- batches

  createBatch(input: CreateBatchInput): Promise<BatchRecord> {
    return createBatch(this.table, input);
  }

  getBatch(slice: string, loadunit: string, timelabel: string): Promise<BatchRecord | undefined> {
    return getBatch(this.table, slice, loadunit, timelabel);
  }

  listBatches(slice: string, loadunit?: string): Promise<BatchRecord[]> {
    return listBatches(this.table, slice, loadunit);
  }

  latestCommittedBatch(slice: string, loadunit: string): Promise<BatchRecord | undefined> {
    return latestCommittedBatch(this.table, slice, loadunit);
  }

  startBatch(input: StartBatchInput): Promise<StartOutcome> {
    return startBatch(this.table, input);
  }

  fixBatchCursor(input: FixBatchCursorInput): Promise<CursorRange> {
    return fixBatchCursor(this.table, input);
  }

  commitBatch(input: CommitBatchInput): Promise<BatchRecord> {
    return commitBatch(this.table, input);
  }

  failBatch(input: FailBatchInput): Promise<BatchRecord> {
    return failBatch(this.table, input);
  }

  pauseBatch(input: FailBatchInput): Promise<BatchRecord> {
    return pauseBatch(this.table, input);
  }

  reopenBatch(input: BatchRef & { reason: string }): Promise<{ reopened: boolean; batch: BatchRecord }> {
    return reopenBatch(this.table, input);
  }

  recoverInterrupted(slice: string): Promise<BatchRecord[]> {
    return recoverInterrupted(this.table, slice);
  }

  // ---------------------------------------------------------------- loadunit pointer

  getLoadunitState(slice: string, loadunit: string): Promise<LoadunitState | undefined> {
    return getLoadunitState(this.table, slice, loadunit);
  }

  listLoadunitStates(slice: string): Promise<LoadunitState[]> {
    return listLoadunitStates(this.table, slice);
  }

  repairLoadunitPointer(slice: string, loadunit: string): Promise<LoadunitState | undefined> {
    return repairLoadunitPointer(this.table, slice, loadunit);
  }

  // ---------------------------------------------------------------- schemas

  getLatestSchema(slice: string, dataset: string): Promise<SchemaVersion | undefined> {
    return getLatestSchema(this.table, slice, dataset);
  }

  listSchemaVersions(slice: string, dataset: string): Promise<SchemaVersion[]> {
    return listSchemaVersions(this.table, slice, dataset);
  }

  recordSchema(input: RecordSchemaInput): Promise<{ version: SchemaVersion; created: boolean }> {
    return recordSchema(this.table, input);
  }

  // ---------------------------------------------------------------- events

  /** Idempotent on `id`: a retry lands on the same event item even when the caller let the time default. */
  putEvent(event: EventInput): Promise<ReefEvent> {
    return putEvent(this.table, event);
  }

  /** Oldest first; `since` is inclusive, `limit` caps how many come back. */
  listEvents(slice: string, options: { since?: string; limit?: number } = {}): Promise<ReefEvent[]> {
    return listEvents(this.table, slice, options);
  }

  // ---------------------------------------------------------------- view versions and update sets

  /** Conditional: a retry of the same version answers the stored one; a different one under the same number is a conflict. */
  putViewVersion(input: ViewVersionInput): Promise<ViewVersion> {
    return putViewVersion(this.table, input);
  }

  /** Every stored version, oldest first, applied or not. */
  listViewVersions(organizeSlice: string, view: string): Promise<ViewVersion[]> {
    return listViewVersions(this.table, organizeSlice, view);
  }

  /** The newest applied, not removed, version of each view, sorted by view. */
  latestViewVersions(organizeSlice: string): Promise<ViewVersion[]> {
    return latestViewVersions(this.table, organizeSlice);
  }

  /** The newest applied version with effectiveFrom <= timelabel; undefined if none or if it removed the view. */
  versionInEffect(organizeSlice: string, view: string, timelabel: string): Promise<ViewVersion | undefined> {
    return versionInEffect(this.table, organizeSlice, view, timelabel);
  }

  /** Written last in an apply: it makes the versions that name it count. */
  recordUpdateSet(input: UpdateSetInput): Promise<UpdateSetRecord> {
    return recordUpdateSet(this.table, input);
  }

  getUpdateSet(organizeSlice: string, id: string): Promise<UpdateSetRecord | undefined> {
    return getUpdateSet(this.table, organizeSlice, id);
  }

  /** Oldest effectiveFrom first. */
  listUpdateSets(organizeSlice: string): Promise<UpdateSetRecord[]> {
    return listUpdateSets(this.table, organizeSlice);
  }

  // ---------------------------------------------------------------- harness deliveries and dead letters

  /** Conditional: the same batch again answers the stored record; another body under its number is a conflict. */
  recordDelivery(input: DeliveredBatchInput): Promise<DeliveredBatchRecord> {
    return recordDelivery(this.table, input);
  }

  /** The delivered batches of one timelabel, by batch number. */
  listDeliveries(slice: string, timelabel: string): Promise<DeliveredBatchRecord[]> {
    return listDeliveries(this.table, slice, timelabel);
  }

  /** One item per batch: a repeated failure updates it and counts `occurrences`. */
  recordDeadLetter(input: DeadLetterInput): Promise<DeadLetterRecord> {
    return recordDeadLetter(this.table, input);
  }

  /** Marks a dead letter resolved once its batch was delivered; false when there was none to resolve. */
  resolveDeadLetter(slice: string, timelabel: string, batch: number): Promise<boolean> {
    return resolveDeadLetter(this.table, slice, timelabel, batch);
  }

  /** Resolved ones included; all of a slice, or those of one timelabel. */
  listDeadLetters(slice: string, timelabel?: string): Promise<DeadLetterRecord[]> {
    return listDeadLetters(this.table, slice, timelabel);
  }

  // ---------------------------------------------------------------- vendor access (the customer's controls)

  getUpgradeWindow(): Promise<UpgradeWindowRecord | undefined> {
    return getUpgradeWindow(this.table);
  }

  /** Opens or replaces the window from now for `hours` (1..MAX_UPGRADE_HOURS); conditional on the version read. */
  grantUpgradeWindow(hours: number): Promise<UpgradeWindowRecord> {
    return grantUpgradeWindow(this.table, hours);
  }

  /** Closes an open window now; `changed` is false when none was open. */
  revokeUpgradeWindow(): Promise<{ changed: boolean; window: UpgradeWindowRecord | undefined }> {
    return revokeUpgradeWindow(this.table);
  }

  /** Idempotent on (time, id). */
  recordVendorAction(input: VendorActionInput): Promise<VendorActionRecord> {
    return recordVendorAction(this.table, input);
  }

  /** Oldest first; `since` is inclusive. */
  listVendorActions(options: { since?: string; limit?: number } = {}): Promise<VendorActionRecord[]> {
    return listVendorActions(this.table, options);
  }
}
