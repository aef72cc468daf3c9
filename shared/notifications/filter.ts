/**
 * Which events a notification target gets: a pure function of the target's
 * filter and the event, the one definition both runtimes use (locally the
 * notifier calls it for every event; in AWS the EventBridge rule is built
 * from the same filter by event-pattern.ts, and the webhook function checks
 * it again).
 *
 * A filter has two parts, and an event must pass both:
 *   events   kinds (`data`, `metadata`) and event types, `*` globs allowed
 *            (`*.failed`, `batch.*`); default: every failure and every
 *            metadata event.
 *   schemas  `include` and `exclude` patterns matched against the event's
 *            dataset. A pattern without a dot names schemas (`analytics`,
 *            `shop*`: the part of the dataset before its dot); a pattern
 *            with a dot names datasets (`analytics.tmp_*`). With include,
 *            only datasets it matches pass; exclude removes datasets even
 *            when include names them. An event without a dataset (a pass
 *            that could not run at all, `organize.failed`) concerns every
 *            dataset, so schema patterns never hold it back.
 *
 * `*` matches any run of characters, none included, dots too, as
 * EventBridge's wildcard does, so both runtimes agree character for character.
 */
import type { EventKind, ReefEvent } from '../metadata/types.ts';
import { HARNESS_FAILED_EVENT } from '../orchestration/harness-contracts.ts';
import { ORGANIZE_EVENTS } from '../orchestration/organize-contracts.ts';

export const EVENT_KINDS: readonly EventKind[] = ['data', 'metadata'];

/**
 * Failures need someone to act and metadata events say the shape of the data
 * changed; successes are routine and many (one per batch and view period).
 */
export const DEFAULT_EVENTS: readonly string[] = ['*.failed', 'metadata'];

/**
 * Every event type Reef emits, with its kind: what a filter's entries are
 * checked against (an entry that matches none of them is a typo) and what
 * the docs list.
 */
export const EVENT_TYPES: Readonly<Record<string, { kind: EventKind; what: string }>> = {
  'batch.committed': { kind: 'data', what: 'a collect batch is in the lake' },
  'batch.failed': { kind: 'data', what: 'a collect batch failed' },
  [ORGANIZE_EVENTS.loaded]: { kind: 'data', what: 'a batch was loaded into the warehouse' },
  [ORGANIZE_EVENTS.loadFailed]: { kind: 'data', what: 'a warehouse load failed' },
  [ORGANIZE_EVENTS.refreshed]: { kind: 'data', what: "a view's period was refreshed" },
  [ORGANIZE_EVENTS.refreshFailed]: { kind: 'data', what: "a view's period failed (its SQL, a check, or an input upstream)" },
  'organize.failed': { kind: 'data', what: 'an organize pass could not run at all (no dataset)' },
  'batch.published': { kind: 'data', what: 'a publication delivered a period' },
  'publish.failed': { kind: 'data', what: 'a publication failed for a period' },
  [HARNESS_FAILED_EVENT]: { kind: 'data', what: 'a publication pass could not run at all' },
  'dataset.created': { kind: 'metadata', what: 'a new dataset was collected' },
  'column.added': { kind: 'metadata', what: 'a source table gained a column' },
  'column.dropped': { kind: 'metadata', what: 'a source table lost a column' },
  'column.retyped': { kind: 'metadata', what: "a source column's type changed (widening or incompatible)" },
  'column.nullability': { kind: 'metadata', what: 'a source column became NULLable or NOT NULL' },
  'view.paused': { kind: 'metadata', what: 'a view stopped at a period: it reads a column the source dropped or retyped; says what to edit and run' },
  'loadunit.paused': { kind: 'metadata', what: 'a collected table stopped at a period: its source schema changed and its schemaPolicy is freeze; says how to accept it' },
  'publication.paused': { kind: 'metadata', what: 'a publication stopped at a period: it lists a column its dataset lost; says what to edit' },
  'check.failed': { kind: 'metadata', what: "a view's @check failed; its previous contents stay" },
};

export interface SchemaPatterns {
  include?: readonly string[];
  exclude?: readonly string[];
}

export interface NotificationFilter {
  /** Kinds and event type globs; an event passes when any entry matches. */
  events: readonly string[];
  schemas: SchemaPatterns;
}

/** `*` matches any run of characters (none included); every other character stands for itself. */
export function globMatches(pattern: string, value: string): boolean {
  const re = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${re}$`, 's').test(value);
}

export function isKind(entry: string): entry is EventKind {
  return (EVENT_KINDS as readonly string[]).includes(entry);
}

/** A schema pattern (no dot) as a pattern over whole dataset names: `analytics` → `analytics.*`. */
export function datasetGlob(pattern: string): string {
  return pattern.includes('.') ? pattern : `${pattern}.*`;
}

/** Whether any entry of `events` selects the event: its kind named, or a glob matching its type. */
export function eventSelected(events: readonly string[], event: Pick<ReefEvent, 'kind' | 'type'>): boolean {
  return events.some((entry) => (isKind(entry) ? entry === event.kind : globMatches(entry, event.type)));
}

/** Whether the schema patterns let the event's dataset through (exclude wins; no dataset always passes). */
export function datasetSelected(schemas: SchemaPatterns, dataset: string | undefined): boolean {
  if (dataset === undefined) return true;
  const matches = (patterns: readonly string[]) => patterns.some((p) => globMatches(datasetGlob(p), dataset));
  if (schemas.include !== undefined && schemas.include.length > 0 && !matches(schemas.include)) return false;
  return !(schemas.exclude !== undefined && matches(schemas.exclude));
}

export function matchesFilter(filter: NotificationFilter, event: Pick<ReefEvent, 'kind' | 'type' | 'dataset'>): boolean {
  return eventSelected(filter.events, event) && datasetSelected(filter.schemas, event.dataset);
}

/** The known event types an entry selects, sorted: empty means the entry is a typo or names a type Reef never emits. */
export function knownTypesSelected(entry: string): string[] {
  return Object.keys(EVENT_TYPES)
    .filter((type) => eventSelected([entry], { kind: EVENT_TYPES[type]!.kind, type }))
    .sort();
}
