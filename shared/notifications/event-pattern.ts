/**
 * A notification filter (filter.ts) as an EventBridge event pattern, for the
 * rule that routes a target's events in AWS. Pure data, so it is tested
 * without CDK and without AWS.
 *
 *   events           → `detail-type` (`<kind>:<type>`, see shared/runtime/bus.ts):
 *                      a kind as a prefix (`metadata:`), a type glob as a
 *                      wildcard behind any kind (`*:*.failed`); `*` leaves
 *                      detail-type out.
 *   schemas.include  → `detail.dataset` wildcards (`analytics` → `analytics.*`),
 *   schemas.exclude  → `detail.dataset` anything-but wildcards, each `$or`-ed
 *                      with "no dataset", since such events pass the filter.
 *
 * What EventBridge cannot say: one field matched by a wildcard AND by an
 * anything-but at once (a pattern names each field once, and `$or` only
 * adds alternatives). With both include and exclude the pattern carries the
 * include and `leftToTarget` says the exclude must be enforced by the
 * target: the webhook function applies the whole filter again; queue and
 * topic targets cannot, so the flow loader refuses that combination for them.
 */
import { eventSource } from '../runtime/bus.ts';
import { datasetGlob, isKind, type NotificationFilter } from './filter.ts';

/** An EventBridge pattern as EventBridge reads it (JSON field names). */
export interface EventBridgePattern {
  source: string[];
  'detail-type'?: Record<string, string>[];
  detail?: { $or: Record<string, unknown[]>[] };
}

export interface RulePattern {
  pattern: EventBridgePattern;
  /** The part of the filter the pattern does not express, which the target must apply. */
  leftToTarget?: 'schemas.exclude';
}

/** Events without a dataset pass the schema patterns (filter.ts); EventBridge only matches a missing field this way. */
const NO_DATASET = { dataset: [{ exists: false }] };

export function eventBridgePattern(installation: string, filter: NotificationFilter): RulePattern {
  const pattern: EventBridgePattern = { source: [eventSource(installation)] };
  if (!filter.events.includes('*')) {
    pattern['detail-type'] = [...new Set(filter.events)].map((entry): Record<string, string> => (isKind(entry) ? { prefix: `${entry}:` } : { wildcard: `*:${entry}` }));
  }
  const include = filter.schemas.include ?? [];
  const exclude = filter.schemas.exclude ?? [];
  if (include.length > 0) {
    pattern.detail = { $or: [NO_DATASET, { dataset: include.map((p) => ({ wildcard: datasetGlob(p) })) }] };
    return exclude.length > 0 ? { pattern, leftToTarget: 'schemas.exclude' } : { pattern };
  }
  if (exclude.length > 0) {
    pattern.detail = { $or: [NO_DATASET, { dataset: [{ 'anything-but': { wildcard: exclude.map(datasetGlob) } }] }] };
  }
  return { pattern };
}
